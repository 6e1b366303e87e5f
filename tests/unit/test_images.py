"""Images (mjdash/media/images.py): Pillow decoding of every format Midjourney serves, the
bomb bound, sniffed downloads, half-blocks. The files are made with Pillow in each test."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image as PILImage

from mjdash.media import images, terminal
from mjdash.media.images import (
    ImageError,
    decode,
    decode_png,
    half_blocks,
    image_name,
    is_grid,
    preview_links,
    shrink,
    sniff,
)
from mjdash.model.secret import Secret
from mjdash.model.task import Button, Status, Task, parse_task
from mjdash.net.client import MidjourneyClient
from mjdash.store.config import ConfigError, load_config
from tests.support.faultserver import FaultServer, respond

QUADRANTS = ((220, 30, 30), (30, 200, 40), (40, 60, 230), (240, 220, 20))


def grid_image(size: int = 64, mode: str = "RGB") -> PILImage.Image:
    """Four flat quadrants: colours survive any codec closely enough to compare."""
    image = PILImage.new("RGB", (size, size))
    half = size // 2
    for number, (x, y) in enumerate(((0, 0), (half, 0), (0, half), (half, half))):
        image.paste(QUADRANTS[number], (x, y, x + half, y + half))
    return image.convert(mode) if mode != "RGB" else image


def encoded(image: PILImage.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def quadrant_colors(image: images.Image) -> list[tuple[int, int, int]]:
    w, h = image.width, image.height
    spots = ((w // 4, h // 4), (3 * w // 4, h // 4), (w // 4, 3 * h // 4), (3 * w // 4, 3 * h // 4))
    return [image.pixel(x, y) for x, y in spots]


# --- decoding: every format -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "options", "tolerance"),
    [
        ("PNG", {}, 0),
        ("JPEG", {"quality": 92}, 12),
        ("WEBP", {"quality": 90}, 12),
        ("WEBP", {"lossless": True}, 0),
    ],
)
def test_rgb_images_of_every_format_decode_to_their_colours(fmt, options, tolerance):
    data = encoded(grid_image(), fmt, **options)
    image = decode(data)
    assert (image.width, image.height) == (64, 64)
    for got, want in zip(quadrant_colors(image), QUADRANTS, strict=True):
        assert close(got, want, tolerance), (fmt, got, want)


ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2))  # fmt: skip


def adam7_png(image: PILImage.Image) -> bytes:
    """An interlaced 8-bit RGB PNG (Pillow reads Adam7 but does not write it)."""
    width, height = image.size
    pixels = image.tobytes()
    raw = bytearray()
    for x0, y0, dx, dy in ADAM7:
        columns = range(x0, width, dx)
        if not columns:
            continue
        for y in range(y0, height, dy):
            raw.append(0)
            for x in columns:
                raw += pixels[(y * width + x) * 3 : (y * width + x) * 3 + 3]
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(bytes(raw))) + _chunk(b"IEND", b""))  # fmt: skip


def test_interlaced_png_decodes_exactly():
    source = PILImage.effect_noise((37, 23), 80).convert("RGB")  # odd sizes: short passes
    data = adam7_png(source)
    assert data[16 + 12] == 1  # IHDR's interlace byte
    assert decode_png(data).rgb == source.tobytes()


def test_16_bit_png_keeps_the_top_byte():
    grey = PILImage.new("I;16", (8, 4), 0xC8FF)  # 51455 -> 200 in 8 bits
    image = decode(encoded(grey, "PNG"))
    assert image.pixel(3, 2) == (200, 200, 200)
    rgb16 = (  # 16-bit RGB by hand (Pillow writes 16-bit greyscale only)
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 16, 2, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(b"\x00" + bytes([200, 1, 100, 2, 50, 3]) * 2))
        + _chunk(b"IEND", b"")
    )
    assert close(decode(rgb16).pixel(1, 0), (200, 100, 50), 1)


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def test_palette_png_and_gif_first_frame():
    palette_png = encoded(grid_image().convert("P", palette=PILImage.Palette.ADAPTIVE), "PNG")
    assert palette_png[25] == 3  # colour type 3: indexed
    for got, want in zip(quadrant_colors(decode(palette_png)), QUADRANTS, strict=True):
        assert close(got, want, 2)
    first, second = grid_image(), PILImage.new("RGB", (64, 64), (0, 0, 0))
    gif = encoded(first, "GIF", save_all=True, append_images=[second], duration=100)
    assert sniff(gif) == "gif"
    for got, want in zip(quadrant_colors(decode(gif)), QUADRANTS, strict=True):
        assert close(got, want, 8)  # the first frame, not the black second one


def test_greyscale_and_cmyk_jpeg_become_rgb():
    grey = decode(encoded(grid_image(mode="L"), "JPEG"))
    expected_grey = grid_image(mode="L").getpixel((16, 16))
    assert close(grey.pixel(16, 16), (expected_grey,) * 3, 6)
    cmyk_data = encoded(grid_image(mode="CMYK"), "JPEG", quality=95)
    assert PILImage.open(io.BytesIO(cmyk_data)).mode == "CMYK"
    cmyk = decode(cmyk_data)
    assert len(cmyk.rgb) == cmyk.width * cmyk.height * 3
    for got, want in zip(quadrant_colors(cmyk), QUADRANTS, strict=True):
        assert close(got, want, 16)


def test_alpha_is_blended_over_black():
    image = PILImage.new("RGBA", (4, 4), (200, 100, 50, 128))
    got = decode(encoded(image, "PNG")).pixel(1, 1)
    assert close(got, (100, 50, 25), 2)


def test_a_large_jpeg_is_decoded_at_preview_size_with_draft():
    big = grid_image(2048)
    data = encoded(big, "JPEG", quality=85)
    opened = PILImage.open(io.BytesIO(data))
    opened.draft("RGB", (256, 256))
    assert opened.size == (256, 256)  # the DCT scale 1/8: never 2048x2048 pixels in memory
    image = decode(data, max_side=256)
    assert (image.width, image.height) == (256, 256)
    for got, want in zip(quadrant_colors(image), QUADRANTS, strict=True):
        assert close(got, want, 12)


def test_the_preview_keeps_the_shape_at_most_max_side():
    wide = decode(encoded(PILImage.new("RGB", (1200, 600), (9, 9, 9)), "WEBP"), max_side=200)
    assert (wide.width, wide.height) == (200, 100)


# --- decoding: what is refused ------------------------------------------------------------------


def test_a_bomb_is_refused_from_its_header_before_decoding():
    # 60000 x 60000 declared, a few hundred bytes of data: refused on the header alone.
    header = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IEND", b"")
    with pytest.raises(ImageError, match="too large"):
        decode(bomb)
    # Just over our bound but under Pillow's own 2x error: our check answers.
    side = int(images.MAX_PIXELS**0.5) + 8
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    just_over = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IEND", b"")
    with pytest.raises(ImageError, match="too large"):
        decode(just_over)
    assert PILImage.MAX_IMAGE_PIXELS == images.MAX_PIXELS  # Pillow's own bound agrees


def test_a_real_zlib_bomb_png_is_refused_without_inflating_it():
    # 20000 x 20000 grey zeros compress to ~400 KB; inflated they would be 400 MB.
    side = 20_000
    raw = zlib.compress(b"\x00" * (side + 1) * 64, 9)  # enough IDAT to look real
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    bomb = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", raw)
            + _chunk(b"IEND", b""))  # fmt: skip
    with pytest.raises(ImageError, match="too large"):
        decode(bomb)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_truncated_file_is_an_error_with_a_sentence(fmt):
    data = encoded(PILImage.effect_noise((128, 128), 50).convert("RGB"), fmt)
    with pytest.raises(ImageError, match=r"damaged|truncated"):
        decode(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"<!DOCTYPE html><html><body>Cloudflare</body></html>", "HTML page"),
        (b"", "empty"),
        (b"\x00\x00\x00\x18ftypmp42 video", "video"),
        (b"function steal() { fetch('/') }", "script"),
    ],
)
def test_what_is_not_an_image_fails_with_a_sentence(data, words):
    with pytest.raises(ImageError, match=words):
        decode(data)


# --- half-blocks --------------------------------------------------------------------------------


def test_half_blocks_put_the_upper_pixel_in_front_and_keep_the_shape():
    image = images.Image.from_pil(grid_image(128))
    cells = half_blocks(image, 20, 50)
    assert len(cells) == 10 and all(len(row) == 20 for row in cells)  # square: 20 x (2 x 10)
    assert cells[0][0] == (QUADRANTS[0], QUADRANTS[0])
    assert cells[0][19] == (QUADRANTS[1], QUADRANTS[1])
    assert cells[9][0] == (QUADRANTS[2], QUADRANTS[2])
    assert cells[9][19] == (QUADRANTS[3], QUADRANTS[3])
    tall = half_blocks(image, 40, 8)  # limited by rows: 8 rows = 16 pixels tall, 16 wide
    assert len(tall) == 8 and len(tall[0]) == 16
    stripes = images.Image(1, 2, bytes([255, 255, 255, 0, 0, 0]))
    assert half_blocks(stripes, 1, 1) == [[((255, 255, 255), (0, 0, 0))]]


def test_shrink_keeps_at_most_max_side():
    image = images.Image(300, 150, bytes(300 * 150 * 3))
    small = shrink(image)
    assert (small.width, small.height) == (128, 64) and len(small.rgb) == 128 * 64 * 3
    assert shrink(small) is small


# --- what each task kind shows ------------------------------------------------------------------

U_BUTTONS = tuple(Button(f"MJ::JOB::upsample::{n}::x", f"U{n}") for n in range(1, 5))


def test_grids_are_the_grid_actions_with_u1_to_u4():
    for action in ("IMAGINE", "BLEND", "PAN", "ZOOM", "HIGH_VARIATION", "REROLL"):
        assert is_grid(Task("1773314942177001", Status.SUCCESS, action=action, buttons=U_BUTTONS))
    assert not is_grid(
        Task("1773314942177001", Status.SUCCESS, action="UPSCALE", buttons=U_BUTTONS)
    )
    # A server with no buttons at all (midjourney-proxy v2): a finished grid is labelled too.
    assert is_grid(Task("1773314942177001", Status.SUCCESS, action="IMAGINE"))
    assert not is_grid(Task("1773314942177001", Status.IN_PROGRESS, action="IMAGINE"))


def test_preview_links_per_task_kind():
    answer = {
        "id": "1773314942177001",
        "status": "SUCCESS",
        "action": "IMAGINE",
        "imageUrl": "https://cdn.example/grid.png",
        "imageUrls": [{"url": f"https://cdn.example/{n}.png"} for n in range(1, 5)],
        "buttons": [{"customId": b.custom_id, "label": b.name} for b in U_BUTTONS],
    }
    grid = parse_task(answer)
    assert [label for label, _ in preview_links(grid)] == ["grid", "U1", "U2", "U3", "U4"]
    assert preview_links(grid)[2][1] == "https://cdn.example/2.png"
    video = parse_task(
        {
            "id": "1773314942177002",
            "status": "SUCCESS",
            "action": "VIDEO",
            "imageUrl": "https://cdn.example/v1.mp4",
            "videoUrl": "https://cdn.example/v1.mp4",
            "videoUrls": [
                {"url": "https://cdn.example/v1.mp4", "thumbnail": "https://cdn.example/t1.webp"},
                {"url": "https://cdn.example/v2.mp4", "thumbnail": "https://cdn.example/t2.webp"},
            ],
        }
    )
    assert preview_links(video) == [("video", "https://cdn.example/t1.webp")]
    assert video.video_urls == ("https://cdn.example/v1.mp4", "https://cdn.example/v2.mp4")
    assert parse_task(video.to_api_dict()) == video  # the cache keeps the links
    upscale = Task(
        "1773314942177003", Status.SUCCESS, action="UPSCALE", image_url="https://x/u.png"
    )
    assert preview_links(upscale) == [("image", "https://x/u.png")]
    describe = Task("1773314942177004", Status.SUCCESS, action="DESCRIBE")
    assert preview_links(describe) == []  # no source image known: nothing to fetch
    described = Task(
        "1773314942177004", Status.SUCCESS, action="DESCRIBE", image_url="https://x/src.jpg"
    )
    assert preview_links(described) == [("image", "https://x/src.jpg")]
    junk = parse_task({"id": "1773314942177005", "imageUrls": "nope", "videoUrls": [3, None]})
    assert junk.image_urls == () and junk.video_urls == () and junk.video_thumbnails == ()


# --- names and downloads ----------------------------------------------------------------------


def test_names_are_id_dash_action_and_the_sniffed_extension():
    task = Task("1773314942177001", Status.SUCCESS, action="IMAGINE")
    assert image_name(task) == "1773314942177001-imagine.png"
    odd = Task("1773314942177001", Status.SUCCESS, action="../ZOOM\x1b[31m")
    assert image_name(odd) == "1773314942177001-zoom31m.png"
    assert image_name(Task("1773314942177001", Status.SUCCESS)) == "1773314942177001-image.png"
    for fmt, ext in (("JPEG", "jpg"), ("WEBP", "webp"), ("GIF", "gif"), ("PNG", "png")):
        assert image_name(task, encoded(grid_image(8), fmt)) == f"1773314942177001-imagine.{ext}"
    mp4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
    assert image_name(task, mp4, "2") == "1773314942177001-imagine-2.mp4"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"<!doctype html>\n<html><title>403 Forbidden</title></html>", "HTML page"),
        (b"<script>alert(document.cookie)</script>", "script"),
        (b"#!/bin/sh\nrm -rf ~\n", "script"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(64), "unknown format"),
    ],
)
def test_A11_a_download_that_is_not_an_image_is_refused_with_the_reason(tmp_path, body, words):
    """Issue 13 item 11: bytes served as image/png that are not an image or a video are not
    saved (under any extension), and the error says what they are."""
    task = Task("1773314942177001", Status.SUCCESS, action="IMAGINE", image_url="https://x/a.png")
    with pytest.raises(ImageError, match=words) as caught:
        images.save_image(tmp_path / "out", task, body)
    assert "not an image or a video" in str(caught.value)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


async def test_A11_a_download_that_is_not_an_image_is_refused_over_http(tmp_path):
    """The same through the real client: a server answering an image URL with HTML marked
    Content-Type image/png."""
    html = b"<!DOCTYPE html><html><body>Just a moment...</body></html>"
    async with FaultServer() as server:
        server.script(respond(200, html, content_type="image/png"))
        task = Task(
            "1773314942177001", Status.SUCCESS, action="IMAGINE", image_url=f"{server.url}/a.png"
        )
        async with MidjourneyClient(server.url, Secret("k"), timeout=5.0) as client:
            with pytest.raises(ImageError, match="HTML page"):
                await images.download(client, task, tmp_path / "out")
        assert server.requests[0].path == "/a.png"
    assert not (tmp_path / "out").exists()


async def test_download_writes_real_files_named_by_content(sim, tmp_path):
    ids = sim.engine.seed_demo()
    finished = [parse_task(sim.engine.task_json(i)) for i in ids]
    finished = [
        t for t in finished if t.status is Status.SUCCESS and t.image_url and t.action != "VIDEO"
    ]
    assert len(finished) >= 3
    folder = tmp_path / "images" / "nested"
    async with MidjourneyClient(sim.url, Secret("k"), timeout=5.0) as client:
        paths = [await images.download(client, task, folder) for task in finished]
    for path, task in zip(paths, finished, strict=True):
        data = path.read_bytes()
        assert path.name == f"{task.id}-{task.action.lower()}.{sniff(data)}"
        image = decode_png(data)
        if is_grid(task):  # four different quadrants
            w, h = image.width, image.height
            corners = {image.pixel(5, 5), image.pixel(w - 5, 5), image.pixel(5, h - 5)}
            assert len(corners) == 3
    assert (folder.stat().st_mode & 0o777) == 0o700


async def test_a_grid_saves_five_files_a_video_four_mp4s_and_the_main_file_alone_is_one(
    sim, tmp_path
):
    """`D` on a selected task saves everything (a grid and its four images; a video's four
    MP4s); auto-download and `D` over a view save the main file alone (`everything=False`)."""
    grid_id = sim.engine.seed_demo()[0]
    video_id = sim.engine.place_video()
    grid = parse_task(sim.engine.task_json(grid_id))
    video = parse_task(sim.engine.task_json(video_id))
    assert is_grid(grid) and len(grid.image_urls) == 4 and len(video.video_urls) == 4
    async with MidjourneyClient(sim.url, Secret("k"), timeout=5.0) as client:
        await images.download(client, grid, tmp_path / "all")
        await images.download(client, video, tmp_path / "all")
        await images.download(client, grid, tmp_path / "one", everything=False)
        await images.download(client, video, tmp_path / "one", everything=False)
    stem, vstem = f"{grid_id}-{grid.action.lower()}", f"{video_id}-video"
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == sorted(
        [
            f"{stem}.png",
            *(f"{stem}-{n}.png" for n in range(1, 5)),
            f"{vstem}.mp4",
            *(f"{vstem}-{n}.mp4" for n in range(2, 5)),
        ]
    )
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == sorted(
        [f"{stem}.png", f"{vstem}.mp4"]
    )
    quadrant = decode_png((tmp_path / "all" / f"{stem}-2.png").read_bytes())
    whole = decode_png((tmp_path / "all" / f"{stem}.png").read_bytes())
    assert quadrant.pixel(5, 5) == whole.pixel(whole.width - 5, 5)  # U2 is the top-right
    for n in range(2, 5):
        assert sniff((tmp_path / "all" / f"{vstem}-{n}.mp4").read_bytes()) == "mp4"


async def test_download_of_a_task_without_an_image_says_so(sim, tmp_path):
    task = Task("1773314942177001", Status.IN_PROGRESS)
    async with MidjourneyClient(sim.url, Secret("k"), timeout=5.0) as client:
        with pytest.raises(ImageError, match="no image URL"):
            await images.download(client, task, tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- which drawing: [ui] preview and the terminal ----------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TERM": "xterm-kitty"}, "kitty"),
        ({"TERM": "xterm-256color", "KITTY_WINDOW_ID": "3"}, "kitty"),
        ({"TERM": "xterm-ghostty"}, "kitty"),
        ({"TERM": "foot"}, "sixel"),
        ({"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, "sixel"),
        ({"TERM": "xterm-256color"}, "halfblocks"),
        ({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"}, "halfblocks"),
        ({"TERM": "tmux-256color"}, "halfblocks"),
        ({"TERM": "screen", "STY": "1.pts"}, "halfblocks"),
        ({}, "halfblocks"),
    ],
)
def test_auto_picks_the_drawing_from_the_terminal(env, expected):
    assert terminal.resolve("auto", env) == expected


def test_a_set_mode_overrides_detection_even_in_tmux():
    in_tmux = {"TERM": "tmux-256color", "TMUX": "x"}
    for mode in ("halfblocks", "sixel", "kitty", "off"):
        assert terminal.resolve(mode, in_tmux) == mode


def test_the_preview_key_in_the_config(tmp_path):
    path = tmp_path / "config.toml"
    for text, expected in (
        ('preview = "kitty"', "kitty"),
        ('preview = " Sixel "', "sixel"),
        ("preview = true", "auto"),
        ("preview = false", "off"),
    ):
        path.write_text(f"[ui]\n{text}\n")
        assert load_config(path, env={}).ui.preview == expected
    path.write_text('[ui]\npreview = "iterm"\n')
    with pytest.raises(ConfigError, match=r"preview.*auto, halfblocks, sixel, kitty, off"):
        load_config(path, env={})
    path.write_text("[ui]\npreview = 3\n")
    with pytest.raises(ConfigError, match="expected one of"):
        load_config(path, env={})
