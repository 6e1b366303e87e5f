"""The image preview (mjdash/ui/preview.py) in the dashboard, against the simulator: real-size
JPEG / WebP, the thumbnail disk cache, a grid's four images, video thumbnails, Kitty mode."""

from __future__ import annotations

import threading

from mjdash.media.images import sniff
from mjdash.sim.engine import ManualClock
from mjdash.ui import preview as preview_module
from mjdash.ui.preview import ImagePreview, cell_pixels, graphics_widget
from tests.app.test_app import poll
from tests.app.test_insight_ui import by_prompt, clocked
from tests.support.harness import make_app

SIZE = (120, 36)
BESIDE = (160, 45)  # the detail beside the table (ui/app.py detail_beside)


def demo(sim_factory, **engine):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0, demo=True)
    for name, value in engine.items():
        setattr(sim.engine, name, value)
    return clock, sim


async def settle(app, pilot) -> None:
    await pilot.pause(0.1)
    await app.workers.wait_for_complete()
    await pilot.pause()


def bg_colors(text) -> set[tuple[int, int, int]]:
    return {
        tuple(span.style.bgcolor.triplet)
        for span in text.spans
        if span.style.bgcolor is not None and span.style.color.triplet is not None
    }


def near(a, b, tolerance: int = 8) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def region_of(app, widget) -> tuple[int, int]:
    return widget.region.y, widget.region.y + widget.region.height


async def test_a_2048_jpeg_grid_draws_near_the_top_with_labels_and_from_disk_next_time(
    sim_factory, tmp_path
):
    clock, sim = demo(sim_factory, image_size=2048, image_format="jpeg")
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock), preview=True)
    async with app.run_test(size=SIZE) as pilot:
        preview = app.query_one(ImagePreview)
        preview.delay = 0.05
        await poll(app, pilot)
        grid = by_prompt(app, "paper boat")
        app.table.select(grid)
        await settle(app, pilot)
        assert preview.fetches == 1 and preview.problems == {}
        lines = preview.drawn.plain.splitlines()
        # At 120x36 the detail is under the table, the preview in a column of its own: the
        # image is as tall as the pane under its caption (fewer than the 16 rows at most).
        half = len(lines) // 2
        assert 12 <= len(lines) < 16 and lines[0].startswith("U1") and lines[half].startswith("U3")
        assert len(bg_colors(preview.drawn)) >= 4  # the four quadrants (and their shading)
        # Visible without scrolling in a 120x36 terminal: the whole image is on screen, to
        # the pane's last line.
        top, bottom = region_of(app, preview.query_one("#preview-image"))
        assert top > 0 and bottom <= SIZE[1]
        assert app.detail.scroll_y == 0 and bottom == app.detail.content_region.bottom
    # A restart draws from the thumbnail cache: no download.
    again = make_app(
        sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock), preview=True
    )
    routes_before = sim.stats()["routes"]["image"]
    async with again.run_test(size=BESIDE) as pilot:
        preview = again.query_one(ImagePreview)
        preview.delay = 0.05
        await poll(again, pilot)
        again.table.select(grid)
        await settle(again, pilot)
        assert preview.fetches == 0 and preview.disk_hits == 1
        # The detail beside the table: the whole 16 rows, under the facts, on screen.
        lines = preview.drawn.plain.splitlines()
        assert len(lines) == 16 and lines[0].startswith("U1") and lines[8].startswith("U3")
        top, bottom = region_of(again, preview.query_one("#preview-image"))
        assert again.detail.region.y < top and bottom <= BESIDE[1]
    assert sim.stats()["routes"]["image"] == routes_before


async def test_i_cycles_a_grid_through_its_four_images_and_d_saves_all_five(sim_factory, tmp_path):
    clock, sim = demo(sim_factory, image_format="webp")
    folder = tmp_path / "shots"
    app = make_app(
        sim,
        tmp_path,
        sim.seeded_ids,
        auto_poll=False,
        now=clocked(clock),
        preview=True,
        download_dir=str(folder),
    )
    async with app.run_test(size=SIZE) as pilot:
        preview = app.query_one(ImagePreview)
        preview.delay = 0.05
        await poll(app, pilot)
        grid = by_prompt(app, "paper boat")
        app.table.select(grid)
        await settle(app, pilot)
        assert preview.links[0][0] == "grid" and len(preview.links) == 5
        grid_colors = bg_colors(preview.drawn)
        seen = []
        for label in ("U1", "U2", "U3", "U4"):
            await pilot.press("i")
            await settle(app, pilot)
            assert preview.key == (grid, label)
            assert "U1" not in preview.drawn.plain  # one image, no quadrant labels
            colors = bg_colors(preview.drawn)  # lossy WebP: one colour, give or take
            first = next(iter(colors))
            assert all(near(color, first) for color in colors)
            assert any(near(first, color) for color in grid_colors)
            seen.append(first)
        assert all(not near(a, b) for n, a in enumerate(seen) for b in seen[n + 1 :])
        await pilot.press("i")  # back to the grid, from memory
        assert preview.key == (grid, "grid") and preview.fetches == 5
        await pilot.press("D")
        await settle(app, pilot)
    names = sorted(path.name for path in folder.iterdir())
    assert names == sorted(
        [f"{grid}-imagine.webp"] + [f"{grid}-imagine-{n}.webp" for n in range(1, 5)]
    )
    assert all(sniff(path.read_bytes()) == "webp" for path in folder.iterdir())


async def test_a_video_task_shows_its_thumbnail_labelled_and_d_saves_the_mp4s(
    sim_factory, tmp_path
):
    clock, sim = demo(sim_factory)
    video = sim.engine.place_video()
    folder = tmp_path / "shots"
    app = make_app(
        sim,
        tmp_path,
        [*sim.seeded_ids, video],
        auto_poll=False,
        now=clocked(clock),
        preview=True,
        download_dir=str(folder),
    )
    async with app.run_test(size=SIZE) as pilot:
        preview = app.query_one(ImagePreview)
        preview.delay = 0.05
        await poll(app, pilot)
        app.table.select(video)
        await settle(app, pilot)
        assert preview.links == [("video", app.tasks[video].video_thumbnails[0])]
        caption = preview.query_one("#preview-caption").render()
        assert "video" in str(caption)
        assert preview.drawn is not None and set(preview.drawn.plain) == {"▀", "\n"}
        await pilot.press("D")
        await settle(app, pilot)
    saved = sorted(folder.iterdir())
    names = [f"{video}-video.mp4", *(f"{video}-video-{n}.mp4" for n in range(2, 5))]
    assert [p.name for p in saved] == sorted(names)  # the four videoUrls, each once
    assert all(sniff(p.read_bytes()) == "mp4" for p in saved)


async def test_kitty_mode_mounts_the_graphics_widget_and_forgets_the_image_on_leaving(
    sim_factory, tmp_path
):
    clock, sim = demo(sim_factory)
    app = make_app(
        sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock), preview="kitty"
    )
    async with app.run_test(size=SIZE) as pilot:
        preview = app.query_one(ImagePreview)
        preview.delay = 0.05
        assert preview.mode == "kitty"
        await poll(app, pilot)
        grid = by_prompt(app, "paper boat")
        app.table.select(grid)
        await settle(app, pilot)
        graphic = preview.query_one(graphics_widget("kitty"))
        assert graphic.display and graphic.image is not None
        # Made in the worker at the exact pixel size textual-image draws: its own resize in
        # `render` is a copy, only its PNG encode is left on the UI thread.
        cell_w, cell_h = cell_pixels()
        columns, rows = graphic.styles.width.value, graphic.styles.height.value
        assert graphic.image.size == (columns * cell_w, rows * cell_h)
        # The labels sit on the image's edges in graphics modes.
        over = str(preview.query_one("#preview-blocks").render())
        under = str(preview.query_one("#preview-under").render())
        assert over.startswith("U1") and "U2" in over and under.startswith("U3")
        # A dialog on top: the terminal image goes, and comes back when it closes.
        await pilot.press("question_mark")
        await pilot.pause()
        assert graphic.image is None and not graphic.display
        await pilot.press("escape")
        await pilot.pause()
        assert graphic.display and graphic.image is not None
        running = by_prompt(app, "cozy library")
        app.table.select(running)
        await pilot.pause(0.1)
        assert graphic.image is None and not graphic.display
        assert not preview.has_class("-shown")


async def test_off_turns_the_preview_off_and_v_turns_it_back_on(sim_factory, tmp_path):
    clock, sim = demo(sim_factory)
    app = make_app(
        sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock), preview="off"
    )
    async with app.run_test(size=SIZE) as pilot:
        preview = app.query_one(ImagePreview)
        preview.delay = 0.05
        await poll(app, pilot)
        app.table.select(by_prompt(app, "paper boat"))
        await settle(app, pilot)
        assert not preview.enabled and preview.fetches == 0
        await pilot.press("v")
        await settle(app, pilot)
        assert preview.enabled and preview.fetches == 1 and preview.drawn is not None


async def test_the_half_block_rows_are_built_off_the_ui_thread(sim_factory, tmp_path, monkeypatch):
    """The UI thread's share of a new preview is only wrapping rows made in the worker into
    Text (the frame-gap target: no gap over 50 ms during a decode, tests/perf/bench.py)."""
    built_on: list[str] = []
    real = preview_module.half_block_rows

    def recording(*args, **kwargs):
        built_on.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(preview_module, "half_block_rows", recording)
    clock, sim = demo(sim_factory, image_size=1024, image_format="png")
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock), preview=True)
    async with app.run_test(size=SIZE) as pilot:
        preview = app.query_one(ImagePreview)
        preview.delay = 0.05
        await poll(app, pilot)
        app.table.select(by_prompt(app, "paper boat"))
        await settle(app, pilot)
        lines = preview.drawn.plain.splitlines()
        assert len(lines) == preview.max_rows and lines[0].startswith("U1")
    main = threading.main_thread().name
    assert built_on and main not in built_on, built_on


def test_graphics_are_prepared_at_the_exact_pixel_size_and_sixel_with_a_palette():
    """Kitty / Sixel: the worker hands textual-image the image at cells x cell pixels (its
    resize in `render` is then a copy); for Sixel also quantized to 256 colours, which its
    encoder takes as it is (no quantizing on the UI thread)."""
    from mjdash.media.images import cell_size, decode
    from mjdash.sim import images as sim_images
    from mjdash.sim.png import palette
    from mjdash.ui.preview import GRAPHICS_SIDE, MAX_COLUMNS, MAX_ROWS, prepare_drawing

    picture = sim_images.picture(tuple(palette(7, 4)), 1024, 7, True)
    image = decode(sim_images.encode(picture, "png"), GRAPHICS_SIDE)
    columns, rows = cell_size(image, MAX_COLUMNS, MAX_ROWS)
    cell_w, cell_h = cell_pixels()
    kitty = prepare_drawing("kitty", image, 60, True)
    sixel = prepare_drawing("sixel", image, 60, True)
    assert kitty.size == sixel.size == (columns * cell_w, rows * cell_h)
    assert kitty.mode == "RGB" and sixel.mode == "P"
    assert len(set(sixel.tobytes())) <= 256
    strips = prepare_drawing("halfblocks", image, 60, True)
    assert len(strips) == rows and strips[0].cell_length == columns


# --- image answers that are not images: the preview says why, the next one still draws ----------

HOSTILE = {  # task id -> (path, what the server sends as image/png, words of the refusal)
    "1773314942177901": ("/img/page.png", "html", "HTML page"),
    "1773314942177902": ("/img/bomb.png", "bomb", "too large"),
    "1773314942177903": ("/img/cut.png", "truncated", "damaged or truncated"),
}
GOOD_IMAGE = "1773314942177904"


def _image_bodies() -> dict[str, bytes]:
    import io
    import struct
    import zlib

    from PIL import Image as PILImage

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 2, 0, 0, 0)
    out = io.BytesIO()
    PILImage.effect_noise((256, 256), 60).convert("RGB").save(out, format="PNG")
    noisy = out.getvalue()
    out = io.BytesIO()
    PILImage.new("RGB", (512, 512), (200, 40, 40)).save(out, format="PNG")
    return {
        "html": b"<!DOCTYPE html><html><body>Just a moment...</body></html>",
        "bomb": b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""),
        "truncated": noisy[: len(noisy) // 2],
        "good": out.getvalue(),
    }


async def test_an_html_page_a_bomb_and_a_truncated_file_served_as_png_say_why_in_the_preview(
    tmp_path,
):
    """Image links answered with what is not a drawable image, all as Content-Type image/png:
    the preview says why for that task (no crash, nothing cached), and a good image after
    them draws."""
    from types import SimpleNamespace

    from tests.support.faultserver import FaultServer, respond, task_json

    bodies = _image_bodies()
    async with FaultServer() as server:
        by_path = {path: bodies[kind] for path, kind, _words in HOSTILE.values()}
        by_path["/img/good.png"] = bodies["good"]

        def task(task_id: str, path: str) -> dict:
            answer = task_json(task_id, status="SUCCESS", progress="100%")
            answer.update(
                action="UPSCALE", imageUrl=f"{server.url}{path}", finishTime=1773314990000
            )
            return answer

        tasks = [task(task_id, path) for task_id, (path, _kind, _words) in HOSTILE.items()]
        tasks.append(task(GOOD_IMAGE, "/img/good.png"))

        async def route(request, writer) -> bool:
            if request.path in by_path:
                handler = respond(200, by_path[request.path], content_type="image/png")
            elif request.path.endswith("/list-by-condition"):
                handler = respond(200, tasks)
            else:
                handler = respond(200, next(t for t in tasks if t["id"] in request.path))
            return await handler(request, writer)

        server.script(route)
        app = make_app(
            SimpleNamespace(url=server.url),  # type: ignore[arg-type]
            tmp_path,
            [*HOSTILE, GOOD_IMAGE],
            auto_poll=False,
            preview=True,
        )
        async with app.run_test(size=SIZE) as pilot:
            preview = app.query_one(ImagePreview)
            preview.delay = 0.05
            await poll(app, pilot)
            for task_id, (_path, _kind, words) in HOSTILE.items():
                app.table.select(task_id)
                await settle(app, pilot)
                problem = preview.problems.get((task_id, "image"), "")
                assert words in problem, (task_id, problem)
                caption = str(preview.query_one("#preview-caption").render())
                assert caption.startswith("no preview:") and words in caption, caption
                assert preview.drawn is None
            app.table.select(GOOD_IMAGE)
            await settle(app, pilot)
            assert preview.problems.get((GOOD_IMAGE, "image")) is None
            assert preview.drawn is not None and {(200, 40, 40)} == bg_colors(preview.drawn)
            assert preview.fetches == 4
        requested = [r.path for r in server.requests if r.path.startswith("/img/")]
        assert sorted(requested) == sorted([*by_path])
    thumbs = preview.thumbs.folder
    assert len(list(thumbs.iterdir())) == 1  # only the good image was kept
