"""Task images: sniff, decode (Pillow), shrink to preview size, half-blocks, downloads. No UI.

Decoding is Pillow's (C decoders that release the GIL): PNG of every bit depth and interlace,
JPEG (decoded straight at about preview size with `draft()`), WebP, GIF (the first frame); CMYK,
greyscale, palette and alpha images come out as RGB (alpha over black). Two bounds before any
pixel is decoded: the header's width x height against `MAX_PIXELS` (ours, a clear sentence) and
Pillow's own `MAX_IMAGE_PIXELS` set to the same value (its DecompressionBombError). The bytes
themselves are capped by the client's download limit (20 MiB). Callers run `prepare` in a thread.

Downloads are sniffed: a body that is not an image or a video (an HTML error page, a script
served as image/png) is refused with the reason, and the file extension follows the content
(.png .jpg .webp .gif .mp4), never the URL or the Content-Type.

Half-blocks: each terminal cell shows two pixels stacked, the upper one as the foreground of
"▀" and the lower one as its background, so a cell grid of W x H shows W x 2H pixels. The
result is rows of (fg, bg) RGB pairs; the UI turns them into styled text.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from PIL import ImageFile, UnidentifiedImageError

from mjdash.model.kinds import makes_grid
from mjdash.model.task import Task
from mjdash.store import atomic, paths

MAX_PIXELS = 8192 * 8192  # a 2048 grid is 4 Mpx; Midjourney's largest upscales are ~16 Mpx
PREVIEW_SIDE = 256  # the longer side kept in memory: enough for half-blocks at any pane width
Rgb = tuple[int, int, int]
Cell = tuple[Rgb, Rgb]  # (upper pixel = foreground of ▀, lower pixel = background)

PILImage.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's bomb check agrees with ours
ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, not grey pixels

_SAFE_ACTION_RE = re.compile(r"[^a-z0-9_]+")


class ImageError(ValueError):
    """The bytes are not an image this module can draw or save; str is a sentence for the user."""


# --- sniffing ---------------------------------------------------------------------------------


def sniff(data: bytes) -> str | None:
    """The file type the bytes plainly are ("png", "jpg", "webp", "gif", "mp4"), else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[4:8] == b"ftyp":  # ISO base media: MP4 / MOV / M4V
        return "mp4"
    return None


def describe_bytes(data: bytes) -> str:
    """What a body that is not an image looks like, in a few words (for the refusal)."""
    head = data[:512].lstrip().lower()
    if not data:
        return "an empty answer"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "an HTML page"
    if head.startswith((b"<?xml", b"<svg")):
        return "an XML/SVG document"
    if head.startswith((b"{", b"[")):
        return "JSON text"
    if head.startswith(b"#!") or any(w in head for w in (b"function", b"<script", b"var ")):
        return "a script"
    try:
        text = data[:512].decode("utf-8")
    except UnicodeDecodeError:
        return "bytes of an unknown format"
    if any(ord(char) < 32 and char not in "\t\n\r" for char in text):
        return "bytes of an unknown format"
    return "plain text"


def refuse_unless_media(data: bytes) -> str:
    """The sniffed extension, or ImageError saying why the download is refused."""
    kind = sniff(data)
    if kind is None:
        raise ImageError(
            f"not saved: the download is {describe_bytes(data)}, not an image or a video"
        )
    return kind


# --- names and downloads ----------------------------------------------------------------------


def sniff_extension(data: bytes) -> str:
    """ ".png"/".jpg"/".webp"/".gif"/".mp4" from the content; ".bin" for anything else."""
    kind = sniff(data)
    return f".{kind}" if kind else ".bin"


def _stem(task: Task) -> str:
    action = _SAFE_ACTION_RE.sub("", task.action.lower())[:40] or "image"
    return f"{task.id}-{action}"


def image_name(task: Task, data: bytes = b"\x89PNG\r\n\x1a\n", part: str = "") -> str:
    """`<id>-<action>[-part].<ext>`: the action lower-cased, anything but [a-z0-9_] dropped,
    the extension from the sniffed content."""
    suffix = f"-{part}" if part else ""
    return f"{_stem(task)}{suffix}.{refuse_unless_media(data)}"


def save_image(folder: Path, task: Task, data: bytes, part: str = "") -> Path:
    """Write the image (or video) atomically into `folder` (created 0700 if needed); refuses
    bytes that are not an image or a video (ImageError)."""
    name = image_name(task, data, part)
    folder = Path(folder).expanduser()
    paths.ensure_private_dir(folder)  # 0700, as every folder mjdash makes
    target = folder / name
    atomic.write_atomic(atomic.real_target(target), data)
    return target


def main_link(task: Task) -> str:
    """The one file that stands for the task: a video's first MP4 (`videoUrl` / `videoUrls`,
    every flavor's shape; its imageUrl is often that MP4 again, or a still), else its image."""
    videos = task.video_links
    return videos[0] if videos else task.image_url


def extra_links(task: Task) -> list[tuple[str, str]]:
    """(part name, URL) for what `D` on a selected task saves beside the main file: a grid's
    four images (`imageUrls`: parts 1-4), a video task's other MP4s (`videoUrls`, numbered by
    their place in the list; the one that is the main file is not saved twice)."""
    links: list[tuple[str, str]] = []
    if task.action.upper() == "VIDEO" or task.video_links:
        main = main_link(task)
        links += [
            (str(number), url)
            for number, url in enumerate(task.video_links, start=1)
            if url and url != main
        ]
    if is_grid(task) and task.image_urls:
        links += [(str(number), url) for number, url in enumerate(task.image_urls[:4], start=1)]
    return links


async def download(client: Any, task: Task, folder: Path, *, everything: bool = True) -> Path:
    """Fetch the task's main file with `client.download_image` and save it; with `everything`,
    the extra links too (a grid's four images, a video's other MP4s). Returns the main file's
    path. Auto-download and `D` over a whole view save the main file only (one file a task);
    `D` on a selected task saves everything.

    Raises the client's MjError subclasses (refused URL, HTTP errors), ImageError (the bytes
    are not an image or a video) or OSError.
    """
    main = main_link(task)
    if not main:
        raise ImageError(f"task {task.id} has no image URL yet")
    path = save_image(folder, task, await client.download_image(main))
    if everything:
        for part, url in extra_links(task):
            save_image(folder, task, await client.download_image(url), part)
    return path


# --- decoding ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Image:
    """Decoded pixels: `rgb` holds width * height * 3 bytes, row by row."""

    width: int
    height: int
    rgb: bytes

    def pixel(self, x: int, y: int) -> Rgb:
        at = (y * self.width + x) * 3
        rgb = self.rgb
        return rgb[at], rgb[at + 1], rgb[at + 2]

    def to_pil(self) -> PILImage.Image:
        return PILImage.frombytes("RGB", (self.width, self.height), self.rgb)

    @classmethod
    def from_pil(cls, image: PILImage.Image) -> Image:
        image = image.convert("RGB") if image.mode != "RGB" else image
        return cls(image.width, image.height, image.tobytes())


def _open(data: bytes) -> PILImage.Image:
    """Pillow's lazy open (the header only), with our pixel bound checked before decoding."""
    if sniff(data) == "mp4":
        raise ImageError("this is a video (MP4), not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            image = PILImage.open(io.BytesIO(data))
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise ImageError("the image is too large to preview (a decompression bomb?)") from None
    except UnidentifiedImageError:
        raise ImageError(f"not an image: the answer is {describe_bytes(data)}") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"the image is damaged ({_short(exc)})") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageError("the image is empty")
    if width * height > MAX_PIXELS:
        raise ImageError(f"the image is too large to preview ({width}x{height})")
    return image


def _short(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:120] or type(exc).__name__


def _to_rgb(image: PILImage.Image) -> PILImage.Image:
    """RGB from any mode: alpha over black, CMYK and 16-bit greyscale converted."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode.startswith("I;16") or mode in ("I", "F"):
        # 16-bit / 32-bit greyscale: keep the top 8 bits.
        image = image.point(lambda value: value / 256).convert("L") if mode != "F" else image
        return image.convert("RGB")
    if mode == "P" or mode == "PA":
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "RGBa", "La"):
        background = PILImage.new("RGB", image.size, (0, 0, 0))
        background.paste(image.convert("RGBA"), mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def decode(data: bytes, max_side: int = PREVIEW_SIDE) -> Image:
    """Decode and shrink to at most `max_side` pixels on the longer side (run it in a thread).

    JPEGs are decoded at the smallest DCT scale at least that large (`draft`); others are
    decoded whole, then reduced. Raises ImageError with a sentence for anything else.
    """
    image = _open(data)
    try:
        if image.format == "JPEG":
            image.draft("RGB", (max_side, max_side))
        image.seek(0)  # GIF / animated WebP: the first frame
        image.load()
        image = _to_rgb(image)
        image.thumbnail((max_side, max_side), PILImage.Resampling.BILINEAR, reducing_gap=2.0)
    except PILImage.DecompressionBombError:
        raise ImageError("the image is too large to preview (a decompression bomb?)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageError(f"the image is damaged or truncated ({_short(exc)})") from None
    return Image.from_pil(image)


def decode_png(data: bytes) -> Image:
    """Full-size decode (no shrinking, within MAX_PIXELS): tests compare exact pixels."""
    image = _open(data)
    try:
        image.load()
        return Image.from_pil(_to_rgb(image))
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageError(f"the image is damaged or truncated ({_short(exc)})") from None


def encode_thumbnail(image: Image) -> bytes:
    """A preview-size image as a small PNG (the disk cache's format)."""
    out = io.BytesIO()
    image.to_pil().save(out, format="PNG", compress_level=1)
    return out.getvalue()


# --- half-blocks ------------------------------------------------------------------------------


def cell_size(image: Image, max_width: int, max_rows: int) -> tuple[int, int]:
    """(columns, rows) that fit the image in `max_width` x `max_rows` cells, keeping its shape
    (a cell is about twice as tall as wide, and holds two pixels stacked)."""
    max_width, max_rows = max(1, max_width), max(1, max_rows)
    columns = max_width
    rows = round(columns * image.height / image.width / 2)
    if rows > max_rows:
        rows = max_rows
        columns = max(1, round(rows * 2 * image.width / image.height))
    return min(columns, max_width), max(1, rows)


def half_blocks(image: Image, max_width: int, max_rows: int) -> list[list[Cell]]:
    """The image as rows of (upper, lower) colour pairs, scaled (box filter) to the cell box."""
    columns, rows = cell_size(image, max_width, max_rows)
    small = image.to_pil().resize((columns, rows * 2), PILImage.Resampling.BOX)
    pixels = small.tobytes()
    stride = columns * 3

    def at(y: int, x: int) -> Rgb:
        i = y * stride + x * 3
        return pixels[i], pixels[i + 1], pixels[i + 2]

    return [[(at(2 * row, x), at(2 * row + 1, x)) for x in range(columns)] for row in range(rows)]


def shrink(image: Image, max_side: int = 128) -> Image:
    """A copy at most `max_side` pixels on its longer side."""
    if max(image.width, image.height) <= max_side:
        return image
    small = image.to_pil()
    small.thumbnail((max_side, max_side), PILImage.Resampling.BILINEAR)
    return Image.from_pil(small)


def is_grid(task: Task) -> bool:
    """A four-image grid (model/kinds.makes_grid): its quadrants are labelled U1-U4."""
    return makes_grid(task)  # every grid action: PAN, ZOOM, LOW/HIGH_VARIATION, ... (issue 12)


def preview_links(task: Task) -> list[tuple[str, str]]:
    """(label, URL) the preview can show, the first by default: a grid, then its four images
    (when `imageUrls` lists them); a video's first thumbnail; an upscale's image; a DESCRIBE
    task's source image (its imageUrl, when the server gives it)."""
    action = task.action.upper()
    if action == "VIDEO" or (task.video_urls and not task.image_url):
        thumbs = [url for url in task.video_thumbnails if url]
        return [("video", thumbs[0])] if thumbs else []
    if not task.image_url:
        return []
    if sniff_url_is_video(task.image_url):
        return []
    links = [("grid" if is_grid(task) else "image", task.image_url)]
    if is_grid(task):
        links += [(f"U{n}", url) for n, url in enumerate(task.image_urls[:4], start=1)]
    return links


def sniff_url_is_video(url: str) -> bool:
    """An MP4 link by its name (a video task's imageUrl is often its MP4)."""
    return url.split("?", 1)[0].lower().endswith((".mp4", ".mov", ".webm"))
