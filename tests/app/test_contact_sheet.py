"""The contact sheet (mjdash/ui/contact_sheet.py) in the dashboard, against the simulator."""

from __future__ import annotations

from mjdash.model.task import Status
from mjdash.sim.engine import ManualClock
from mjdash.ui.contact_sheet import PARALLEL, ContactSheet, SheetGrid
from mjdash.ui.screens import ConfirmScreen
from tests.app.test_app import poll
from tests.app.test_insight_ui import by_prompt, clocked
from tests.support.harness import make_app

SMALL = (80, 24)


async def settle(app, pilot) -> None:
    await pilot.pause(0.05)
    await app.workers.wait_for_complete()
    await pilot.pause()


def screen_text(grid: SheetGrid) -> list[str]:
    return [grid.render_line(y).text for y in range(grid.size.height)]


async def open_sheet(app, pilot) -> tuple[ContactSheet, SheetGrid]:
    await pilot.press("V")
    await pilot.pause()
    sheet = app.screen
    assert isinstance(sheet, ContactSheet)
    await settle(app, pilot)
    return sheet, sheet.grid


async def test_the_sheet_shows_the_finished_tasks_at_80x24_and_enter_opens_one(
    sim_factory, tmp_path
):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0, demo=True)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=SMALL) as pilot:
        await poll(app, pilot)
        finished = [i for i in app.row_ids() if app.tasks[i].is_terminal]
        sheet, grid = await open_sheet(app, pilot)
        assert sheet.ids == finished and len(finished) >= 6
        assert grid.columns >= 4 and grid.tile_width >= 14
        lines = screen_text(grid)
        assert sum(line.count("▀") for line in lines) > 100  # thumbnails drawn
        assert any(finished[0][-7:] in line for line in lines)  # short ids under them
        grid_task = by_prompt(app, "paper boat")
        assert "U1" in "".join(lines) or grid_task not in finished[: grid.columns * 2]
        # Arrows and hjkl move; enter opens the selected task's detail.
        await pilot.press("right", "l")
        assert grid.selected == 2
        await pilot.press("down")  # a row down (the last tile when the row is short)
        below = min(len(finished) - 1, 2 + grid.columns)
        assert grid.selected == below
        await pilot.press("k", "h")
        assert grid.selected == max(0, below - grid.columns - 1)
        chosen = grid.selected_id
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, ContactSheet)
        assert app.selected_id == chosen


async def test_1_presses_u1_on_the_selected_grid_after_the_usual_confirm(sim_factory, tmp_path):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0, demo=True)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=(120, 36)) as pilot:
        await poll(app, pilot)
        grid_task = by_prompt(app, "paper boat")
        sheet, grid = await open_sheet(app, pilot)
        grid.select(sheet.ids.index(grid_task))
        actions_before = sim.stats()["routes"]["action"]
        await pilot.press("1")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        assert sim.stats()["routes"]["action"] == actions_before + 1
        assert isinstance(app.screen, ContactSheet)  # still on the sheet
        # An upscale has no U1: said, nothing sent.
        upscale = next(i for i in sheet.ids if app.tasks[i].action == "UPSCALE")
        grid.select(sheet.ids.index(upscale))
        await pilot.press("1")
        await pilot.pause()
        assert isinstance(app.screen, ContactSheet)
        assert sim.stats()["routes"]["action"] == actions_before + 1


async def test_n_jumps_to_the_next_task_to_triage_and_d_downloads(sim_factory, tmp_path):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0, demo=True)
    folder = tmp_path / "shots"
    app = make_app(
        sim,
        tmp_path,
        sim.seeded_ids,
        auto_poll=False,
        now=clocked(clock),
        download_dir=str(folder),
    )
    async with app.run_test(size=SMALL) as pilot:
        await poll(app, pilot)
        sheet, grid = await open_sheet(app, pilot)
        waiting = [
            i
            for i in sheet.ids
            if app.tasks[i].status is Status.SUCCESS
            and app.tasks[i].buttons
            and not app.watchlist.get(i).used
            and not app.watchlist.get(i).dismissed
        ]
        assert len(waiting) >= 2
        grid.select(sheet.ids.index(waiting[0]))
        await pilot.press("n")
        assert grid.selected_id == waiting[1]
        await pilot.press("D")
        await settle(app, pilot)
        assert [p.name.split("-")[0] for p in folder.iterdir()] == [waiting[1]]


async def test_only_thumbnails_on_screen_are_fetched_in_a_1000_task_sheet(sim_factory, tmp_path):
    sim = sim_factory(tasks=1000)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False)
    async with app.run_test(size=SMALL) as pilot:
        await poll(app, pilot)
        sheet, grid = await open_sheet(app, pilot)
        assert len(sheet.ids) > 300
        on_screen = len(grid.visible_indexes())
        assert 0 < on_screen <= 20
        assert grid.fetched <= on_screen
        # Scroll fast through 20 pages: at most PARALLEL fetches start per visit of a page.
        for _ in range(20):
            await pilot.press("pagedown")
        await settle(app, pilot)
        assert grid.fetched <= on_screen + 21 * (on_screen + PARALLEL)
        assert grid.fetched < len(sheet.ids) // 3
        assert sim.stats()["routes"]["image"] == grid.fetched
        # What is on screen now is drawn.
        assert all(
            grid.ids[i] in grid.images or grid.ids[i] in grid.problems
            for i in grid.visible_indexes()
        )


async def test_moving_while_thumbnails_load_scrolls_the_selection_into_view(sim_factory, tmp_path):
    """Keys pressed before the tiles on screen have their thumbnails move the selection and
    scroll the sheet: the set of tiles loading must not read as Textual's `loading` (a busy
    widget is treated as disabled: out of the focus chain, not scrolled; the keys did nothing
    until every thumbnail on screen had landed)."""
    sim = sim_factory(tasks=300)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False)
    async with app.run_test(size=SMALL) as pilot:
        await poll(app, pilot)
        sim.set_faults("slow=1.0")  # every image answers after 0.5-2 s: loads are in flight
        await pilot.press("V")
        await pilot.pause()
        grid = app.screen.grid
        moves = 0
        for key in ("down", "down", "pagedown", "down", "pagedown", "j", "pagedown"):
            moves += grid.loading_count > 0  # thumbnails loading as the key comes
            before = grid.selected
            await pilot.press(key)
            assert grid.selected > before, (key, before)  # the key was answered
            assert grid.selected in grid.visible_indexes(), (key, grid.selected)
        assert moves, "no key came while thumbnails were loading"
        assert not grid.loading  # Textual's own flag: never set by the sheet


async def test_a_long_sheet_keeps_the_rows_of_a_few_screens_and_draws_the_others_again(
    sim_factory, tmp_path
):
    """Tiles' segment rows are kept for a few screens only (each is ~1,700 objects the
    collector scans: all of a 1,000-task sheet made its full passes 0.4-0.7 s, frozen
    frames while scrolling); scrolled back to, a tile is drawn again from the thumbnail
    in memory, not downloaded again."""
    sim = sim_factory(tasks=300)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False)
    async with app.run_test(size=SMALL) as pilot:
        await poll(app, pilot)
        _sheet, grid = await open_sheet(app, pilot)
        grid.keep_tiles = 10
        on_screen = len(grid.visible_indexes())
        first_page = screen_text(grid)
        for _ in range(8):
            await pilot.press("pagedown")
            await settle(app, pilot)
        assert grid.decoded > 3 * on_screen  # more tiles were drawn than are kept
        assert grid.kept_tiles <= 3 * on_screen
        fetched = grid.fetched
        await pilot.press("home")
        await settle(app, pilot)
        again = screen_text(grid)
        assert sum(line.count("▀") for line in again) > 100 and "…" not in "".join(again)
        assert again == first_page
        assert grid.fetched == fetched  # from memory
