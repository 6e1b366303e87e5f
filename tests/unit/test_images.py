"""Images (mjdash/images.py): downloads write real PNG files; the decoder and half-blocks."""

from __future__ import annotations

import random
import struct
import zlib

import pytest

from mjdash.media import images
from mjdash.media.images import ImageError, decode_png, half_blocks, image_name, is_grid, shrink
from mjdash.model.secret import Secret
from mjdash.model.task import Button, Status, Task, parse_task
from mjdash.net.client import MidjourneyClient
from mjdash.sim import png

# --- a small PNG encoder with every filter, to check the decoder against known pixels -------


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _filter(kind: int, row: bytes, prior: bytes, bpp: int) -> bytes:
    out = bytearray()
    for i, value in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i]
        c = prior[i - bpp] if i >= bpp else 0
        predictor = (0, a, b, (a + b) >> 1, _paeth(a, b, c))[kind]
        out.append((value - predictor) & 0xFF)
    return bytes([kind]) + bytes(out)


def encode(width: int, rows: list[bytes], color: int, *, depth: int = 8, interlace: int = 0,
           palette: bytes = b"") -> bytes:  # fmt: skip
    bpp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    header = struct.pack(">IIBBBBB", width, len(rows), depth, color, 0, 0, interlace)
    raw, prior = b"", bytes(width * bpp)
    for y, row in enumerate(rows):
        raw += _filter(y % 5, row, prior, bpp)  # every filter type in turn
        prior = row
    chunks = png._chunk(b"IHDR", header)
    if palette:
        chunks += png._chunk(b"PLTE", palette)
    return (
        png.PNG_SIGNATURE
        + chunks
        + png._chunk(b"IDAT", zlib.compress(raw))
        + png._chunk(b"IEND", b"")
    )


def random_rows(width: int, height: int, bpp: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [bytes(rng.randrange(256) for _ in range(width * bpp)) for _ in range(height)]


# --- decoding --------------------------------------------------------------------------------


def test_rgb_with_every_filter_decodes_exactly():
    rows = random_rows(17, 11, 3)
    image = decode_png(encode(17, rows, 2))
    assert (image.width, image.height) == (17, 11)
    assert image.rgb == b"".join(rows)


def test_rgba_is_blended_over_black():
    rows = random_rows(9, 7, 4, seed=2)
    image = decode_png(encode(9, rows, 6))
    flat = b"".join(rows)
    expected = bytearray()
    for at in range(0, len(flat), 4):
        r, g, b, a = flat[at : at + 4]
        expected += bytes((r * a // 255, g * a // 255, b * a // 255))
    assert image.rgb == bytes(expected)


def test_grey_grey_alpha_and_palette():
    grey = decode_png(encode(3, [bytes([0, 128, 255])], 0))
    assert grey.rgb == bytes([0, 0, 0, 128, 128, 128, 255, 255, 255])
    with_alpha = decode_png(encode(2, [bytes([200, 255, 200, 0])], 4))
    assert with_alpha.rgb == bytes([200, 200, 200, 0, 0, 0])
    palette = bytes([255, 0, 0, 0, 255, 0])
    indexed = decode_png(encode(2, [bytes([1, 0])], 3, palette=palette))
    assert indexed.pixel(0, 0) == (0, 255, 0) and indexed.pixel(1, 0) == (255, 0, 0)


def test_the_simulator_images_decode():
    image = decode_png(png.grid_png(((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0))))
    assert (image.width, image.height) == (128, 128)
    assert image.pixel(10, 10) == (255, 0, 0) and image.pixel(100, 10) == (0, 255, 0)
    assert image.pixel(10, 100) == (0, 0, 255) and image.pixel(100, 100) == (255, 255, 0)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\xff\xd8\xff\xe0 a jpeg", "not a PNG"),
        (b"", "not a PNG"),
        (encode(2, [bytes(6)], 2, depth=16), "bit depth 16"),
        (encode(2, [bytes(6)], 2, interlace=1), "interlaced"),
        (encode(2, [bytes(2)], 3), "palette"),
        (encode(2, [bytes([0, 7])], 3, palette=bytes(3)), "palette lacks"),
        (png.grid_png(((1, 1, 1),) * 4)[:60], "truncated"),
        (png.PNG_SIGNATURE + png._chunk(b"IEND", b""), "no header"),
    ],
)
def test_anything_else_fails_with_a_sentence(data, words):
    with pytest.raises(ImageError, match=words):
        decode_png(data)


def test_a_huge_image_is_refused_before_decoding():
    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    data = png.PNG_SIGNATURE + png._chunk(b"IHDR", header) + png._chunk(b"IEND", b"")
    with pytest.raises(ImageError, match="too large"):
        decode_png(data)


def test_a_bad_filter_byte_is_reported():
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = png._chunk(b"IDAT", zlib.compress(bytes([9, 1, 2, 3])))
    data = png.PNG_SIGNATURE + png._chunk(b"IHDR", header) + idat + png._chunk(b"IEND", b"")
    with pytest.raises(ImageError, match="filter"):
        decode_png(data)


# --- half-blocks -------------------------------------------------------------------------------


def test_half_blocks_put_the_upper_pixel_in_front_and_keep_the_shape():
    colors = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0))
    image = decode_png(png.grid_png(colors))
    cells = half_blocks(image, 20, 50)
    assert len(cells) == 10 and all(len(row) == 20 for row in cells)  # square: 20 x (2 x 10)
    assert cells[0][0] == (colors[0], colors[0])
    assert cells[0][19] == (colors[1], colors[1])
    assert cells[9][0] == (colors[2], colors[2]) and cells[9][19] == (colors[3], colors[3])
    tall = half_blocks(image, 40, 8)  # limited by rows: 8 rows = 16 pixels tall, 16 wide
    assert len(tall) == 8 and len(tall[0]) == 16
    # A row whose two halves differ: upper colour as foreground, lower as background.
    stripes = images.Image(1, 2, bytes([255, 255, 255, 0, 0, 0]))
    assert half_blocks(stripes, 1, 1) == [[((255, 255, 255), (0, 0, 0))]]


def test_shrink_keeps_at_most_128_pixels_a_side():
    image = images.Image(300, 150, bytes(300 * 150 * 3))
    small = shrink(image)
    assert (small.width, small.height) == (128, 64) and len(small.rgb) == 128 * 64 * 3
    assert shrink(small) is small


def test_grids_are_the_actions_with_u1_to_u4():
    buttons = tuple(Button(f"MJ::JOB::upsample::{n}::x", f"U{n}") for n in range(1, 5))
    assert is_grid(Task("1773314942177001", Status.SUCCESS, action="IMAGINE", buttons=buttons))
    assert is_grid(Task("1773314942177001", Status.SUCCESS, action="BLEND", buttons=buttons))
    assert not is_grid(Task("1773314942177001", Status.SUCCESS, action="UPSCALE", buttons=buttons))
    assert not is_grid(Task("1773314942177001", Status.SUCCESS, action="IMAGINE"))


# --- downloads ---------------------------------------------------------------------------------


def test_names_are_id_dash_action_png():
    task = Task("1773314942177001", Status.SUCCESS, action="IMAGINE")
    assert image_name(task) == "1773314942177001-imagine.png"
    odd = Task("1773314942177001", Status.SUCCESS, action="../ZOOM\x1b[31m")
    assert image_name(odd) == "1773314942177001-zoom31m.png"
    assert image_name(Task("1773314942177001", Status.SUCCESS)) == "1773314942177001-image.png"
    assert image_name(task, b"\xff\xd8\xff\xe0").endswith(".jpg")


async def test_download_writes_real_png_files(sim, tmp_path):
    ids = sim.engine.seed_demo()
    finished = [parse_task(sim.engine.task_json(i)) for i in ids]
    finished = [t for t in finished if t.status is Status.SUCCESS and t.image_url]
    assert len(finished) >= 3
    folder = tmp_path / "images" / "nested"
    async with MidjourneyClient(sim.url, Secret("k"), timeout=5.0) as client:
        paths = [await images.download(client, task, folder) for task in finished]
    assert [p.name for p in paths] == [f"{t.id}-{t.action.lower()}.png" for t in finished]
    for path, task in zip(paths, finished, strict=True):
        data = path.read_bytes()
        assert data.startswith(png.PNG_SIGNATURE)
        image = decode_png(data)
        assert (image.width, image.height) == (128, 128)
        if is_grid(task):  # four different quadrants
            corners = {image.pixel(5, 5), image.pixel(120, 5), image.pixel(5, 120)}
            assert len(corners) == 3
    assert sim.stats()["routes"]["image"] == len(finished)


async def test_download_of_a_task_without_an_image_says_so(sim, tmp_path):
    task = Task("1773314942177001", Status.IN_PROGRESS)
    async with MidjourneyClient(sim.url, Secret("k"), timeout=5.0) as client:
        with pytest.raises(ImageError, match="no image URL"):
            await images.download(client, task, tmp_path)
    assert list(tmp_path.iterdir()) == []
