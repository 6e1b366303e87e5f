"""The images section of tests/perf/bench.py (issue 14).

1. Decode + scale to preview size (256 px) of a 2048x2048 grid in PNG, JPEG and WebP (made by
   the simulator's Pillow drawing: soft gradients with texture, like a photograph): Pillow
   (mjdash.media.images.decode, median of runs) beside the old pure-Python decoder
   (tests/perf/benchlib_oldpng.py; PNG only, one run). Target: <= 150 ms each.
2. The longest frame gap in a Textual app while a preview is made (a 60 Hz timer records when
   it fires): decode, scale and half-block Strips in a thread, the frame that draws them on the
   UI thread, as the preview does. Target: <= 50 ms. The old decoder in a thread, for comparison
   (it holds the GIL). Then the UI-thread cost of a first draw in Kitty / Sixel mode
   (textual-image encodes in `render`), before and after the worker pre-scales the image.
3. The contact sheet of 1,000 finished tasks at 130x40, scrolled a page at a time from top to
   bottom while its thumbnails load from the simulator (512 px images, formats mixed): frame
   time per page (compositor update + terminal string) and thumbnails decoded per second, from
   the network and again from the disk cache.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from mjdash.media.images import decode
from mjdash.sim import images as sim_images
from mjdash.sim.png import palette
from tests.perf import benchlib_oldpng

TARGET_READY_MS = 150.0
TARGET_GAP_MS = 50.0
FORMATS = ("png", "jpeg", "webp")


def sample(fmt: str, size: int = 2048) -> bytes:
    colors = tuple(palette(7, 4))
    return sim_images.encode(sim_images.picture(colors, size, 7, True), fmt)


def decode_figures(reps: int = 5) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fmt in FORMATS:
        data = sample(fmt)
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            decode(data, max_side=256)
            times.append(time.perf_counter() - start)
        figure = {"bytes": len(data), "new_ms": statistics.median(times) * 1000, "old_ms": None}
        if fmt == "png":
            start = time.perf_counter()
            benchlib_oldpng.shrink(benchlib_oldpng.decode_png(data))
            figure["old_ms"] = (time.perf_counter() - start) * 1000
        out[fmt] = figure
    return out


async def frame_gaps() -> dict[str, float]:
    """Max gap between 60 Hz timer callbacks while a preview is made: decode, scale and the
    half-block Strips in a thread (as ImagePreview._load does), then on the UI thread the
    Strips handed to the BlockImage and drawn (the frame after the update is inside the
    window). The old decoder in a thread, for comparison (it holds the GIL)."""
    from textual.app import App

    from mjdash.ui.preview import BlockImage, prepare, prepare_drawing

    samples = {fmt: sample(fmt) for fmt in FORMATS}
    result: dict[str, float] = {}
    # The sections before this one leave a large heap behind (10,000-task apps measured in
    # this process): collected here, so a collection of their garbage does not land in a gap.
    gc.collect()

    def made(data: bytes):
        return prepare_drawing("halfblocks", prepare(data, 256), 48, True)

    class Probe(App):
        def compose(self):
            yield BlockImage()

        def on_mount(self) -> None:
            self.fired: list[float] = []
            self.set_interval(1 / 60, lambda: self.fired.append(time.perf_counter()))

    app = Probe()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.2)
        blocks = app.query_one(BlockImage)

        async def gap_during(work) -> float:
            await pilot.pause(0.1)
            app.fired.clear()
            started = time.perf_counter()
            rows = await asyncio.to_thread(work)
            if rows is not None:
                blocks.show(rows)  # the preview's UI-thread share
                await pilot.pause()  # and the frame that draws it
            ended = time.perf_counter()
            await pilot.pause(0.05)
            marks = [started] + [t for t in app.fired if started <= t <= ended] + [ended]
            return max(b - a for a, b in itertools.pairwise(marks)) * 1000

        # One untimed preview first: Pillow's plugin imports and the widget's first layout
        # happen once a session, not per decode.
        await gap_during(lambda: made(samples["jpeg"]))
        blocks.show([])
        # Baseline: the same wait with nothing decoding (what this machine's load costs).
        result["gap_idle_ms"] = max([await gap_during(lambda: time.sleep(0.25)) for _ in range(3)])
        worst = 0.0
        for fmt, data in samples.items():
            gaps = [await gap_during(lambda data=data: made(data)) for _ in range(3)]
            result[f"gap_{fmt}_ms"] = max(gaps)
            worst = max(worst, *gaps)
        result["gap_new_ms"] = worst
        old = samples["png"]
        result["gap_old_ms"] = await gap_during(
            lambda: benchlib_oldpng.shrink(benchlib_oldpng.decode_png(old)) and None
        )
    return result


def graphics_first_draw(reps: int = 5) -> dict[str, float]:
    """UI-thread cost of the first draw of a preview in Kitty / Sixel mode: textual-image's
    renderable rendered at 48x16 cells (what its widget's `render` runs), given the decoded
    768 px image (before) or what the worker now makes (`prepare_drawing`: the exact pixel
    size; for Sixel also quantized to 256 colours). Kitty's
    commands go to `sys.__stdout__`, swapped for a buffer here."""
    import io
    import sys

    from rich.console import Console
    from textual_image.renderable.sixel import Image as SixelRenderable
    from textual_image.renderable.tgp import Image as TGPRenderable

    from mjdash.media.images import cell_size
    from mjdash.ui.preview import GRAPHICS_SIDE, MAX_COLUMNS, MAX_ROWS, prepare, prepare_drawing

    image = prepare(sample("png"), GRAPHICS_SIDE)
    columns, rows = cell_size(image, MAX_COLUMNS, MAX_ROWS)
    before = image.to_pil()
    now = {mode: prepare_drawing(mode, image, MAX_COLUMNS, True) for mode in ("kitty", "sixel")}
    console = Console(file=io.StringIO(), width=200, height=60, color_system="truecolor")
    options = console.options.update(width=columns, height=rows)
    out: dict[str, float] = {"columns": columns, "rows": rows}
    real_stdout = sys.__stdout__
    sys.__stdout__ = io.StringIO()  # type: ignore[misc]
    try:
        for mode, renderable in (("kitty", TGPRenderable), ("sixel", SixelRenderable)):
            for when, pil in (("before", before), ("now", now[mode])):
                times = []
                for _ in range(reps):
                    drawn = renderable(pil, width=columns, height=rows)
                    start = time.perf_counter()
                    list(console.render(drawn, options))
                    times.append(time.perf_counter() - start)
                out[f"{mode}_{when}_ms"] = statistics.median(times) * 1000
    finally:
        sys.__stdout__ = real_stdout  # type: ignore[misc]
    return out


async def sheet_scroll(n: int = 1000) -> dict[str, float]:
    from textual.app import App

    from mjdash.media.thumbs import ThumbCache
    from mjdash.model.secret import Secret
    from mjdash.model.task import Status, parse_task
    from mjdash.net.client import MidjourneyClient
    from mjdash.sim.engine import ManualClock
    from mjdash.sim.server import SimServer
    from mjdash.ui.contact_sheet import ContactSheet

    clock = ManualClock()
    work = Path(tempfile.mkdtemp(prefix="mjdash-bench-sheet-"))
    with SimServer(clock=clock, seed=3) as sim:
        sim.engine.image_size, sim.engine.image_format = 512, "mixed"
        ids = sim.engine.seed_tasks(int(n * 1.6))
        clock.advance(40 * 24 * 3600)  # everything has ended
        tasks = {}
        for task_id in ids:
            task = parse_task(sim.engine.task_json(task_id, base_url=sim.url))
            if task.status is Status.SUCCESS and len(tasks) < n:
                tasks[task.id] = task
        figures: dict[str, float] = {"tiles": len(tasks)}
        for run in ("network", "disk"):
            async with MidjourneyClient(sim.url, Secret("k"), timeout=30.0) as client:
                sheet = ContactSheet(
                    list(tasks), tasks, client=client, thumbs=ThumbCache(work / "thumbs")
                )

                class Host(App):
                    def __init__(self, sheet: ContactSheet) -> None:
                        super().__init__()
                        self.sheet = sheet

                    def on_mount(self) -> None:
                        # As MjdashApp does once started: what startup made is frozen out of
                        # the collector's scans; what the sheet keeps is what a pass scans.
                        gc.freeze()
                        self.push_screen(self.sheet)

                app = Host(sheet)
                console = app.console
                async with app.run_test(size=(130, 40)) as pilot:
                    await pilot.pause(0.2)
                    grid = sheet.grid
                    compositor = app.screen._compositor
                    render_update = compositor.render_update
                    drawn: list[float] = []

                    def timed(
                        *args: Any, _render=render_update, _drawn=drawn, _console=console, **kw
                    ):
                        start = time.perf_counter()
                        update = _render(*args, **kw)
                        if update is not None:
                            update.render_segments(_console)
                        _drawn.append(time.perf_counter() - start)
                        return update

                    compositor.render_update = timed
                    pauses: list[float] = []
                    watch = _collector_pauses(pauses)
                    gc.callbacks.append(watch)
                    rows = max(1, grid.size.height // grid.tile_height)
                    frames: list[float] = []
                    started = time.perf_counter()
                    while grid.selected < len(grid.ids) - 1:
                        drawn.clear()
                        grid.move(0, rows)
                        await pilot.pause()
                        frames.append(drawn[0] if drawn else 0.0)  # the frame of the page
                        await _loaded(grid, pilot)
                    took = time.perf_counter() - started
                    gc.callbacks.remove(watch)
                    compositor.render_update = render_update
                    figures[f"{run}_gc_max_ms"] = max(pauses, default=0.0) * 1000
                    frames = frames[1:]  # the first page is the sheet's opening, not a scroll
                    figures[f"{run}_frame_median_ms"] = statistics.median(frames) * 1000
                    figures[f"{run}_frame_max_ms"] = max(frames) * 1000
                    figures[f"{run}_decoded"] = grid.decoded
                    figures[f"{run}_per_s"] = grid.decoded / took
                    figures[f"{run}_fetched"] = grid.fetched
                    figures[f"{run}_kept_tiles"] = grid.kept_tiles
                gc.unfreeze()
    return figures


def _collector_pauses(pauses: list[float]):
    """A gc callback recording how long each full (generation 2) collection took."""
    started = [0.0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - started[0])

    return watch


async def _loaded(grid, pilot, timeout: float = 20.0) -> None:
    """Wait until the tiles on screen have their thumbnails (or a reason)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if grid.selected not in grid.visible_indexes():  # the page's scroll is not made yet
            await pilot.pause(0.01)
            continue
        pending = [
            i
            for i in grid.visible_indexes()
            if grid.ids[i] not in grid.images and grid.ids[i] not in grid.problems
        ]
        if not pending:
            return
        await pilot.pause(0.01)


def run_images() -> dict[str, Any]:
    out: dict[str, Any] = {"decode": decode_figures()}
    out.update(asyncio.run(frame_gaps()))
    out["graphics"] = graphics_first_draw()
    out["sheet"] = asyncio.run(sheet_scroll())
    out["threads"] = threading.active_count()
    return out


def images_table(images: dict[str, Any]) -> str:
    def ms(value: float | None) -> str:
        return "—" if value is None else f"{value:.0f} ms"

    lines = ["", "Images (2048x2048 to preview size; targets: ready <= 150 ms, gap <= 50 ms)"]
    for fmt, figure in images["decode"].items():
        ok = "ok" if figure["new_ms"] <= TARGET_READY_MS else "OVER"
        old = ms(figure["old_ms"]) if figure["old_ms"] is not None else "not supported"
        lines.append(
            f"  {fmt:<5} {figure['bytes'] / 1e6:5.1f} MB  Pillow {ms(figure['new_ms']):>7} "
            f"({ok})   old pure-Python decoder {old}"
        )
    gap_ok = "ok" if images["gap_new_ms"] <= TARGET_GAP_MS else "OVER"
    per_format = ", ".join(f"{fmt} {ms(images[f'gap_{fmt}_ms'])}" for fmt in FORMATS)
    lines.append(
        f"  longest frame gap during a decode: Pillow {ms(images['gap_new_ms'])} ({gap_ok}; "
        f"{per_format}); old decoder {ms(images['gap_old_ms'])}; "
        f"nothing decoding {ms(images['gap_idle_ms'])}"
    )
    graphics = images.get("graphics")
    if graphics:
        lines.append(
            f"  first draw on the UI thread, {graphics['columns']:.0f}x{graphics['rows']:.0f} "
            f"cells: Kitty {ms(graphics['kitty_before_ms'])} -> {ms(graphics['kitty_now_ms'])}, "
            f"Sixel {ms(graphics['sixel_before_ms'])} -> {ms(graphics['sixel_now_ms'])} "
            "(768 px image -> prepared in the worker)"
        )
    sheet = images["sheet"]
    for run in ("network", "disk"):
        lines.append(
            f"  contact sheet, {sheet['tiles']:.0f} tasks, paging top to bottom ({run}): frame "
            f"median {sheet[f'{run}_frame_median_ms']:.1f} ms, max "
            f"{sheet[f'{run}_frame_max_ms']:.1f} ms; {sheet[f'{run}_decoded']:.0f} thumbnails, "
            f"{sheet[f'{run}_per_s']:.0f}/s decoded ({sheet[f'{run}_fetched']:.0f} downloaded); "
            f"longest full collection {sheet[f'{run}_gc_max_ms']:.0f} ms, "
            f"{sheet[f'{run}_kept_tiles']:.0f} tiles' rows kept"
        )
    return "\n".join(lines)
