"""Issue 12 on screen: each task kind's detail pane, refused buttons, the ❤️ bookmark, MODAL
continued and `m` after a restart, parentId lineage, the clocks and the auth note; the
dashboard against the simulator in each server flavor (real HTTP on loopback, manual clock)."""

from __future__ import annotations

import re
import webbrowser

import pytest

from mjdash.media.images import sniff
from mjdash.model.task import Status
from mjdash.sim.engine import ManualClock
from mjdash.store.watchlist import Watchlist
from mjdash.ui.app import MjdashApp
from mjdash.ui.modal_prompt import CUSTOM_ZOOM, INPAINT, ModalPromptScreen
from mjdash.ui.screens import ConfirmScreen
from tests.app.test_actions import notes_of, settle
from tests.app.test_app import poll
from tests.app.test_insight_ui import clocked
from tests.support.harness import make_app

SIZE = (130, 40)
FLAVORS = ("newapi", "trueai", "novicezk")


def demo(sim_factory, flavor: str):
    clock = ManualClock()
    return clock, sim_factory(clock=clock, speed=1.0, demo=True, flavor=flavor)


def of_action(app: MjdashApp, action: str) -> str:
    found = [task_id for task_id, task in app.tasks.items() if task.action == action]
    assert found, f"no {action} task among {[t.action for t in app.tasks.values()]}"
    return found[0]


def detail(app: MjdashApp) -> str:
    return app.detail.info_text.plain


def button_lines(app: MjdashApp) -> list[str]:
    options = app.buttons
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def open_buttons(app: MjdashApp, pilot, index: int) -> None:
    """Focus the button list (enter on the row) and highlight line `index`."""
    app.table.focus()
    await pilot.press("enter")
    assert app.focused is app.buttons
    app.buttons.highlighted = index
    await pilot.pause()


async def started(sim_factory, tmp_path, flavor: str, **options):
    clock, sim = demo(sim_factory, flavor)
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=clocked(clock), **options)
    return clock, sim, app


# --- describe: four suggestions, each copyable ----------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_a_describe_shows_four_numbered_suggestions_each_copyable(
    sim_factory, tmp_path, flavor
):
    _clock, _sim, app = await started(sim_factory, tmp_path, flavor)
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await poll(app, pilot)
        task_id = of_action(app, "DESCRIBE")
        app.table.select(task_id)
        await pilot.pause()
        text = detail(app)
        assert "Suggested prompts" in text
        suggestions = [entry.text for entry in app.buttons.copies]
        assert len(suggestions) == 4 and all(suggestions)
        for number, suggestion in enumerate(suggestions, start=1):
            assert f" {number}  {suggestion[:20]}" in text
        # The raw numbered text is not repeated as a prompt (novicezk sends it as the prompt).
        assert "1️⃣" not in text
        assert app.table.get_cell(task_id, "prompt").plain == "describe"
        # The copy lines come after the buttons; enter on one copies that suggestion alone.
        await open_buttons(app, pilot, len(app.buttons.buttons) + 1)
        await pilot.press("enter")
        await settle(app, pilot)
        assert any(note.startswith(suggestions[1]) for note in notes), notes
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("c")  # c on a copy line copies the same text
        await settle(app, pilot)
        assert sum(note.startswith(suggestions[1]) for note in notes) == 2


async def test_new_api_refuses_the_describe_buttons_they_are_marked_and_explained(
    sim_factory, tmp_path
):
    _clock, sim, app = await started(sim_factory, tmp_path, "newapi")
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await poll(app, pilot)
        app.table.select(of_action(app, "DESCRIBE"))
        await pilot.pause()
        lines = button_lines(app)
        refused = [line for line in lines if "refused by this server" in line]
        assert len(refused) == 5 and "Describe 1" in refused[0]  # Describe 1-4 and Reroll
        assert "refused by this server" in detail(app)
        await open_buttons(app, pilot, 0)
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmScreen)  # explained, not confirmed
        assert sim.stats()["routes"]["action"] == 0
        assert any("not pressed" in note and "new-api" in note for note in notes), notes
        await pilot.press("c")  # copying still works
        await settle(app, pilot)
        assert any(note.startswith("MJ::Job::PicReader::1") for note in notes)


async def test_a_refusal_the_server_answers_marks_the_button_from_then_on(sim_factory, tmp_path):
    # A gateway whose family mjdash could not tell: the press goes out, the server answers
    # unknown_action, and from then on that button kind is marked (client.refused_prefixes).
    _clock, sim, app = await started(sim_factory, tmp_path, "newapi")
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await poll(app, pilot)
        app.client.family = None
        task_id = of_action(app, "DESCRIBE")
        app.table.select(task_id)
        await pilot.pause()
        assert not any("refused" in line for line in button_lines(app))
        watched = len(app.watchlist)
        await open_buttons(app, pilot, 0)
        await pilot.press("enter")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        assert sim.stats()["routes"]["action"] == 1
        assert any("does not take this button" in note for note in notes), notes
        assert len(app.watchlist) == watched  # nothing added
        lines = button_lines(app)
        assert sum("refused by this server" in line for line in lines) == 4  # PicReader 1-4
        await pilot.press("enter")  # again: explained, nothing sent
        await settle(app, pilot)
        assert sim.stats()["routes"]["action"] == 1
        assert any("refused this button before" in note for note in notes)


# --- shorten, blend, video --------------------------------------------------------------------


@pytest.mark.parametrize("flavor", ["newapi", "trueai"])  # novicezk has no SHORTEN
async def test_a_shorten_shows_its_shortened_prompts(sim_factory, tmp_path, flavor):
    _clock, _sim, app = await started(sim_factory, tmp_path, flavor)
    async with app.run_test(size=SIZE) as pilot:
        await poll(app, pilot)
        task = app.tasks[of_action(app, "SHORTEN")]
        app.table.select(task.id)
        await pilot.pause()
        text = detail(app)
        assert "Shortened prompts" in text and "harbour town" in text
        results = [entry.text for entry in app.buttons.copies]
        assert len(results) >= 2 and all(f" {n}  " in text for n in range(1, len(results) + 1))
        assert "Prompt" in text and task.prompt[:30] in text.replace("\n", " ")


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_a_blend_says_blend_and_no_prompt(sim_factory, tmp_path, flavor):
    _clock, _sim, app = await started(sim_factory, tmp_path, flavor)
    async with app.run_test(size=SIZE) as pilot:
        await poll(app, pilot)
        task_id = of_action(app, "BLEND")
        app.table.select(task_id)
        await pilot.pause()
        text = detail(app)
        assert "Blend" in text and "no prompt" in text
        assert "Prompt     —" not in text
        assert app.table.get_cell(task_id, "prompt").plain == "blend"
        await pilot.press("slash")
        await pilot.press(*"blend", "enter")  # the filter finds it by what the cell shows
        await pilot.pause()
        assert task_id in app.row_ids()


@pytest.mark.parametrize("flavor", ["newapi", "trueai"])  # novicezk has no VIDEO
async def test_a_video_lists_its_links_o_opens_the_first_d_saves_the_mp4s(
    sim_factory, tmp_path, flavor, monkeypatch
):
    # A graphical browser is "found" (this machine has none; `o` would say so instead).
    monkeypatch.setattr(webbrowser, "get", lambda using=None: webbrowser.GenericBrowser("firefox"))
    folder = tmp_path / "saved"
    _clock, _sim, app = await started(sim_factory, tmp_path, flavor, download_dir=str(folder))
    opened: list[str] = []
    app.open_url = lambda url, **kw: opened.append(url)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await poll(app, pilot)
        task = app.tasks[of_action(app, "VIDEO")]
        links = task.video_links
        assert len(links) == 4
        app.table.select(task.id)
        await pilot.pause()
        text = detail(app)
        for number, link in enumerate(links, start=1):
            unwrapped = re.sub(r"\n\s*", "", text)  # long links wrap under the value
            assert f"Video {number}" in text and link in unwrapped
        await pilot.press("o")
        assert opened == [links[0]]
        await pilot.press("D")
        await settle(app, pilot)
    names = {path.name for path in folder.iterdir()}
    assert names == {f"{task.id}-video.mp4"} | {f"{task.id}-video-{n}.mp4" for n in (2, 3, 4)}
    assert all(sniff(path.read_bytes()) == "mp4" for path in folder.iterdir())


# --- MODAL --------------------------------------------------------------------------------------


async def test_new_api_modal_continued_is_shown_as_moving_on(sim_factory, tmp_path):
    _clock, _sim, app = await started(sim_factory, tmp_path, "newapi")
    async with app.run_test(size=SIZE) as pilot:
        await poll(app, pilot)
        task = app.tasks[of_action(app, "INPAINT")]  # two rows on the server: the moved one
        assert task.status is not Status.MODAL
        app.table.select(task.id)
        await pilot.pause()
        assert "prompt sent, moved on" in detail(app)
        assert "needs you" not in detail(app)
        assert "MODAL" not in app.table.get_cell(task.id, "status").plain


@pytest.mark.parametrize("flavor", ["newapi", "trueai"])
async def test_m_on_a_waiting_custom_zoom_opens_the_zoom_dialog_and_its_clock_ticks(
    sim_factory, tmp_path, flavor
):
    clock, _sim, app = await started(sim_factory, tmp_path, flavor)
    async with app.run_test(size=SIZE) as pilot:
        await poll(app, pilot)
        modal = [t for t in app.tasks.values() if t.status is Status.MODAL]
        assert len(modal) == 1
        task_id = modal[0].id
        app.table.select(task_id)
        await pilot.pause()
        before = app.table.get_cell(task_id, "elapsed").plain
        clock.advance(5)  # the app's clock is the simulator's
        app.tick()
        await pilot.pause()
        after = app.table.get_cell(task_id, "elapsed").plain
        assert before != after and after.endswith("s")  # the MODAL row ticks (issue 16)
        assert "in MODAL" in detail(app)
        await pilot.press("m")
        assert isinstance(app.screen, ModalPromptScreen) and app.screen.kind == CUSTOM_ZOOM


async def test_m_after_a_restart_opens_the_mask_dialog_for_vary_region_on_trueai(
    sim_factory, tmp_path
):
    clock, sim, app = await started(sim_factory, tmp_path, "trueai", confirm_actions=False)
    async with app.run_test(size=SIZE) as pilot:
        await poll(app, pilot)
        upscale = next(
            t.id
            for t in app.tasks.values()
            if t.action == "UPSCALE"
            and t.status is Status.SUCCESS
            and any(b.custom_id.startswith("MJ::Inpaint::") for b in t.buttons)
        )
        app.table.select(upscale)
        await pilot.pause()
        region = next(
            i for i, b in enumerate(app.buttons.buttons) if b.custom_id.startswith("MJ::Inpaint::")
        )
        await open_buttons(app, pilot, region)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ModalPromptScreen) and app.screen.kind == INPAINT
        child = app.screen.task_id
        await pilot.press("escape")
        await pilot.pause()
    assert Watchlist.load(tmp_path / "watchlist.toml").get(child).parent == upscale

    again = make_app(sim, tmp_path, auto_poll=False, now=clocked(clock))
    async with again.run_test(size=SIZE) as pilot:
        await poll(again, pilot)
        assert again.tasks[child].status is Status.MODAL
        again.table.select(child)
        await pilot.pause()
        await pilot.press("m")
        assert isinstance(again.screen, ModalPromptScreen) and again.screen.kind == INPAINT
        assert again.screen.query("#modal-mask")  # the mask field of Vary (Region)


# --- the ❤️ bookmark ---------------------------------------------------------------------------


async def test_the_bookmark_adds_no_child_and_never_says_new_task(sim_factory, tmp_path):
    # Confirmations on: the bookmark spends nothing and starts nothing, so none is asked.
    _clock, sim, app = await started(sim_factory, tmp_path, "trueai", confirm_actions=True)
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await poll(app, pilot)
        upscale = next(
            t
            for t in app.tasks.values()
            if t.status is Status.SUCCESS and any(b.custom_id == "MJ::BOOKMARK" for b in t.buttons)
        )
        app.table.select(upscale.id)
        await pilot.pause()
        children = app.watchlist.children(upscale.id)
        index = next(i for i, b in enumerate(app.buttons.buttons) if b.custom_id == "MJ::BOOKMARK")
        await open_buttons(app, pilot, index)
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert sim.stats()["routes"]["action"] == 1
        assert app.watchlist.children(upscale.id) == children
        assert len(app.watchlist) == len(sim.seeded_ids)
        assert any("bookmarked (no new task)" in note for note in notes), notes
        assert not any(f"new task {upscale.id}" in note for note in notes)
        assert "MJ::BOOKMARK" in app.watchlist.get(upscale.id).used


# --- lineage from parentId -----------------------------------------------------------------------


async def test_a_hand_added_child_goes_under_its_parent_from_parent_id(sim_factory, tmp_path):
    clock, sim = demo(sim_factory, "trueai")
    parent = sim.engine.parent_of  # the demo's lineage, only to pick a child and its parent
    child = next(i for i in sim.seeded_ids if parent(i) and not parent(parent(i)))
    others = [i for i in sim.seeded_ids if i != child]
    watchlist = Watchlist.load(tmp_path / "watchlist.toml")
    for task_id in others:
        watchlist.add([task_id], parent=parent(task_id))
    watchlist.add([child])  # by hand: no parent in the file
    watchlist.save()
    app = make_app(sim, tmp_path, auto_poll=False, now=clocked(clock))
    async with app.run_test(size=SIZE) as pilot:
        await poll(app, pilot)
        assert app.tasks[child].parent_id == parent(child)
        rows = {row.id: row for row in app.rows}
        assert rows[child].depth == 1
        ids = app.row_ids()
        assert ids.index(parent(child)) < ids.index(child)
        assert app.table.get_cell(child, "id").plain.startswith(("└ ", "├ "))
        app.table.select(child)
        await pilot.pause()
        assert f"Parent     {parent(child)}" in detail(app)
        await pilot.press("h")
        assert app.selected_id == parent(child)
        assert child in app.detail.model.children
    assert Watchlist.load(tmp_path / "watchlist.toml").get(child).parent == ""  # file untouched


# --- the auth note ---------------------------------------------------------------------------


async def test_the_other_header_style_working_is_said_once_with_the_setting(sim_factory, tmp_path):
    # make_app's config says auth = "bearer"; trueai compares the raw Authorization value.
    _clock, _sim, app = await started(sim_factory, tmp_path, "trueai")
    notes = notes_of(app)
    async with app.run_test(size=SIZE) as pilot:
        await poll(app, pilot)
        await poll(app, pilot)
        said = [note for note in notes if 'auth = "mj-api-secret"' in note]
        assert len(said) == 1, notes
        line = app.query_one("#status-line").render()
        assert 'save auth = "mj-api-secret"' in str(line)
