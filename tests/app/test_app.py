"""The dashboard driven by Pilot against the simulator over real loopback HTTP."""

from __future__ import annotations

import asyncio

import pytest
from textual.pilot import Pilot

from mjdash.model.task import Status
from mjdash.sim.engine import ManualClock
from mjdash.store.watchlist import Watchlist
from mjdash.ui.app import MjdashApp
from mjdash.ui.messages import TasksFinished, TasksPolled
from mjdash.ui.screens import AddScreen, ConfirmScreen, PasteArea
from tests.support.harness import make_app

WIDE = (130, 36)


async def poll(app: MjdashApp, pilot: Pilot) -> None:
    """One forced poll, applied to the screen."""
    worker = app.poll(force=True)
    assert worker is not None, "a poll was already running"
    await worker.wait()
    await pilot.pause()


def imagine(sim, prompt: str) -> str:
    answer = sim.engine.imagine(prompt)
    assert answer["code"] == 1
    return answer["result"]


def cell(app: MjdashApp, task_id: str, column: str) -> str:
    return app.table.get_cell(task_id, column).plain


async def test_rows_appear_and_update_across_polls(sim_factory, tmp_path):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0)
    ids = [imagine(sim, f"a lighthouse, take {n}") for n in range(3)]
    app = make_app(sim, tmp_path, ids, auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        assert app.table.row_count == 3
        await poll(app, pilot)
        assert {app.tasks[i].status for i in ids} <= {Status.PENDING, Status.NOT_START}
        clock.advance(20)
        await poll(app, pilot)
        running = {i for i in ids if app.tasks[i].status is Status.IN_PROGRESS}
        assert running, [app.tasks[i].status for i in ids]
        for task_id in running:
            assert "IN_PROGRESS" in cell(app, task_id, "status")
            assert "%" in cell(app, task_id, "progress")
        clock.advance(600)
        await poll(app, pilot)
        for task_id in ids:
            assert app.tasks[task_id].status is Status.SUCCESS
            assert cell(app, task_id, "status") == "✔ SUCCESS"
            assert cell(app, task_id, "progress").endswith("100%")


async def test_a_poll_writes_only_the_cells_that_changed(sim_factory, tmp_path):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0)
    ids = [imagine(sim, f"koi {n}") for n in range(5)]
    app = make_app(sim, tmp_path, ids, auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        written = []
        original = app.table.update_cell

        def counting(*args, **kwargs):
            written.append(args[:2])
            return original(*args, **kwargs)

        app.table.update_cell = counting
        await poll(app, pilot)  # nothing moved on the server's clock
        assert written == []
        clock.advance(600)
        await poll(app, pilot)
        assert written, "finished tasks must update their cells"
        assert {column for _, column in written} <= {"status", "progress", "elapsed"}


async def test_cursor_stays_on_its_task_when_rows_move(sim, tmp_path):
    ids = [imagine(sim, f"desert caravan {n}") for n in range(4)]
    app = make_app(sim, tmp_path, ids, auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await pilot.press("j", "j")
        assert app.selected_id == ids[2]
        # A child of the first task is placed right under it: every later row moves down.
        child = imagine(sim, "child")
        app.add_ids([child], parent=ids[0])
        await pilot.pause()
        assert app.table.get_row_index(child) == 1
        assert app.selected_id == ids[2]
        await poll(app, pilot)
        assert app.selected_id == ids[2]


async def test_add_pasted_text_with_three_ids_then_remove(sim_factory, tmp_path):
    sim = sim_factory(clock=ManualClock(), speed=1.0)  # the tasks stay unfinished
    ids = [imagine(sim, f"neon koi {n}") for n in range(3)]
    pasted = (
        f'{{"code":1,"description":"Submit success","result":"{ids[0]}"}}\n'
        f"https://api.cometapi.com/mj/image/{ids[1]}?rand=1773314975123456789\n"
        f"2026-11-29 10:00:01 INFO task {ids[2]} submitted\n"
    )
    app = make_app(sim, tmp_path, auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("a")
        assert isinstance(app.screen, AddScreen)
        app.screen.query_one(PasteArea).load_text(pasted)
        await pilot.pause()
        assert app.screen.found_ids == ids
        assert "3 task ids found" in str(app.screen.query_one("#found").render())
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, AddScreen)
        assert app.watchlist.ids == ids
        assert app.table.row_count == 3
        await poll(app, pilot)

        # An unfinished task asks before it goes; "n" keeps it.
        app.table.select(ids[1])
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert ids[1] in app.watchlist
        await pilot.press("d")
        await pilot.press("y")
        await pilot.pause()
        assert app.watchlist.ids == [ids[0], ids[2]]
        assert ids[1] not in app.table.rows


async def test_detail_shows_buttons_and_copy_takes_the_highlighted_custom_id(sim, tmp_path):
    grid = sim.engine.seed_demo()[0]
    app = make_app(sim, tmp_path, [grid], auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        task = app.tasks[grid]
        assert task.status is Status.SUCCESS and len(task.buttons) == 9
        buttons = app.buttons
        assert [b.name for b in buttons.buttons][:4] == ["U1", "U2", "U3", "U4"]
        rendered = "\n".join(
            str(buttons.get_option_at_index(i).prompt) for i in range(buttons.option_count)
        )
        assert "MJ::JOB::upsample::1::" in rendered and "MJ::JOB::variation::4::" in rendered
        await pilot.press("enter")  # from the table: focus the buttons
        assert app.focused is buttons
        await pilot.press("down")
        await pilot.press("c")
        assert app.clipboard == task.buttons[1].custom_id
        assert app.clipboard.startswith("MJ::JOB::upsample::2::")
        await pilot.press("y")
        assert app.clipboard == grid


async def test_pause_stops_requests_and_resume_starts_them(sim_factory, tmp_path):
    sim = sim_factory(clock=ManualClock(), speed=1.0)  # the tasks stay unfinished
    ids = [imagine(sim, f"paper boat {n}") for n in range(3)]
    app = make_app(sim, tmp_path, ids, interval=0.5)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause(0.8)
        assert sim.stats()["routes"]["list"] >= 1
        await pilot.press("p")
        await pilot.pause(0.3)  # a poll in flight may still land
        before = sim.stats()["total"]
        await asyncio.sleep(1.6)
        await pilot.pause()
        assert sim.stats()["total"] == before
        assert "paused" in app.query_one("#status-line").render().plain
        await pilot.press("p")
        await asyncio.sleep(0.8)
        await pilot.pause()
        assert sim.stats()["total"] > before


async def test_narrow_pane_drops_columns_and_stacks_the_detail(sim, tmp_path):
    ids = [imagine(sim, f"isometric city {n}") for n in range(12)]
    app = make_app(sim, tmp_path, ids, auto_poll=False)
    async with app.run_test(size=(60, 20)) as pilot:
        await poll(app, pilot)
        assert app.table.column_keys == ["id", "status", "progress", "elapsed"]
        assert not app.query_one("#main").has_class("-wide")
        assert app.table.region.width == 60
        assert app.detail.region.y > app.table.region.y
        assert app.table.region.height >= 5
        await pilot.resize_terminal(160, 40)  # the detail goes beside from 155 columns
        await pilot.pause()
        assert "prompt" in app.table.column_keys
        assert app.query_one("#main").has_class("-wide")
        assert app.detail.region.x > app.table.region.x


async def test_watchlist_file_holds_the_ids_after_quitting(sim, tmp_path):
    ids = [imagine(sim, f"portrait {n}") for n in range(2)]
    app = make_app(sim, tmp_path, auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        app.add_ids(ids)
        await pilot.press("q")
    assert Watchlist.load(tmp_path / "watchlist.toml").ids == ids


async def test_restart_shows_cached_tasks_before_any_poll(sim, tmp_path):
    grid = sim.engine.seed_demo()[0]
    app = make_app(sim, tmp_path, [grid], auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await pilot.press("q")
    requests = sim.stats()["total"]
    again = make_app(sim, tmp_path, auto_poll=False)
    async with again.run_test(size=WIDE):
        assert cell(again, grid, "status") == "✔ SUCCESS"
        assert len(again.buttons.buttons) == 9
    assert sim.stats()["total"] == requests


async def test_the_dashboard_keeps_not_found_answers_in_the_cache_for_status_cached(sim, tmp_path):
    from mjdash.store import cached_status

    known = imagine(sim, "a harbour at dawn")
    unknown = "1773314942177999"  # the simulator never made it
    app = make_app(sim, tmp_path, [known, unknown], auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        assert unknown in app.not_found
        await pilot.press("q")  # the cache writer's queue is written on the way out
    tasks, not_found = cached_status.cached_answers(tmp_path / "cache.sqlite3", [known, unknown])
    assert not_found == {unknown} and set(tasks) == {known}


async def test_finished_tasks_are_announced_once_per_poll(sim_factory, tmp_path):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0)
    good = [imagine(sim, f"lantern {n}") for n in range(2)]
    bad = imagine(sim, "broken --fail")
    seen = []
    app = make_app(sim, tmp_path, [*good, bad], auto_poll=False)
    async with app.run_test(size=WIDE, message_hook=seen.append) as pilot:
        await poll(app, pilot)
        clock.advance(900)
        await poll(app, pilot)
        await poll(app, pilot)
    digests = [m for m in seen if isinstance(m, TasksFinished)]
    assert len(digests) == 1
    assert sorted(digests[0].done) == sorted(good)
    assert digests[0].failed == [bad]
    assert sum(isinstance(m, TasksPolled) for m in seen) == 3


@pytest.mark.parametrize("size", [(60, 20), WIDE])
async def test_help_lists_every_key(sim, tmp_path, size):
    app = make_app(sim, tmp_path, auto_poll=False)
    async with app.run_test(size=size) as pilot:
        await pilot.press("question_mark")
        text = str(app.screen.query_one("Static").render())
        for words in ("quit", "add task ids", "stop watching", "copy the button's customId"):
            assert words in text
        for key in ("g ", "G ", "Home End", "Esc", "Y "):
            assert f"\n{key}" in text, key
        await pilot.press("escape")
        assert app.screen is app.screen_stack[0] and app.is_running


async def test_an_exception_in_on_mount_leaves_the_garbage_collector_on(sim, tmp_path):
    """on_load turns the collector off for startup; a failure while mounting turns it back on."""
    import gc

    app = make_app(sim, tmp_path, [imagine(sim, "a kite")], auto_poll=False)

    def broken() -> None:
        raise RuntimeError("startup failed")

    app.batch.start = broken  # the board's clocks fail to load
    assert gc.isenabled()
    thresholds = gc.get_threshold()
    with pytest.raises(Exception, match="startup failed"):
        async with app.run_test(size=WIDE) as pilot:
            await pilot.pause()
    assert gc.isenabled()
    assert gc.get_threshold() == thresholds  # the app's own young-generation size is undone


async def test_the_app_sizes_the_young_generation_while_it_runs_and_puts_it_back(sim, tmp_path):
    """A poll makes tens of thousands of short-lived objects: fewer collector passes while the
    app runs (mjdash/ui/app.py GC_YOUNG_THRESHOLD); the process's own setting afterwards."""
    import gc

    from mjdash.ui.app import GC_YOUNG_THRESHOLD

    thresholds = gc.get_threshold()
    app = make_app(sim, tmp_path, [imagine(sim, "a kite")], auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == thresholds[1:]
    assert gc.get_threshold() == thresholds
