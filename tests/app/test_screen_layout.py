"""Issue 16, "The screen": the table uses the width, the detail wraps under its values, narrow
lines drop whole pieces, the summary says what it means, an empty view says how to clear it
(Pilot, against the simulator on a manual clock)."""

from __future__ import annotations

import re
import webbrowser

from rich.text import Text

from mjdash.model.insight import Summary
from mjdash.model.task import Status
from mjdash.model.wrap import cell_width
from mjdash.store.watchlist import Watchlist
from mjdash.ui.app import DETAIL_MIN, detail_beside
from mjdash.ui.browser import NO_BROWSER
from mjdash.ui.cells import fit_parts
from mjdash.ui.summary import render_summary
from mjdash.ui.table import WIDE_MIN_PROMPT, WIDE_TABLE, columns_for_width
from tests.app.test_app import cell, imagine, poll
from tests.app.test_insight_ui import by_prompt, clocked, demo, notes_of
from tests.support.harness import make_app

WIDE = (180, 36)
BESIDE = (160, 40)  # the detail beside the table, ~45 cells wide (ui/app.py detail_beside)
NARROW = (60, 20)


def header(app) -> list[str]:
    return [column.label.plain for column in app.table.ordered_columns]


def screen_line(app, widget_id: str) -> str:
    """The text a one-line widget shows."""
    widget = app.query_one(f"#{widget_id}")
    return "".join(segment.text for segment in widget.render_line(0)).rstrip()


# --- the table ----------------------------------------------------------------------------------


async def test_a_wide_table_shows_the_label_column_and_more_of_the_id(sim_factory, tmp_path):
    clock, sim = demo(sim_factory)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=(100, 30)) as pilot:
        await poll(app, pilot)
        assert "Label" not in header(app)
        root = app.rows[-1].id  # a task with no lineage drawing
        narrow_id = cell(app, root, "id")
        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        assert header(app)[-2:] == ["Label", "Prompt"]
        wide_id = cell(app, root, "id")
        assert len(wide_id) > len(narrow_id) and root.endswith(wide_id.lstrip("…"))
        assert app.table.prompt_width >= 28
        app.watchlist.set_label(root, "hero shot")
        app.sync_rows([root])
        await pilot.pause()
        assert cell(app, root, "label") == "hero shot"


def test_the_detail_goes_beside_the_table_only_when_the_table_keeps_its_wide_columns():
    # The threshold comes from the table's own numbers: the label column, the 16-cell id and a
    # prompt of WIDE_MIN_PROMPT, plus the detail's least width.
    assert columns_for_width(WIDE_TABLE)[1] == WIDE_MIN_PROMPT
    assert "label" not in columns_for_width(WIDE_TABLE - 1)[0]
    first = DETAIL_MIN + WIDE_TABLE
    assert detail_beside(first - 1) == 0 and detail_beside(first) == DETAIL_MIN
    for width in range(60, 260):
        beside = detail_beside(width)
        keys, prompt = columns_for_width(width - beside)
        if beside:
            assert beside >= DETAIL_MIN and "label" in keys and prompt >= WIDE_MIN_PROMPT
        assert ("label" in keys) == (width >= WIDE_TABLE), width


async def test_at_120x36_the_table_has_the_label_and_the_detail_its_preview_and_buttons_in_view(
    sim_factory, tmp_path
):
    clock, sim = demo(sim_factory)
    app = make_app(
        sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock), preview="halfblocks"
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await poll(app, pilot)
        grid = by_prompt(app, "paper boat")
        app.watchlist.set_label(grid, "hero shot")
        app.sync_rows([grid])
        app.table.select(grid)
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        # The table is the screen's width: the label column, 16 cells of id, a wider prompt.
        assert header(app) == ["Task", "Action", "Status", "Progress", "Elapsed", "Label", "Prompt"]
        assert cell(app, grid, "label") == "hero shot"
        assert app.table.columns["id"].width >= 16 and app.table.prompt_width >= 30
        root = next(r.id for r in app.rows if not r.depth and not r.has_children)
        assert cell(app, root, "id") == "…" + root[-13:]  # 8 digits at 80 columns
        # The detail under the table, its preview and buttons at its top, beside the text.
        detail, buttons = app.detail, app.buttons
        preview = app.query_one("#preview")
        image = preview.query_one("#preview-image")
        assert detail.region.y > app.table.region.y and detail.scroll_y == 0
        assert preview.display and image.region.height >= 10
        inside = detail.content_region
        for widget in (preview, image, buttons):
            assert inside.contains_region(widget.region), widget
        text = app.query_one("#detail-info").region
        assert text.right <= buttons.region.x < preview.region.x
        assert buttons.region.y == inside.y  # the first buttons on the pane's first lines
        first = "".join(segment.text for segment in buttons.render_line(0))
        assert first.strip() == app.tasks[grid].buttons[0].name
        title = Text.from_markup(str(buttons.border_title)).plain
        assert title == f"Buttons ({len(app.tasks[grid].buttons)}) · enter press · c/C copy"
        # Its text is wrapped for its own column; the customIds for theirs.
        assert all(
            cell_width(line) <= detail.text_width for line in detail.info_text.plain.splitlines()
        )
        assert "Buttons (" not in detail.info_text.plain  # the list's title says it
        lines = buttons.get_option_at_index(0).prompt.plain.splitlines()
        assert all(cell_width(line) <= buttons.content_region.width for line in lines)
        # A task with nothing to press: no empty column, its text takes the room.
        running = next(i for i, t in app.tasks.items() if not t.buttons and not t.is_terminal)
        app.table.select(running)
        await pilot.pause()
        assert not buttons.display and not preview.display
        assert "Buttons (0)" in detail.info_text.plain
        assert detail.text_width > inside.width - 4
        # Back at 80x24 and 60x20: one column, as before.
        for size in ((80, 24), (60, 20)):
            app.table.select(grid)
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause()
            assert detail.region.y > app.table.region.y
            assert f"Buttons ({len(app.tasks[grid].buttons)})" in detail.info_text.plain
            assert buttons.region.x == preview.region.x == detail.content_region.x
            assert buttons.region.y > preview.region.y


async def test_at_160x40_the_detail_is_beside_a_table_that_keeps_its_label_column(
    sim_factory, tmp_path
):
    clock, sim = demo(sim_factory)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=(160, 40)) as pilot:
        await poll(app, pilot)
        root = app.rows[-1].id
        app.watchlist.set_label(root, "keeper")
        app.sync_rows([root])
        await pilot.pause()
        table, detail = app.table, app.detail
        assert detail.region.x >= table.region.right - 1 and detail.region.y == table.region.y
        assert detail.region.width >= 40
        assert header(app)[-2:] == ["Label", "Prompt"] and table.prompt_width >= 28
        assert cell(app, root, "label") == "keeper"
        assert table.region.width + detail.region.width == 160
        assert "Buttons (" in detail.info_text.plain  # one column beside the table


async def test_the_sorted_columns_header_has_an_arrow(sim_factory, tmp_path):
    clock, sim = demo(sim_factory)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        assert not any(re.search("[▲▼]", label) for label in header(app))
        await pilot.press("s")  # status, needs you first
        assert "Status▲" in header(app)
        await pilot.press("s")  # progress, least first
        assert "Progress▲" in header(app) and "Status" in header(app)
        await pilot.press("s")  # elapsed, longest first
        assert "Elapsed▼" in header(app)
        await pilot.press("s")  # submit time, newest first: the ids
        assert header(app)[0] == "Task▼"
        await pilot.press("s")  # back to the added order
        assert not any(re.search("[▲▼]", label) for label in header(app))
        # The saved sort comes back with its arrow.
        await pilot.press("s", "s")
    again = make_app(sim, tmp_path, auto_poll=False, now=clocked(clock))
    async with again.run_test(size=WIDE) as pilot:
        await pilot.pause()
        assert "Progress▲" in header(again)


async def test_a_folded_parent_shows_how_many_tasks_it_hides(sim_factory, tmp_path):
    clock, sim = demo(sim_factory)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        grid = by_prompt(app, "paper boat")
        descendants = sum(
            1
            for row in app.rows[app.row_ids().index(grid) + 1 :]
            if row.depth and app.watchlist.get(row.id) and _under(app, row.id, grid)
        )
        assert descendants >= 2
        app.table.select(grid)
        assert cell(app, grid, "id").startswith("▾ ")
        await pilot.press("space")
        assert cell(app, grid, "id").startswith(f"▸+{descendants} ")
        assert grid.endswith(cell(app, grid, "id").split("…")[-1])
        await pilot.press("space")
        assert cell(app, grid, "id").startswith("▾ ")
        # A nested parent (the grid's upscale, with its own children) shows its count too.
        nested = next(r for r in app.rows if r.depth and r.has_children)
        below = sum(1 for r in app.rows if _under(app, r.id, nested.id))
        app.table.select(nested.id)
        await pilot.press("space")
        assert cell(app, nested.id, "id").startswith(f"{nested.branch}▸+{below} ")


def _under(app, task_id: str, root: str) -> bool:
    entry = app.watchlist.get(task_id)
    while entry is not None and entry.parent:
        if entry.parent == root:
            return True
        entry = app.watchlist.get(entry.parent)
    return False


async def test_used_and_dismissed_tasks_get_different_marks(sim_factory, tmp_path):
    clock, sim = demo(sim_factory)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        grid = by_prompt(app, "paper boat")  # its U1 was pressed: it has a child
        done = [
            i
            for i, t in app.tasks.items()
            if t.status is Status.SUCCESS and t.buttons and i != grid
        ]
        app.watchlist.mark_used(grid, app.tasks[grid].buttons[0].custom_id)
        app.table.select(done[0])
        await pilot.press("x")  # dismiss
        app.sync_rows([grid, done[0]])
        await pilot.pause()
        assert cell(app, grid, "status").endswith(" ✓")
        assert cell(app, done[0], "status").endswith(" –")


# --- CJK ------------------------------------------------------------------------------------------


async def test_a_cjk_prompt_is_cut_with_an_ellipsis_in_the_table_and_wrapped_in_the_detail(
    sim_factory, tmp_path
):
    sim = sim_factory()
    prompt = "夜の港に浮かぶ紙の舟、柔らかな光、水彩画風、細部まで描き込まれた幻想的な風景 --v 6"
    task_id = imagine(sim, prompt)
    app = make_app(sim, tmp_path, [task_id], auto_poll=False)
    async with app.run_test(size=BESIDE) as pilot:  # a narrow detail: values wrap
        await poll(app, pilot)
        shown = cell(app, task_id, "prompt")
        assert shown.endswith("…")
        assert cell_width(shown) <= app.table.prompt_width
        assert prompt.startswith(shown[:-1])
        detail = app.detail.info_text.plain.splitlines()
        width = app.detail.text_width
        assert all(cell_width(line) <= width for line in detail)
        start = next(i for i, line in enumerate(detail) if line.startswith("Prompt"))
        # Continuation lines start under the value, not at the pane's edge; nothing is lost.
        following = []
        for line in detail[start + 1 :]:
            if not line.startswith(" " * 11) or not line.strip():
                break
            following.append(line.strip())
        assert following
        joined = detail[start][11:] + "".join(following)
        assert joined.replace(" ", "") == prompt.replace(" ", "")


# --- the detail ---------------------------------------------------------------------------------


async def test_the_detail_wraps_values_under_themselves_and_custom_ids_after_double_colons(
    sim_factory, tmp_path
):
    clock, sim = demo(sim_factory)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=BESIDE) as pilot:  # a narrow detail: values wrap
        await poll(app, pilot)
        grid = by_prompt(app, "paper boat")
        app.table.select(grid)
        await pilot.pause()
        width = app.detail.text_width
        lines = app.detail.info_text.plain.splitlines()
        assert all(cell_width(line) <= width for line in lines)
        image = next(i for i, line in enumerate(lines) if line.startswith("Image"))
        assert len(app.tasks[grid].image_url) > width - 11  # it must wrap
        assert lines[image + 1].startswith(" " * 11)
        first = app.buttons.get_option_at_index(0).prompt.plain.splitlines()
        custom_id = app.tasks[grid].buttons[0].custom_id
        assert len(custom_id) > width
        assert first[1].strip().endswith("::")  # broken after a "::"
        assert all(line.startswith("  ") and cell_width(line) <= width for line in first[1:])
        assert "".join(line.strip() for line in first[1:]) == custom_id
        # An upscale's long customIds, the list focused with its own scrollbar: the lines are
        # not wrapped again by the list.
        upscale = next(
            i for i, t in app.tasks.items() if t.action == "UPSCALE" and len(t.buttons) > 6
        )
        app.table.select(upscale)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        buttons = app.buttons
        assert buttons.has_focus and buttons.show_vertical_scrollbar
        rendered = [
            "".join(segment.text for segment in buttons.render_line(y)).strip()
            for y in range(buttons.size.height)
        ]
        option = buttons.get_option_at_index(0).prompt.plain.splitlines()
        assert len(option) > 2 and all(line.strip() in rendered for line in option), rendered


async def test_the_preview_is_on_screen_at_120x36_with_a_grid_selected(sim_factory, tmp_path):
    clock, sim = demo(sim_factory)
    app = make_app(
        sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock), preview="halfblocks"
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await poll(app, pilot)
        app.table.select(by_prompt(app, "paper boat"))
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        preview = app.query_one("#preview")
        detail = app.detail
        assert preview.display and preview.region.height >= 8
        # Wholly inside the pane's visible part, without scrolling.
        assert detail.scroll_y == 0
        assert preview.region.y >= detail.region.y
        assert preview.region.bottom <= detail.region.bottom


# --- 60x20: whole pieces only -------------------------------------------------------------------


def test_fit_parts_drops_whole_parts_lowest_priority_first():
    parts = [(Text(" 50%"), 4), (Text(" 10/20 done"), 8), (Text(" │ ETA 19s"), 9), Text(" x")]
    assert fit_parts(parts, 0).plain == " 50% 10/20 done │ ETA 19s x"
    assert fit_parts(parts, 25).plain == " 50% 10/20 done │ ETA 19s"
    assert fit_parts(parts, 22).plain == " 10/20 done │ ETA 19s"
    assert fit_parts(parts, 12).plain == " │ ETA 19s"
    assert fit_parts(parts, 5).plain == " │ E…"


async def test_at_60x20_the_summary_and_the_footer_are_not_cut_mid_word(sim_factory, tmp_path):
    clock, sim = demo(sim_factory)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=NARROW) as pilot:
        await poll(app, pilot)
        await pilot.press("f", "f")  # only failed, with its words in the line
        await pilot.pause()
        summary = app.batch.summary_line.plain
        assert cell_width(summary) <= 60
        assert summary.rstrip().endswith("only failed")
        assert "…" not in summary
        footer = app.screen.query_one("FittedFooter")
        keys = [key for key in footer.children if hasattr(key, "key_display")]
        shown = [f"{key.key_display} {key.description}" for key in keys]
        assert shown[:2] == ["q Quit", "? Help"]
        # Every key shown is whole, on screen, inside the footer's width.
        assert all(key.region.right <= 60 and key.region.width > 0 for key in keys)
        assert sum(key.region.width for key in keys) <= 60
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        await pilot.pause()
        wide = [k for k in footer.children if hasattr(k, "key_display")]
        assert len(wide) > len(keys)


# --- the summary --------------------------------------------------------------------------------


def test_summary_words_percent_stalled_and_outcome_tones():
    now = 1000.0
    failed_batch = Summary(total=4, done=2, failed=2)
    line = render_summary(failed_batch, now)
    assert " 50%" in line.plain and "100%" not in line.plain
    assert "batch complete, 2 did not succeed" in line.plain
    all_failed = render_summary(Summary(total=2, failed=2), now)
    assert "batch finished, nothing succeeded" in all_failed.plain
    assert not any("green" in str(span.style) for span in all_failed.spans)
    stalled = render_summary(Summary(total=3, done=1, running=2, stalled=1, eta_at=now - 5), now)
    assert "stalled: no ETA" in stalled.plain and "any moment" not in stalled.plain
    only_failed = render_summary(Summary(total=2, failed=2), now, "only failed", show="failed")
    assert "2 tasks failed" in only_failed.plain and "complete" not in only_failed.plain
    success = render_summary(Summary(total=2, done=2), now)
    assert "✔ batch complete" in success.plain and "100%" in success.plain


async def test_a_batch_that_all_failed_never_reads_100_percent(sim_factory, tmp_path):
    sim = sim_factory()
    ids = [imagine(sim, f"broken {n} --fail") for n in range(2)]
    app = make_app(sim, tmp_path, ids, auto_poll=False)
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(40):
            await poll(app, pilot)
            if all(app.tasks.get(i) and app.tasks[i].is_terminal for i in ids):
                break
            await pilot.pause(0.1)
        line = app.batch.summary_line.plain
        assert "0%" in line and "100%" not in line
        assert "nothing succeeded" in line and "✔" not in line
        await pilot.press("f", "f")  # only failed
        line = app.batch.summary_line.plain
        assert "2 tasks failed" in line and "complete" not in line


# --- an empty view ------------------------------------------------------------------------------


async def test_a_saved_filter_that_hides_every_row_says_so_and_how_to_clear_it(
    sim_factory, tmp_path
):
    clock, sim = demo(sim_factory)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=(120, 36)) as pilot:
        await poll(app, pilot)
    saved = Watchlist.load(tmp_path / "watchlist.toml")
    saved.view = {"filter": "no-such-words", "show": "all", "sort": "added"}
    saved.save()
    again = make_app(sim, tmp_path, auto_poll=False, now=clocked(clock))
    async with again.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        text = again.detail.info_text.plain
        assert "Press a" not in text
        assert f"The view hides all {len(sim.seeded_ids)} tasks" in text
        assert "filter 'no-such-words'" in text and "Esc" in text and "/" in text
    empty = make_app(sim, tmp_path / "none", auto_poll=False)
    async with empty.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert "Press a to add task ids" in empty.detail.info_text.plain


async def test_slash_failed_matches_failure_rows(sim_factory, tmp_path):
    clock, sim = demo(sim_factory)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=(120, 36)) as pilot:
        await poll(app, pilot)
        failed = {i for i, t in app.tasks.items() if t.status in (Status.FAILURE, Status.CANCEL)}
        assert failed
        await pilot.press("slash", *"failed", "enter")
        await pilot.pause()
        assert set(app.row_ids()) == failed


# --- smaller ------------------------------------------------------------------------------------


async def test_o_without_a_browser_says_so_instead_of_opening(sim_factory, tmp_path, monkeypatch):
    clock, sim = demo(sim_factory)

    def no_browser(using=None):
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", no_browser)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    opened: list[str] = []
    async with app.run_test(size=(120, 36)) as pilot:
        app.open_url = lambda url, **kw: opened.append(url)
        notes = notes_of(app)
        await poll(app, pilot)
        app.table.select(by_prompt(app, "paper boat"))
        await pilot.press("o")
        assert opened == []
        assert NO_BROWSER in notes and not any(n.startswith("Opening") for n in notes)


async def test_f_announces_in_words(sim_factory, tmp_path):
    clock, sim = demo(sim_factory)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=(120, 36)) as pilot:
        notes = notes_of(app)
        await poll(app, pilot)
        await pilot.press("f")
        total = len(sim.seeded_ids)
        assert notes[-1] == f"Showing unfinished tasks ({len(app.rows)} of {total})"
        assert "hide finished" not in " ".join(notes)
        await pilot.press("s")
        assert notes[-1] == "Sorted by status (needs you first)"
