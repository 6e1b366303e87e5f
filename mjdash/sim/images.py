"""The simulator's images, made with Pillow: PNG, JPEG or WebP at any size, and video bytes.

Small by default (128 px PNG: the tests stay fast); `mjdash sim --image-size 2048
--image-format jpeg|png|webp|mixed` serves real-size images like Midjourney's CDN. A grid is
four quadrants in distinct colours (each a soft gradient with a little texture, so JPEG and WebP
compress them like photographs and not like flat colour); the four images of a grid
(`imageUrls`) are its quadrants alone. Videos are a short ISO-BMFF (MP4) byte stream that
sniffs as MP4; their thumbnails are WebP.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter

from mjdash.sim.png import palette

FORMATS = ("png", "jpeg", "webp", "mixed")
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
Rgb = tuple[int, int, int]


def format_for(setting: str, seed: int) -> str:
    """The format a task's image is served in: "mixed" picks one per task."""
    if setting == "mixed":
        return ("png", "jpeg", "webp")[seed % 3]
    return setting if setting in MEDIA_TYPES else "png"


def _tile(color: Rgb, size: int, seed: int) -> Image.Image:
    """A square of `color`; from 256 px on, a soft diagonal light and a little texture (the
    small default stays flat: tests compare its exact colours)."""
    base = Image.new("RGB", (size, size), color)
    if size < 256:
        return base
    light = Image.linear_gradient("L").resize((size, size)).rotate(45 + seed % 90)
    shade = Image.new("RGB", (size, size), tuple(max(0, c - 40) for c in color))
    tile = Image.composite(base, shade, light)
    noise = Image.effect_noise((size // 4, size // 4), 24).resize((size, size))
    tile = Image.blend(tile, Image.merge("RGB", (noise, noise, noise)), 0.06)
    ImageDraw.Draw(tile).ellipse(
        (size // 4, size // 4, 3 * size // 4, 3 * size // 4),
        outline=tuple(min(255, c + 50) for c in color),
        width=max(2, size // 64),
    )
    return tile.filter(ImageFilter.SMOOTH)


def picture(colors: tuple[Rgb, ...], size: int, seed: int, grid: bool) -> Image.Image:
    if not grid:
        return _tile(colors[0], size, seed)
    image = Image.new("RGB", (size, size))
    half = size // 2
    for number, (x, y) in enumerate(((0, 0), (half, 0), (0, half), (half, half))):
        image.paste(_tile(colors[number], size - half, seed + number), (x, y))
    return image


@lru_cache(maxsize=64)
def encoded(colors: tuple[Rgb, ...], size: int, seed: int, grid: bool, fmt: str) -> bytes:
    """The picture in `fmt`, kept: a 2048 px image is encoded once, not on every request."""
    return encode(picture(colors, size, seed, grid), fmt)


def encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "jpeg":
        image.save(out, format="JPEG", quality=88)
    elif fmt == "webp":
        image.save(out, format="WEBP", quality=85, method=0)
    else:
        image.save(out, format="PNG", compress_level=1 if image.width > 512 else 6)
    return out.getvalue()


def task_image(
    seed: int, *, grid: bool, dim: bool, size: int = 128, fmt: str = "png", part: int = 0
) -> tuple[bytes, str]:
    """(bytes, media type) of a task's image; `part` 1-4: one quadrant of a grid, full size."""
    colors = tuple(palette(seed, 4, dim=dim))
    kind = format_for(fmt, seed)
    if part:
        data = encoded((colors[part - 1],), size, seed + part - 1, False, kind)
    else:
        data = encoded(colors, size, seed, grid, kind)
    return data, MEDIA_TYPES[kind]


def thumbnail(seed: int, size: int = 128) -> tuple[bytes, str]:
    """A video's thumbnail (WebP, like Midjourney's)."""
    return encoded(tuple(palette(seed, 4)), size, seed, False, "webp"), "image/webp"


def mp4(seed: int) -> bytes:
    """A small ISO base media file: `ftyp`, a `free` box and an `mdat` of made-up frames.
    Players will not play it; it is what a download sniffs and saves as .mp4."""

    def box(kind: bytes, body: bytes) -> bytes:
        return (8 + len(body)).to_bytes(4, "big") + kind + body

    frames = bytes((seed + i) % 251 for i in range(4096))
    return (
        box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2avc1mp41")
        + box(b"free", b"mjdash simulator")
        + box(b"mdat", frames)
    )
