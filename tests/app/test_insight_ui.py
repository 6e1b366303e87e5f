"""The batch at a glance in the dashboard: summary and ETA, stalls, digests, filter and sort,
downloads, export and the image preview (mjdash/ui/batch.py and friends), against the
simulator on a manual clock shared by the server and the app."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

from mjdash.media.images import decode_png
from mjdash.model import notify
from mjdash.model.task import Status
from mjdash.sim import png
from mjdash.sim.engine import ManualClock
from mjdash.store.config import NotifyConfig
from mjdash.store.journal import Journal
from mjdash.store.watchlist import Watchlist
from mjdash.ui.cells import format_duration
from mjdash.ui.messages import TasksFinished
from mjdash.ui.preview import ImagePreview
from mjdash.ui.screens import AddScreen, PasteArea
from tests.app.test_app import cell, imagine, poll
from tests.support.harness import make_app

WIDE = (130, 36)


def clocked(clock: ManualClock):
    return lambda: datetime.fromtimestamp(clock(), UTC)


def demo(sim_factory):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0, demo=True)
    return clock, sim


def by_prompt(app, words: str) -> str:
    return next(i for i, t in app.tasks.items() if words in t.prompt and t.action == "IMAGINE")


def notes_of(app) -> list[str]:
    notes: list[str] = []
    original = app.notify

    def record(message, *args, **kwargs):
        notes.append(str(message))
        return original(message, *args, **kwargs)

    app.notify = record
    return notes


# --- summary and ETA ---------------------------------------------------------------------------


async def test_summary_line_counts_the_batch_and_counts_the_eta_down(sim_factory, tmp_path):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0)
    ids = [imagine(sim, f"lighthouse {n}") for n in range(3)]
    clock.advance(120)
    ids += [imagine(sim, f"koi {n}") for n in range(2)]
    clock.advance(12)
    ids += [imagine(sim, "caravan")]
    app = make_app(sim, tmp_path, ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        summary = app.batch.summary
        assert (summary.total, summary.done, summary.running, summary.queued) == (6, 3, 2, 1)
        renders = sorted(app.tasks[i].render_time.total_seconds() for i in ids[:3])
        assert summary.median_render == renders[1]
        line = app.batch.summary_line.plain
        assert "3/6 done" in line and "◑2 running" in line and "◔1 queued" in line
        assert f"render ~{format_duration(timedelta(seconds=renders[1]))}" in line
        eta = summary.eta(clock())
        assert eta and f"ETA {format_duration(timedelta(seconds=eta))}" in line
        clock.advance(5)  # no poll: the tick only counts down
        app.tick()
        assert f"ETA {format_duration(timedelta(seconds=eta - 5))}" in app.batch.summary_line.plain
        # A finished task's "(N minutes ago)" moves with the tick too.
        app.table.select(ids[0])
        await pilot.pause()
        assert "(2 minutes ago)" in app.detail.info_text.plain
        clock.advance(120)
        app.tick()
        assert "(4 minutes ago)" in app.detail.info_text.plain
        assert app.batch.summary is summary
        clock.advance(600)
        await poll(app, pilot)
        assert "6/6 done" in app.batch.summary_line.plain
        assert "✔ batch complete" in app.batch.summary_line.plain


# --- stalls and the journal --------------------------------------------------------------------


async def test_stalled_task_is_flagged_explained_announced_and_remembered(sim_factory, tmp_path):
    clock, sim = demo(sim_factory)
    seen: list = []
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=WIDE, message_hook=seen.append) as pilot:
        await poll(app, pilot)
        fisherman = by_prompt(app, "old fisherman")
        assert app.tasks[fisherman].progress == 93
        assert cell(app, fisherman, "status") == "◑ IN_PROGRESS"
        changed_at = app.batch.last_change(fisherman)
        clock.advance(9 * 60)
        await poll(app, pilot)
        assert not app.batch.stalls.is_stalled(fisherman)
        clock.advance(2 * 60)  # eleven minutes at 93%
        await poll(app, pilot)
        assert app.batch.stalls.is_stalled(fisherman)
        assert cell(app, fisherman, "status") == "⚠ stalled 11m"
        assert "⚠1 stalled" in app.batch.summary_line.plain
        app.table.select(fisherman)
        await pilot.pause()
        # Long values wrap under themselves: read them back as one line.
        detail = " ".join(line.strip() for line in app.detail.info_text.plain.splitlines())
        assert "Stalled" in detail and "no progress for 11 min" in detail
        assert "submit its prompt again" in detail
        clock.advance(60)
        app.tick()  # the visible stall clock moves with the tick
        assert cell(app, fisherman, "status") == "⚠ stalled 12m"
        await pilot.press("q")
    digests = [m for m in seen if isinstance(m, TasksFinished) and m.stalled]
    assert len(digests) == 1 and digests[0].stalled == [fisherman]
    lines = [json.loads(line) for line in Journal().path.read_text().splitlines()]
    first = next(line for line in lines if line["id"] == fisherman)
    assert (first["from"], first["to"], first["progress"]) == (None, "IN_PROGRESS", 93)

    # A restart: the stall clock comes back from the journal, before any request.
    requests = sim.stats()["total"]
    again = make_app(sim, tmp_path, auto_poll=False, now=clocked(clock))
    async with again.run_test(size=WIDE):
        assert again.batch.last_change(fisherman) == changed_at
        assert again.batch.stalls.is_stalled(fisherman)
        assert cell(again, fisherman, "status") == "⚠ stalled 12m"
    assert sim.stats()["total"] == requests


# --- notifications -----------------------------------------------------------------------------


async def test_one_digest_per_poll_and_one_batch_complete(sim_factory, tmp_path, monkeypatch):
    monkeypatch.setattr(notify, "notify_send_path", lambda: None)  # desktop goes by OSC 777
    monkeypatch.delenv("TERM_PROGRAM", raising=False)
    monkeypatch.delenv("TMUX", raising=False)
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0)
    good = [imagine(sim, f"lantern {n}") for n in range(2)]
    bad = imagine(sim, "broken --fail")
    channels = NotifyConfig(bell=("failed",), toast=notify.EVENTS, desktop=("batch_complete",))
    app = make_app(
        sim, tmp_path, [*good, bad], auto_poll=False, now=clocked(clock), bell=True, notify=channels
    )
    seen: list = []
    bells: list[int] = []
    async with app.run_test(size=WIDE, message_hook=seen.append) as pilot:
        notes = notes_of(app)
        app.bell = lambda: bells.append(1)
        await poll(app, pilot)
        assert notes == [] and bells == []
        clock.advance(900)
        await poll(app, pilot)
        await poll(app, pilot)
        await pilot.pause()
    digests = [m for m in seen if isinstance(m, TasksFinished)]
    assert len(digests) == 1
    assert sorted(digests[0].done) == sorted(good) and digests[0].failed == [bad]
    assert digests[0].complete and digests[0].total == 3 and digests[0].failed_total == 1
    assert len(notes) == 1
    assert notes[0].startswith("2 done, 1 failed: ")
    assert notes[0].endswith("\nBatch complete: 3 tasks, 1 failed")
    assert bells == [1]
    assert app.batch.sent_osc == [
        "\x1b]777;notify;mjdash: Tasks;Batch complete: 3 tasks, 1 failed\x1b\\"
    ]


async def test_each_event_is_switched_per_channel(sim_factory, tmp_path):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0)
    ids = [imagine(sim, f"bonsai {n}") for n in range(2)]
    channels = NotifyConfig(bell=(), toast=("failed",), desktop=())
    app = make_app(sim, tmp_path, ids, auto_poll=False, now=clocked(clock), notify=channels)
    bells: list[int] = []
    async with app.run_test(size=WIDE) as pilot:
        notes = notes_of(app)
        app.bell = lambda: bells.append(1)
        await poll(app, pilot)
        clock.advance(900)
        await poll(app, pilot)  # two done, batch complete: none of them is switched on
        await pilot.pause()
    assert notes == [] and bells == [] and app.batch.sent_osc == []


def test_osc_strings_are_inert_and_wrapped_for_tmux():
    sequence = notify.osc_sequence("t;i\x1bt\x07le", "body;\nnext", env={})
    assert sequence == "\x1b]777;notify;t i t le;body  next\x1b\\"
    assert notify.osc_sequence("a", "b", env={"TERM_PROGRAM": "iTerm.app"}) == "\x1b]9;a: b\x07"
    wrapped = notify.osc_sequence("a", "b", env={"TMUX": "/tmp/tmux-0/default,1,0"})
    assert wrapped == "\x1bPtmux;\x1b\x1b]777;notify;a;b\x1b\x1b\\\x1b\\"


# --- filter and sort ---------------------------------------------------------------------------


async def test_filters_and_sorts_keep_the_cursor_on_its_task(sim_factory, tmp_path):
    clock, sim = demo(sim_factory)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        total = app.table.row_count
        library = by_prompt(app, "cozy library")
        assert app.tasks[library].status is Status.IN_PROGRESS
        app.table.select(library)
        await pilot.press("slash", "l", "i", "b", "r")  # typed at once: all land in the filter
        await pilot.pause(0.3)
        assert app.batch.view.text == "libr" and app.table.row_count == 1
        assert app.selected_id == library
        assert "filter 'libr'" in app.batch.summary_line.plain
        await pilot.press("enter")
        assert app.focused is app.table
        await pilot.press("slash", "escape")  # Esc clears
        await pilot.pause()
        assert app.batch.view.text == "" and app.table.row_count == total
        assert app.selected_id == library
        order = []
        for _ in range(4):  # status, progress, elapsed, submitted
            await pilot.press("s")
            assert app.selected_id == library, app.batch.view.sort
            order.append([row.id for row in app.rows])
        assert len({tuple(o) for o in order}) == 4  # each sort is a different order
        status_order = [app.tasks[i].status for i in order[0] if i in app.tasks]
        assert status_order[0] is Status.MODAL and status_order[-1] is Status.SUCCESS
        await pilot.press("f")  # hide finished
        assert app.batch.view.show == "unfinished" and app.selected_id == library
        assert all(not app.tasks[row.id].is_terminal for row in app.rows)
        await pilot.press("f")  # only failed: the library is not among them
        assert {app.tasks[row.id].status for row in app.rows} == {Status.FAILURE}
        await pilot.press("q")
    saved = Watchlist.load(tmp_path / "watchlist.toml").view
    assert saved == {"filter": "", "show": "failed", "sort": "submitted"}
    again = make_app(sim, tmp_path, auto_poll=False, now=clocked(clock))
    async with again.run_test(size=WIDE):
        assert again.batch.view.show == "failed" and again.batch.view.sort == "submitted"
        assert again.table.row_count == 2


async def test_a_slash_typed_in_a_text_field_stays_a_slash(sim, tmp_path):
    app = make_app(sim, tmp_path, auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("a")
        assert isinstance(app.screen, AddScreen)
        await pilot.press("h", "slash", "x")
        assert app.screen.query_one(PasteArea).text == "h/x"
        assert not app.batch.filter_bar.display


# --- downloads and export ----------------------------------------------------------------------


async def test_d_downloads_png_files_and_e_exports_the_view(sim_factory, tmp_path):
    clock, sim = demo(sim_factory)
    folder = tmp_path / "downloads"
    exports = tmp_path / "exports"
    app = make_app(
        sim,
        tmp_path,
        sim.seeded_ids,
        auto_poll=False,
        now=clocked(clock),
        download_dir=str(folder),
        export_dir=str(exports),
    )
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        grid = by_prompt(app, "paper boat")
        app.table.select(grid)
        await pilot.press("D")
        await app.workers.wait_for_complete()
        # A selected grid: the grid and its four images (the server lists them).
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [f"{grid}-imagine.png", *(f"{grid}-imagine-{n}.png" for n in range(1, 5))]
        )
        image = decode_png((folder / f"{grid}-imagine.png").read_bytes())
        assert (image.width, image.height) == (128, 128)
        quadrant = decode_png((folder / f"{grid}-imagine-4.png").read_bytes())
        assert quadrant.pixel(2, 2) == image.pixel(126, 126)  # U4: the bottom-right quadrant
        # A task with no image selected: one file for each finished one in view.
        app.table.select(by_prompt(app, "cozy library"))
        await pilot.press("D")
        await app.workers.wait_for_complete()
        finished = [i for i, t in app.tasks.items() if t.status is Status.SUCCESS and t.image_url]
        stems = [p.name.split("-")[0] for p in folder.iterdir() if "-imagine-" not in p.name]
        assert sorted(stems) == sorted(finished)
        await pilot.press("E")
        # Exports go to their own private folder, not among the images.
        assert not list(folder.glob("mjdash-*"))
        assert exports.stat().st_mode & 0o777 == 0o700
        exported = next(exports.glob("mjdash-*.csv"))
        rows = list(csv.DictReader(exported.open(newline="")))
        assert [r["id"] for r in rows] == [row.id for row in app.rows]
        grid_row = next(r for r in rows if r["id"] == grid)
        assert json.loads(grid_row["buttons"])[0]["label"] == "U1"


async def test_auto_download_saves_images_as_tasks_succeed(sim_factory, tmp_path):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0)
    ids = [imagine(sim, f"lantern {n}") for n in range(2)]
    folder = tmp_path / "auto"
    app = make_app(
        sim,
        tmp_path,
        ids,
        auto_poll=False,
        now=clocked(clock),
        download_dir=str(folder),
        auto_download=True,
    )
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await app.workers.wait_for_complete()
        assert not folder.exists()
        clock.advance(900)
        await poll(app, pilot)
        await app.workers.wait_for_complete()
        # One file a task: the grid (its four images are D's, on the selected task).
        assert sorted(p.name for p in folder.iterdir()) == sorted(f"{i}-imagine.png" for i in ids)
        assert all(app.tasks[i].image_urls for i in ids)  # there were four more to save


# --- the preview -------------------------------------------------------------------------------


async def test_preview_draws_half_blocks_with_u_labels_and_v_turns_it_off(sim_factory, tmp_path):
    clock, sim = demo(sim_factory)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock), preview=True)
    # The detail beside the table: the preview's whole 16 rows (under it, at 130 columns, the
    # preview is as tall as the pane; tests/app/test_screen_layout.py checks that).
    async with app.run_test(size=(160, 40)) as pilot:
        preview = app.query_one(ImagePreview)
        preview.delay = 30  # the first row (the grid) must not be fetched while polling
        await poll(app, pilot)
        grid = by_prompt(app, "paper boat")
        running = by_prompt(app, "cozy library")
        app.table.select(running)
        await pilot.pause(0.2)
        assert not preview.display or not preview.has_class("-shown")  # nothing to draw
        # Moving across rows fetches only where the cursor settles.
        preview.delay = 0.05
        app.table.select(grid)
        app.table.select(running)
        app.table.select(grid)
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert preview.fetches == 1 and sim.stats()["routes"]["image"] == 1
        text = preview.drawn
        lines = text.plain.splitlines()
        assert len(lines) == 16 and all(len(line) == 32 for line in lines)
        assert lines[0].startswith("U1") and lines[0][16:18] == "U2"
        assert lines[8].startswith("U3") and lines[8][16:18] == "U4"
        assert set(lines[4]) == {"▀"}
        # The colours are the grid's quadrants, as the simulator drew them.
        colors = {
            tuple(span.style.bgcolor.triplet)
            for span in text.spans
            if span.style.bgcolor is not None and span.style.color.triplet is not None
        }
        assert len(colors) == 4
        image = decode_png(sim.engine.image(grid))
        assert image.pixel(10, 10) in colors
        # v: off; selecting another finished task fetches nothing.
        await pilot.press("v")
        assert not preview.has_class("-shown")
        app.table.select(by_prompt(app, "cute cat girl"))
        await pilot.pause(0.2)
        assert preview.fetches == 1
        await pilot.press("v")  # on again: the selected cat grid is fetched
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        assert preview.fetches == 2
        app.table.select(grid)  # fetched before: drawn from memory at once
        await pilot.pause()
        assert preview.has_class("-shown") and preview.current.id == grid
        assert preview.fetches == 2 and sim.stats()["routes"]["image"] == 2


def test_png_sanity_of_the_simulator_grid():
    colors = png.palette(5, 4)
    image = decode_png(png.grid_png((colors[0], colors[1], colors[2], colors[3])))
    assert image.pixel(0, 0) == colors[0]


async def test_the_tick_redraws_the_detail_clocks_as_a_full_render_would(sim_factory, tmp_path):
    """The once-a-second tick renders only the clock rows of the detail (DetailPane.
    refresh_times): what it shows must equal a whole render at that moment, for a running task,
    a stalled one and a finished one, at 160 and at 120 columns (beside, and under the table)."""
    clock, sim = demo(sim_factory)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=(160, 40)) as pilot:
        await poll(app, pilot)
        running = by_prompt(app, "old fisherman")
        finished = next(i for i, t in app.tasks.items() if t.status is Status.SUCCESS)
        for size in ((160, 40), (120, 36)):
            await pilot.resize_terminal(*size)
            for task_id, advance in ((running, 5), (running, 11 * 60), (finished, 90)):
                app.table.select(task_id)
                await pilot.pause()
                before = app.detail.info_text.plain
                clock.advance(advance)
                app.tick()
                await pilot.pause()
                shown = app.detail.info_text.plain
                assert shown != before  # the clocks did move
                app.detail.on_resize()  # renders every part again, at the tick's moment
                assert app.detail.info_text.plain == shown
        await pilot.press("q")
