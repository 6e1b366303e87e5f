"""Tiny PNG images made with zlib and struct, so the simulator's image route needs no PIL."""

from __future__ import annotations

import colorsys
import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

Rgb = tuple[int, int, int]


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(width: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGB PNG from raw rows (3 bytes a pixel)."""
    header = struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 on every row
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )


def solid_png(color: Rgb, size: int = 128) -> bytes:
    row = bytes(color) * size
    return encode_png(size, [row] * size)


def grid_png(colors: tuple[Rgb, Rgb, Rgb, Rgb], size: int = 128) -> bytes:
    """A 2x2 grid like Midjourney's four-image answer; colours in reading order."""
    half = size // 2
    top = bytes(colors[0]) * half + bytes(colors[1]) * (size - half)
    bottom = bytes(colors[2]) * half + bytes(colors[3]) * (size - half)
    return encode_png(size, [top] * half + [bottom] * (size - half))


def palette(seed: int, count: int, *, dim: bool = False) -> list[Rgb]:
    """`count` clearly distinct colours picked from a seed (hues spread around the wheel)."""
    base = (seed % 360) / 360
    value = 0.45 if dim else 0.85
    colors = []
    for index in range(count):
        hue = (base + index / count) % 1.0
        red, green, blue = colorsys.hsv_to_rgb(hue, 0.65, value)
        colors.append((round(red * 255), round(green * 255), round(blue * 255)))
    return colors
