"""Task images: download them to a folder, and draw them in a terminal with half-blocks. No UI.

Downloads go through `MidjourneyClient.download_image` (URL checked, size capped, the key only
for the API's own host) and are written atomically as `<id>-<action>.png` (another extension
when the bytes are plainly JPEG, WebP or GIF: the name should not lie about the content).

The PNG decoder is small and pure Python (zlib + struct): 8-bit greyscale, RGB, palette,
grey+alpha and RGBA, not interlaced, which covers the simulator's images and most PNGs from
Midjourney's CDN. Anything else raises `ImageError` with a sentence to show. Decoding a large
image costs time (the PNG filters are undone byte by byte): the UI does it in a thread, and
images over `MAX_PIXELS` are refused.

Half-blocks: each terminal cell shows two pixels stacked, the upper one as the foreground of
"▀" and the lower one as its background, so a cell grid of W x H shows W x 2H pixels. The
result is rows of (fg, bg) RGB pairs; the UI turns them into styled text.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mjdash.model.task import Task
from mjdash.store import atomic, paths

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 4096 * 4096
Rgb = tuple[int, int, int]
Cell = tuple[Rgb, Rgb]  # (upper pixel = foreground of ▀, lower pixel = background)

_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
_SAFE_ACTION_RE = re.compile(r"[^a-z0-9_]+")


class ImageError(ValueError):
    """The bytes are not an image this module can draw; str is a sentence for the user."""


# --- names and downloads ----------------------------------------------------------------------


def sniff_extension(data: bytes) -> str:
    if data.startswith(PNG_SIGNATURE):
        return ".png"
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ".gif"
    return ".png"


def image_name(task: Task, data: bytes = PNG_SIGNATURE) -> str:
    """`<id>-<action>.png`: the action lower-cased, anything but letters, digits and _ dropped."""
    action = _SAFE_ACTION_RE.sub("", task.action.lower())[:40] or "image"
    return f"{task.id}-{action}{sniff_extension(data)}"


def save_image(folder: Path, task: Task, data: bytes) -> Path:
    """Write the image atomically into `folder` (created if needed); returns the path."""
    folder = Path(folder).expanduser()
    paths.ensure_private_dir(folder)  # 0700, as every folder mjdash makes
    target = folder / image_name(task, data)
    atomic.write_atomic(atomic.real_target(target), data)
    return target


async def download(client: Any, task: Task, folder: Path) -> Path:
    """Fetch the task's image with `client.download_image` and save it; returns the path.

    Raises the client's MjError subclasses (refused URL, HTTP errors) or OSError.
    """
    if not task.image_url:
        raise ImageError(f"task {task.id} has no image URL yet")
    data = await client.download_image(task.image_url)
    return save_image(folder, task, data)


# --- PNG decoding -----------------------------------------------------------------------------


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


def _chunks(data: bytes):
    at = len(PNG_SIGNATURE)
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        if len(body) != length:
            raise ImageError("the PNG is truncated")
        yield kind, body
        at += 12 + length
        if kind == b"IEND":
            return


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> bytearray:
    """Undo the per-row PNG filters (None, Sub, Up, Average, Paeth)."""
    stride = width * bpp
    out = bytearray(stride * height)
    prior = bytearray(stride)
    low = int.from_bytes(b"\x7f" * stride)
    high = int.from_bytes(b"\x80" * stride)
    at = 0
    for y in range(height):
        kind = raw[at]
        line = bytearray(raw[at + 1 : at + 1 + stride])
        at += 1 + stride
        if kind == 0:
            pass
        elif kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            # Bytewise add without carries, on whole rows as integers (SWAR): ~50x a loop.
            total = (int.from_bytes(line) & low) + (int.from_bytes(prior) & low)
            total ^= (int.from_bytes(line) ^ int.from_bytes(prior)) & high
            line = bytearray(total.to_bytes(stride))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prior[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prior[i]
                c = prior[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                if pa <= pb and pa <= pc:
                    predictor = a
                elif pb <= pc:
                    predictor = b
                else:
                    predictor = c
                line[i] = (line[i] + predictor) & 0xFF
        else:
            raise ImageError(f"the PNG uses an unknown filter type ({kind})")
        out[y * stride : (y + 1) * stride] = line
        prior = line
    return out


def decode_png(data: bytes) -> Image:
    """8-bit, non-interlaced PNG (grey, RGB, palette, grey+alpha, RGBA) to RGB pixels.

    Alpha is blended over black. Raises ImageError for anything else.
    """
    if not data.startswith(PNG_SIGNATURE):
        raise ImageError("not a PNG image (the preview draws PNG only)")
    header: tuple[int, ...] | None = None
    palette = b""
    idat: list[bytes] = []
    try:
        for kind, body in _chunks(data):
            if kind == b"IHDR":
                if len(body) != 13:
                    raise ImageError("the PNG header is damaged")
                header = struct.unpack(">IIBBBBB", body)
            elif kind == b"PLTE":
                palette = body
            elif kind == b"IDAT":
                idat.append(body)
    except struct.error:
        raise ImageError("the PNG is damaged") from None
    if header is None:
        raise ImageError("the PNG has no header")
    width, height, depth, color, _compression, _filter, interlace = header
    if not width or not height:
        raise ImageError("the PNG is empty")
    if width * height > MAX_PIXELS:
        raise ImageError(f"the image is too large to preview ({width}x{height})")
    if depth != 8 or color not in _CHANNELS:
        raise ImageError(f"unsupported PNG format (bit depth {depth}, colour type {color})")
    if interlace:
        raise ImageError("interlaced PNGs are not drawn")
    bpp = _CHANNELS[color]
    expected = height * (1 + width * bpp)
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(b"".join(idat), expected)  # never more than the rows need
    except zlib.error:
        raise ImageError("the PNG's pixel data is damaged") from None
    if len(raw) < expected:
        raise ImageError("the PNG's pixel data is truncated")
    pixels = _unfilter(raw, width, height, bpp)
    return Image(width, height, _to_rgb(pixels, color, bpp, palette))


def _to_rgb(pixels: bytearray, color: int, bpp: int, palette: bytes) -> bytes:
    if color == 2:
        return bytes(pixels)
    if color == 6:
        out = bytearray(len(pixels) // 4 * 3)
        out[0::3] = bytes((r * a) // 255 for r, a in zip(pixels[0::4], pixels[3::4], strict=True))
        out[1::3] = bytes((g * a) // 255 for g, a in zip(pixels[1::4], pixels[3::4], strict=True))
        out[2::3] = bytes((b * a) // 255 for b, a in zip(pixels[2::4], pixels[3::4], strict=True))
        return bytes(out)
    if color == 0:
        out = bytearray(len(pixels) * 3)
        out[0::3] = out[1::3] = out[2::3] = pixels
        return bytes(out)
    if color == 4:
        grey = bytes((v * a) // 255 for v, a in zip(pixels[0::2], pixels[1::2], strict=True))
        out = bytearray(len(grey) * 3)
        out[0::3] = out[1::3] = out[2::3] = grey
        return bytes(out)
    # color 3: palette indices
    if not palette or len(palette) % 3:
        raise ImageError("the PNG's palette is missing or damaged")
    entries = len(palette) // 3
    table = [palette[i * 3 : i * 3 + 3] for i in range(entries)]
    try:
        return b"".join(table[index] for index in pixels)
    except IndexError:
        raise ImageError("the PNG uses a colour its palette lacks") from None


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
    """The image as rows of (upper, lower) colour pairs, sampled to fit the cell box."""
    columns, rows = cell_size(image, max_width, max_rows)
    pixel_rows = rows * 2
    xs = [min(image.width - 1, int((x + 0.5) * image.width / columns)) for x in range(columns)]
    ys = [
        min(image.height - 1, int((y + 0.5) * image.height / pixel_rows)) for y in range(pixel_rows)
    ]
    grid = []
    for row in range(rows):
        upper, lower = ys[2 * row], ys[2 * row + 1]
        grid.append([(image.pixel(x, upper), image.pixel(x, lower)) for x in xs])
    return grid


def shrink(image: Image, max_side: int = 128) -> Image:
    """A copy at most `max_side` pixels on its longer side (nearest pixel): what the preview
    keeps in memory, enough for any pane width."""
    if max(image.width, image.height) <= max_side:
        return image
    scale = max_side / max(image.width, image.height)
    width = max(1, round(image.width * scale))
    height = max(1, round(image.height * scale))
    xs = [min(image.width - 1, int((x + 0.5) / scale)) for x in range(width)]
    out = bytearray()
    for y in range(height):
        source = min(image.height - 1, int((y + 0.5) / scale))
        row = image.rgb[source * image.width * 3 : (source + 1) * image.width * 3]
        for x in xs:
            out += row[x * 3 : x * 3 + 3]
    return Image(width, height, bytes(out))


def is_grid(task: Task) -> bool:
    """A four-image grid: the actions that make one, with U1-U4 among its buttons."""
    if task.action.upper() not in ("IMAGINE", "VARIATION", "REROLL", "BLEND"):
        return False
    names = {button.name for button in task.buttons}
    return {"U1", "U2", "U3", "U4"} <= names
