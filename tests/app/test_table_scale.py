"""TaskTable at scale: rows are built only when seen, and a poll's cost follows the screen."""

from __future__ import annotations

import dataclasses

from mjdash.model.task import Status
from mjdash.net.poller import PollerState, PollResult
from mjdash.sim.engine import ManualClock
from mjdash.ui.app import tick_left_to_poll
from mjdash.ui.cells import status_text
from mjdash.ui.messages import TasksPolled
from tests.support.harness import make_app

SIZE = (130, 24)


def everything_changed(app, step: int) -> PollResult:
    tasks = {
        i: dataclasses.replace(t, status=Status.IN_PROGRESS, progress=step)
        for i, t in app.tasks.items()
    }
    return PollResult(
        tasks=tasks,
        not_found=set(),
        bad={},
        state=PollerState.OK,
        error=None,
        retry_at=None,
        next_delay=5.0,
        requests=0,
        polled_ids=len(tasks),
    )


async def test_a_poll_changing_every_row_builds_only_the_rows_on_screen(sim_factory, tmp_path):
    sim = sim_factory(tasks=400, clock=ManualClock())
    ids = sim.seeded_ids
    app = make_app(sim, tmp_path, ids, auto_poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.poll(force=True).wait()
        await pilot.pause()
        built: list[str] = []
        row_cells = app.row_cells

        def counting(row, now):
            built.append(row.id)
            return row_cells(row, now)

        app.row_cells = counting
        app.post_message(TasksPolled(everything_changed(app, 42)))
        await pilot.pause()
        order = app.row_ids()  # display order (children under their parents)
        assert sorted(order) == sorted(ids)
        assert 0 < len(built) <= SIZE[1]  # 400 rows changed, one screenful was built
        assert set(built) <= set(order[: SIZE[1]])

        # Scrolled into view, a changed row shows its new state.
        await pilot.press("G")
        await pilot.pause()
        last = order[-1]
        assert last in built
        assert app.table.get_cell(last, "progress").plain.endswith("42%")
        assert app.table.get_cell(last, "status") == status_text(app.tasks[last])
        # Rows never seen are still right when read.
        middle = order[200]
        assert middle not in built
        assert app.table.get_cell(middle, "progress").plain.endswith("42%")

        # The same answer again: nothing changed, nothing is built or written.
        built.clear()
        written = []
        update_cell = app.table.update_cell
        app.table.update_cell = lambda *a, **k: (written.append(a[:2]), update_cell(*a, **k))
        app.post_message(TasksPolled(everything_changed(app, 42)))
        await pilot.pause()
        assert built == [] and written == []


async def test_startup_with_cached_tasks_builds_one_screenful(sim_factory, tmp_path):
    sim = sim_factory(tasks=400, clock=ManualClock())
    ids = sim.seeded_ids
    first = make_app(sim, tmp_path, ids, auto_poll=False)
    async with first.run_test(size=SIZE) as pilot:
        await first.poll(force=True).wait()
        await pilot.pause()
    requests = sim.stats()["total"]
    again = make_app(sim, tmp_path, auto_poll=False)
    built: list[str] = []
    row_cells = again.row_cells
    again.row_cells = lambda row, now: (built.append(row.id), row_cells(row, now))[1]
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.table.row_count == 400
        assert len(set(built)) <= SIZE[1]
        top = again.row_ids()[0]
        assert again.table.get_cell(top, "status") == status_text(again.tasks[top])
        assert len(again.tasks) == 400  # every cached task is known, without a request
    assert sim.stats()["total"] == requests


async def test_the_fast_row_and_cell_renders_draw_what_datatable_draws(sim_factory, tmp_path):
    """TaskTable._render_line_in_row is DataTable's with per-pass values hoisted, and
    _render_cell DataTable's with a cache by look: for the header, the cursor row, the hovered
    row and plain rows they must give the very same segments."""
    from textual.coordinate import Coordinate
    from textual.widgets import DataTable

    sim = sim_factory(tasks=30, clock=ManualClock())
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.poll(force=True).wait()
        await pilot.pause()
        table = app.table
        table.move_cursor(row=3)
        await pilot.pause()
        style = table.rich_style
        # What render_lines sets up for a pass.
        table._pseudo_class_state = table.get_pseudo_class_state()
        table._pass_style = style
        table._pass_header_style = table.get_component_styles("datatable--header").rich_style
        table._pass_widths = tuple(c.get_render_width(table) for c in table.ordered_columns)
        keys = [
            table._header_row_key,
            *(table.coordinate_to_cell_key((i, 0)).row_key for i in range(8)),
        ]
        compared = 0
        for hover in (Coordinate(0, 0), Coordinate(5, 2)):
            for key in keys:
                table._row_render_cache.clear()
                fast = table._render_line_in_row(key, 0, style, table.cursor_coordinate, hover)
                table._row_render_cache.clear()
                slow = DataTable._render_line_in_row(
                    table, key, 0, style, table.cursor_coordinate, hover
                )
                assert fast == slow, key
                compared += 1
        assert compared == 18
        table._pass_style = None
        # TaskTable._render_cell reuses the render of a cell that looked the same on another
        # row and adds this cell's row/column meta: the same segments, first render or reused.
        widths = [c.get_render_width(table) for c in table.ordered_columns]
        compared = reused = 0
        for _round in range(2):  # the second round finds every look in the look cache
            for row in range(8):
                for column, width in enumerate(widths):
                    for cursor, hover in ((False, False), (True, False), (False, True)):
                        looks = len(table._looks)
                        table._cell_render_cache.clear()
                        fast = table._render_cell(row, column, style, width, cursor, hover)
                        reused += len(table._looks) == looks
                        table._cell_render_cache.clear()
                        slow = DataTable._render_cell(
                            table, row, column, style, width, cursor, hover
                        )
                        assert fast == slow, (row, column, cursor, hover)
                        compared += 1
        assert compared == 2 * 8 * len(widths) * 3
        assert reused >= compared // 2  # the whole second round, and repeats in the first


async def test_a_changed_cell_repaints_the_region_datatable_would(sim_factory, tmp_path):
    """TaskTable._refresh_cell works out a cell's region from one-line rows instead of adding
    up every row above it: the same region as DataTable.refresh_coordinate's, scrolled or not,
    and nothing for a cell out of view (DataTable repaints the header for the row just above
    the first one shown)."""
    from textual.coordinate import Coordinate
    from textual.widgets import DataTable

    sim = sim_factory(tasks=60, clock=ManualClock())
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await app.poll(force=True).wait()
        await pilot.pause()
        table = app.table
        regions: list[object] = []
        table.refresh = lambda *r, **kw: regions.extend(r) or table  # type: ignore[method-assign]
        compared = 0
        for scroll in (0, 20):
            table.scroll_to(y=scroll, animate=False, immediate=True)
            await pilot.pause()
            assert int(table.scroll_y) == scroll
            for row in (0, 5, 19, 25, 45, 59):
                for column in range(len(table.columns)):
                    regions.clear()
                    table._refresh_cell(row, column)
                    ours = list(regions)
                    regions.clear()
                    DataTable.refresh_coordinate(table, Coordinate(row, column))
                    # DataTable also repaints the header line for the row scrolled under it.
                    theirs = [r for r in regions if r.y >= table.header_height]
                    assert ours == theirs, (scroll, row, column)
                    compared += bool(ours)
        assert compared > 20  # some were on screen, some were not


def test_a_tick_next_to_a_poll_is_left_to_it():
    """A tick just before a due poll, or during a poll that just started, is left to the poll;
    a slow poll does not hold the clocks back."""
    now = 1000.0
    assert tick_left_to_poll(now, poll_due=now + 0.1, poll_started=None)  # a poll about to start
    assert not tick_left_to_poll(now, poll_due=now + 5.0, poll_started=None)  # a poll far off
    assert tick_left_to_poll(now, poll_due=None, poll_started=now - 0.1)  # one just started
    assert not tick_left_to_poll(now, poll_due=None, poll_started=now - 5.0)  # a slow poll
    assert not tick_left_to_poll(now, poll_due=None, poll_started=None)


async def test_a_poll_answer_is_drawn_with_the_tick(sim_factory, tmp_path):
    """The poll's frame carries the tick (the clocks of the rows it did not change)."""
    sim = sim_factory(tasks=5, clock=ManualClock())
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        ticks: list[int] = []
        tick = app.tick
        app.tick = lambda: (ticks.append(1), tick())
        app.post_message(TasksPolled(everything_changed(app, 7)))
        await pilot.pause()
        assert ticks == [1]  # the poll's answer ticks in the same frame
