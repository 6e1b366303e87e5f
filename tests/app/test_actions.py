"""Pressing buttons, the submit answers, MODAL prompts, copy formats, triage and lineage:
the dashboard driven by Pilot against the simulator over loopback HTTP, on a manual clock."""

from __future__ import annotations

import base64
import json
import shlex
import shutil
import subprocess

import pytest
from textual.pilot import Pilot

from mjdash.model.secret import Secret
from mjdash.model.task import Status
from mjdash.net.client import MidjourneyClient
from mjdash.sim import png
from mjdash.sim.engine import ManualClock
from mjdash.store.watchlist import Watchlist
from mjdash.ui.actions import copy_formats, curl_line
from mjdash.ui.app import MjdashApp
from mjdash.ui.detail import render_detail
from mjdash.ui.modal_prompt import (
    ChoiceScreen,
    ModalPromptScreen,
    prefill,
    read_mask,
    zoom_problem,
)
from mjdash.ui.screens import ConfirmScreen
from tests.support.harness import make_app

WIDE = (130, 36)
KEY = "test-key"  # the harness's key; the sim's tasks are owned by it


# --- helpers ---------------------------------------------------------------------------------


async def poll(app: MjdashApp, pilot: Pilot) -> None:
    worker = app.poll(force=True)
    assert worker is not None, "a poll was already running"
    await worker.wait()
    await pilot.pause()


async def settle(app: MjdashApp, pilot: Pilot) -> None:
    """Let action workers finish and their results reach the screen."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def grid(sim, prompt: str) -> str:
    answer = sim.engine.imagine(prompt, owner=KEY)
    assert answer["code"] == 1, answer
    return answer["result"]


def notes_of(app: MjdashApp) -> list[str]:
    """Every notification's text, recorded as it is sent."""
    notes: list[str] = []
    original = app.notify

    def notify(message, *args, **kwargs):
        notes.append(str(message))
        return original(message, *args, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return notes


def id_cell(app: MjdashApp, task_id: str) -> str:
    return app.table.get_cell(task_id, "id").plain


def actions_sent(sim) -> int:
    return sim.stats()["routes"]["action"]


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def slow_sim(sim_factory, clock):
    """Nothing moves until the test advances the clock."""
    return sim_factory(clock=clock, speed=1.0)


# --- pressing ----------------------------------------------------------------------------------


async def test_u1_confirmed_adds_the_upscale_under_its_grid_and_it_finishes(
    slow_sim, clock, tmp_path
):
    sim = slow_sim
    first, second = grid(sim, "a paper boat at sunrise"), grid(sim, "a lighthouse")
    clock.advance(600)
    app = make_app(sim, tmp_path, [first, second], auto_poll=False)
    notes = notes_of(app)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        assert app.selected_id == first
        await pilot.press("1")
        assert isinstance(app.screen, ConfirmScreen)
        question = app.screen.question.plain
        assert "U1" in question and first in question and "credits" in question
        await pilot.press("y")
        await settle(app, pilot)

        assert actions_sent(sim) == 1
        children = [e.id for e in app.watchlist.entries if e.parent == first]
        assert len(children) == 1
        child = children[0]
        assert app.selected_id == child
        assert app.table.get_row_index(child) == app.table.get_row_index(first) + 1
        assert id_cell(app, child).startswith("└ ")
        assert id_cell(app, first).startswith("▾ ")
        u1 = app.tasks[first].buttons[0].custom_id
        assert app.watchlist.get(first).used == [u1]
        assert any(f"new task {child}" in note for note in notes)

        await poll(app, pilot)
        assert app.tasks[child].action == "UPSCALE"
        clock.advance(600)
        await poll(app, pilot)
        assert app.tasks[child].status is Status.SUCCESS
        assert "SUCCESS" in app.table.get_cell(child, "status").plain

        # The detail pane links both ways.
        child_detail = render_detail(app.detail_model(child), app.now()).plain
        assert f"Parent     {first}" in child_detail
        app.table.select(first)
        await pilot.pause()
        assert f"Children   {child}" in app.detail.query_one("#detail-info").render().plain
        assert str(app.buttons.get_option_at_index(0).prompt).startswith("✓ U1")
        assert app.table.get_cell(first, "status").plain.endswith(" ✓")
        await pilot.press("q")

    # Used buttons and the lineage survive a restart.
    saved = Watchlist.load(tmp_path / "watchlist.toml")
    assert saved.get(first).used == [u1] and saved.get(child).parent == first
    again = make_app(sim, tmp_path, auto_poll=False)
    async with again.run_test(size=WIDE) as pilot:
        await pilot.pause()
        again.table.select(first)
        await pilot.pause()
        assert str(again.buttons.get_option_at_index(0).prompt).startswith("✓ U1")
        assert not str(again.buttons.get_option_at_index(1).prompt).startswith("✓")
        assert id_cell(again, child).startswith("└ ")
        assert (
            again.board.triage_left(lambda: again.watchlist.entries) == 2
        )  # the lighthouse grid and the new upscale


async def test_cancelling_the_confirm_sends_nothing(slow_sim, clock, tmp_path):
    task = grid(slow_sim, "koi in the rain")
    clock.advance(600)
    app = make_app(slow_sim, tmp_path, [task], auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        for cancel in ("n", "escape"):
            await pilot.press("exclamation_mark")
            assert isinstance(app.screen, ConfirmScreen)
            assert "V1" in app.screen.question.plain
            await pilot.press(cancel)
            await settle(app, pilot)
            assert not isinstance(app.screen, ConfirmScreen)
        assert actions_sent(slow_sim) == 0
        assert app.watchlist.ids == [task]
        assert app.watchlist.get(task).used == []
        assert app.selected_id == task and app.focused is app.table
        assert app.board.triage_left(lambda: app.watchlist.entries) == 1


async def test_enter_on_a_button_presses_it_and_variation_keys_pick_v(slow_sim, clock, tmp_path):
    task = grid(slow_sim, "desert caravan")
    clock.advance(600)
    app = make_app(slow_sim, tmp_path, [task], auto_poll=False, confirm_actions=False)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await pilot.press("enter")  # from the table: focus the buttons
        assert app.focused is app.buttons
        await pilot.press("down", "enter")  # U2, no confirmation configured
        await settle(app, pilot)
        app.table.select(task)
        await pilot.press("dollar_sign")  # V4
        await settle(app, pilot)
        assert actions_sent(slow_sim) == 2
        buttons = {b.name: b.custom_id for b in app.tasks[task].buttons}
        assert app.watchlist.get(task).used == [buttons["U2"], buttons["V4"]]
        kids = [e.id for e in app.watchlist.entries if e.parent == task]
        assert len(kids) == 2
        await poll(app, pilot)
        assert sorted(app.tasks[k].action for k in kids) == ["UPSCALE", "VARIATION"]


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (4, "4 validation error"),
        (9, "9 system error"),
        (23, "23 queue full"),
        (24, "24 banned: badword"),
    ],
)
async def test_refused_presses_add_nothing(slow_sim, clock, tmp_path, code, words):
    task = grid(slow_sim, "a fox in snow")
    clock.advance(600)
    app = make_app(slow_sim, tmp_path, [task], auto_poll=False, confirm_actions=False)
    notes = notes_of(app)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        slow_sim.engine.force_code = code
        await pilot.press("2")
        await settle(app, pilot)
        assert actions_sent(slow_sim) == 1
        assert app.watchlist.ids == [task]
        assert app.watchlist.get(task).used == []
        assert any(words in note and "Nothing was added" in note for note in notes), notes


async def test_code_3_unknown_task_is_a_clear_error(slow_sim, clock, tmp_path):
    task = grid(slow_sim, "a fox in snow")
    clock.advance(600)
    app = make_app(slow_sim, tmp_path, [task], auto_poll=False, confirm_actions=False)
    notes = notes_of(app)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        # Another key does not see this key's tasks: the server answers 3.
        old = app.client
        app.client = MidjourneyClient(slow_sim.url, Secret("another-key"))
        await old.aclose()
        await pilot.press("1")
        await settle(app, pilot)
        assert app.watchlist.ids == [task]
        assert any("3 not found" in note for note in notes), notes


async def test_code_22_adds_the_child_and_shows_the_queue(slow_sim, clock, tmp_path):
    task = grid(slow_sim, "a fox in snow")
    clock.advance(600)
    app = make_app(slow_sim, tmp_path, [task], auto_poll=False, confirm_actions=False)
    notes = notes_of(app)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        slow_sim.engine.force_code = 22
        await pilot.press("3")
        await settle(app, pilot)
        kids = [e.id for e in app.watchlist.entries if e.parent == task]
        assert len(kids) == 1 and app.selected_id == kids[0]
        assert any("queued, 1 ahead" in note for note in notes), notes


async def test_code_21_exists_selects_the_child_already_there(sim_factory, clock, tmp_path):
    # trueai answers 21 "exists" (new-api rewrites it to 1; the app cannot tell it there yet).
    slow_sim = sim_factory(clock=clock, speed=1.0, flavor="trueai")
    task = grid(slow_sim, "a fox in snow")
    clock.advance(600)
    app = make_app(slow_sim, tmp_path, [task], auto_poll=False, confirm_actions=False)
    notes = notes_of(app)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await pilot.press("4")
        await settle(app, pilot)
        (child,) = [e.id for e in app.watchlist.entries if e.parent == task]
        app.table.select(task)
        await pilot.press("4")  # the simulator answers 21 "exists" for a second U4
        await settle(app, pilot)
        assert [e.id for e in app.watchlist.entries if e.parent == task] == [child]
        assert app.selected_id == child
        assert any("pressed before" in note for note in notes), notes
        assert not isinstance(app.screen, ModalPromptScreen)


async def upscale_of(app: MjdashApp, pilot: Pilot, sim, clock, first: str) -> str:
    """Press U1 on `first` and let the upscale finish; returns its id (selected)."""
    app.table.select(first)
    await pilot.press("1")
    await settle(app, pilot)
    (child,) = [e.id for e in app.watchlist.entries if e.parent == first]
    clock.advance(600)
    await poll(app, pilot)
    assert app.tasks[child].status is Status.SUCCESS
    app.table.select(child)
    await pilot.pause()
    return child


async def test_custom_zoom_modal_round_trip(slow_sim, clock, tmp_path):
    sim = slow_sim
    first = grid(sim, "a cat --v 6.0")
    clock.advance(600)
    app = make_app(sim, tmp_path, [first], auto_poll=False, confirm_actions=False)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        upscale = await upscale_of(app, pilot, sim, clock, first)
        await pilot.press("z")
        assert isinstance(app.screen, ChoiceScreen)
        names = [b.name for _, b in app.screen.choices]
        assert names == ["Zoom Out 2x", "Zoom Out 1.5x", "Custom Zoom"]
        await pilot.press("j", "j", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ModalPromptScreen), "code 21 opens the prompt dialog"
        (zoom,) = [e.id for e in app.watchlist.entries if e.parent == upscale]
        assert app.screen.task_id == zoom
        field = app.screen.query_one("#modal-prompt")
        assert field.value == "a cat --v 6.0 --zoom 1.5"
        await pilot.press("backspace", "2")  # typing edits the prompt, never replaces it
        assert field.value == "a cat --v 6.0 --zoom 1.2"
        field.value = "a cat --v 6.0 --zoom 3"
        await pilot.pause()
        assert "between 1 and 2" in str(app.screen.query_one("#modal-problem").render())
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ModalPromptScreen), "an invalid zoom is not sent"
        assert sim.stats()["routes"]["modal"] == 0
        field.value = "a cat --v 6.0 --zoom 1.8"
        await pilot.pause()
        await pilot.press("enter")
        await settle(app, pilot)
        assert not isinstance(app.screen, ModalPromptScreen)
        assert sim.stats()["routes"]["modal"] == 1
        assert custom_zoom_used(app, upscale)
        await poll(app, pilot)
        assert app.tasks[zoom].action == "CUSTOM_ZOOM"
        assert app.tasks[zoom].prompt == "a cat --v 6.0 --zoom 1.8"
        assert app.tasks[zoom].status is not Status.MODAL
        clock.advance(900)
        await poll(app, pilot)
        assert app.tasks[zoom].status is Status.SUCCESS


def custom_zoom_used(app: MjdashApp, task_id: str) -> bool:
    return any(u.startswith("MJ::CustomZoom::") for u in app.watchlist.get(task_id).used)


async def test_m_on_a_modal_task_sends_the_prompt_and_a_mask(slow_sim, clock, tmp_path):
    sim = slow_sim
    first = grid(sim, "a cat --v 6.0")
    clock.advance(600)
    mask = tmp_path / "mask.png"
    mask.write_bytes(png.solid_png((255, 255, 255), 16))
    not_png = tmp_path / "mask.txt"
    not_png.write_text("hello")
    app = make_app(sim, tmp_path, [first], auto_poll=False, confirm_actions=False)
    notes = notes_of(app)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        upscale = await upscale_of(app, pilot, sim, clock, first)
        region = next(b for b in app.tasks[upscale].buttons if b.kind == "inpaint")
        app.actions.request_press(upscale, region)
        await settle(app, pilot)
        assert isinstance(app.screen, ModalPromptScreen)
        await pilot.press("escape")  # later, then: the task waits in MODAL
        await pilot.pause()
        assert any("press m" in note for note in notes)
        (inpaint,) = [e.id for e in app.watchlist.entries if e.parent == upscale]
        await poll(app, pilot)
        assert app.tasks[inpaint].status is Status.MODAL
        assert app.selected_id == inpaint
        await pilot.press("m")
        assert isinstance(app.screen, ModalPromptScreen)
        dialog = app.screen
        assert dialog.query_one("#modal-prompt").value == "a cat --v 6.0"
        dialog.query_one("#modal-mask").value = str(not_png)
        await pilot.press("enter")
        await pilot.pause()
        assert "not a PNG" in str(dialog.query_one("#modal-problem").render())
        assert sim.stats()["routes"]["modal"] == 0
        dialog.query_one("#modal-mask").value = str(mask)
        dialog.query_one("#modal-prompt").value = "a cat with a hat --v 6.0"
        await pilot.pause()
        await pilot.click("#modal-send")
        await settle(app, pilot)
        assert sim.stats()["routes"]["modal"] == 1
        await poll(app, pilot)
        assert app.tasks[inpaint].status is not Status.MODAL
        fetched = await app.client.fetch(inpaint)
        assert fetched.prompt == "a cat with a hat --v 6.0"
        assert (  # new-api: the continued row (fetch keeps answering the first, MODAL one)
            sim.engine.list_json([inpaint])[-1]["maskBase64"]
            == base64.b64encode(mask.read_bytes()).decode()
        )


async def test_m_on_a_task_that_is_not_modal_explains(slow_sim, clock, tmp_path):
    task = grid(slow_sim, "a fox")
    app = make_app(slow_sim, tmp_path, [task], auto_poll=False)
    notes = notes_of(app)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await pilot.press("m", "1", "z")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
        assert any("MODAL" in note for note in notes)
        assert any("finished" in note for note in notes)  # buttons only on finished tasks
        assert actions_sent(slow_sim) == 0


async def test_pan_choices_and_the_choice_dialog_cancels(slow_sim, clock, tmp_path):
    first = grid(slow_sim, "a cat --v 7")
    clock.advance(600)
    app = make_app(slow_sim, tmp_path, [first], auto_poll=False, confirm_actions=False)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await pilot.press("P")
        assert not isinstance(app.screen, ChoiceScreen), "a grid has no pan buttons"
        upscale = await upscale_of(app, pilot, slow_sim, clock, first)
        await pilot.press("P")
        assert isinstance(app.screen, ChoiceScreen)
        assert [b.name for _, b in app.screen.choices] == [
            "Pan left",
            "Pan right",
            "Pan up",
            "Pan down",
        ]
        await pilot.press("escape")
        await settle(app, pilot)
        assert actions_sent(slow_sim) == 1  # only the U1 that made the upscale
        assert app.watchlist.get(upscale).used == []


# --- copy formats ------------------------------------------------------------------------------


async def test_copy_chooser_offers_custom_id_json_and_curl(slow_sim, clock, tmp_path):
    task = grid(slow_sim, "a fox")
    clock.advance(600)
    app = make_app(slow_sim, tmp_path, [task], auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        u1 = app.tasks[task].buttons[0].custom_id
        await pilot.press("c")  # c stays the quick customId copy
        assert app.clipboard == u1
        await pilot.press("C")
        assert isinstance(app.screen, ChoiceScreen)
        assert [name for _, (name, _) in app.screen.choices] == [
            "customId",
            "JSON body",
            "curl line",
        ]
        await pilot.press("j", "enter")
        assert app.clipboard == f'{{"taskId": "{task}", "customId": "{u1}"}}'
        await pilot.press("C", "j", "j", "enter")
        line = app.clipboard
        assert line.startswith(f"curl -X POST {slow_sim.url}/mj/submit/action ")
        assert '"Authorization: Bearer $COMETAPI_KEY"' in line
        assert KEY not in line


def test_curl_line_quotes_for_the_shell_and_never_holds_the_key():
    custom_id = 'MJ::JOB::upsample::1::it\'s "odd" $(rm -rf x)'
    line = curl_line(
        "1773314942177684",
        custom_id,
        base_url="https://x.test/mj-fast/",
        key_env="MY_KEY",
        auth="mj-api-secret",
    )
    words = shlex.split(line)
    assert words[:4] == ["curl", "-X", "POST", "https://x.test/mj-fast/mj/submit/action"]
    assert words[4:6] == ["-H", "mj-api-secret: $MY_KEY"]
    assert words[-2] == "-d"
    assert json.loads(words[-1]) == {"taskId": "1773314942177684", "customId": custom_id}
    formats = dict(copy_formats("1", "c", base_url="https://x.test", key_env="K", auth="bearer"))
    assert formats["customId"] == "c"


@pytest.mark.skipif(not shutil.which("curl") or not shutil.which("bash"), reason="needs curl")
def test_the_curl_line_presses_the_button_on_the_simulator(sim, tmp_path):
    answer = sim.engine.imagine("a fox", owner=KEY)
    task = answer["result"]
    for _ in range(200):
        if sim.engine.status(task) == "SUCCESS":
            break
        subprocess.run(["sleep", "0.02"], check=True)
    u1 = sim.engine.task_json(task)["buttons"][0]["customId"]
    line = curl_line(task, u1, base_url=sim.url, key_env="COMETAPI_KEY", auth="bearer")
    done = subprocess.run(
        ["bash", "-c", line + " -s"],
        env={"COMETAPI_KEY": KEY, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    assert '"code":1' in done.stdout.replace(" ", ""), done.stdout


# --- triage ------------------------------------------------------------------------------------


async def test_triage_walks_unhandled_finished_tasks_and_x_dismisses(slow_sim, clock, tmp_path):
    sim = slow_sim
    ids = [grid(sim, f"lantern {n}") for n in range(4)]
    clock.advance(120)
    running = grid(sim, "still rendering")  # renders for 30 s at least
    failed = grid(sim, "broken --fail")
    clock.advance(10)
    app = make_app(sim, tmp_path, [*ids, running, failed], auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        assert all(app.tasks[i].status is Status.SUCCESS for i in ids)
        assert app.tasks[failed].status is Status.FAILURE
        status_line = app.query_one("#status-line")
        assert "⚑4 to triage" in status_line.render().plain
        app.watchlist.mark_used(ids[1], app.tasks[ids[1]].buttons[0].custom_id)
        app.table.select(ids[3])
        await pilot.press("x")  # dismissed: kept, marked done
        await pilot.pause()
        assert app.watchlist.get(ids[3]).dismissed
        assert app.table.get_cell(ids[3], "status").plain == "✔ SUCCESS –"  # dismissed, not used
        assert "⚑2 to triage" in status_line.render().plain
        # From the last row: wraps to the first waiting one, skipping used and dismissed.
        app.table.select(failed)
        order = []
        for _ in range(3):
            await pilot.press("n")
            order.append(app.selected_id)
        assert order == [ids[0], ids[2], ids[0]]
        app.table.select(ids[3])
        await pilot.press("x")  # x again undoes
        assert not app.watchlist.get(ids[3]).dismissed
        assert "⚑3 to triage" in status_line.render().plain
        await pilot.press("x", "q")
    assert Watchlist.load(tmp_path / "watchlist.toml").get(ids[3]).dismissed


async def test_n_with_nothing_to_triage_says_so(slow_sim, tmp_path):
    task = grid(slow_sim, "not finished")
    app = make_app(slow_sim, tmp_path, [task], auto_poll=False)
    notes = notes_of(app)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await pilot.press("n")
        assert app.selected_id == task
        assert any("Nothing to triage" in note for note in notes)
        assert "to triage" not in app.query_one("#status-line").render().plain


# --- lineage -----------------------------------------------------------------------------------


async def test_children_fold_under_their_parent_and_links_select(slow_sim, clock, tmp_path):
    sim = slow_sim
    first, other = grid(sim, "a heron"), grid(sim, "a crane")
    orphan = grid(sim, "added by id")
    clock.advance(600)
    app = make_app(sim, tmp_path, [first, other], auto_poll=False, confirm_actions=False)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await pilot.press("1")
        await settle(app, pilot)
        app.table.select(first)
        await pilot.press("2")
        await settle(app, pilot)
        kids = [e.id for e in app.watchlist.entries if e.parent == first]
        app.add_ids([orphan])  # added by id, no known parent: a root
        await pilot.pause()
        order = [row.id for row in app.rows]
        assert order == [first, *kids, other, orphan]
        assert id_cell(app, kids[0]).startswith("├ ") and id_cell(app, kids[1]).startswith("└ ")
        assert not id_cell(app, orphan).startswith(("├", "└"))

        app.table.select(first)
        await pilot.press("space")  # fold
        assert [row.id for row in app.rows] == [first, other, orphan]
        assert id_cell(app, first).startswith("▸+2 ")  # folded, hiding its two children
        await app.run_action(f"select_task('{kids[1]}')")  # what a click on a link does
        await pilot.pause()
        assert app.selected_id == kids[1], "selecting a hidden child unfolds its parent"
        await pilot.press("h")
        assert app.selected_id == first

        # The parent's id in the child's detail is a link that selects it when clicked.
        app.table.select(kids[0])
        await pilot.pause()
        info = app.detail.query_one("#detail-info")
        lines = info.render().plain.splitlines()
        row = next(i for i, line in enumerate(lines) if line.startswith("Parent"))
        await pilot.click(info, offset=(12, row))
        await pilot.pause()
        assert app.selected_id == first


# --- dialog checks (no screen) -----------------------------------------------------------------


def test_zoom_prefill_and_validation():
    assert prefill("a cat  --v 6.0", "custom_zoom") == "a cat --v 6.0 --zoom 1.5"
    assert prefill("a cat --zoom 2", "custom_zoom") == "a cat --zoom 2"
    assert prefill("a cat", "inpaint") == "a cat"
    assert zoom_problem("a cat --zoom 1.5") is None
    assert zoom_problem("a cat --zoom 1") is None and zoom_problem("x --zoom 2.0") is None
    for bad in (
        "a cat",
        "a cat --zoom",
        "a cat --zoom 2.5",
        "a --zoom 0.9",
        "a --zoom nan",
        "a --zoom x",
        "a --zoom 1.5 --zoom 1.2",
        "a --zoomy 1.5",
    ):
        assert zoom_problem(bad), bad


def test_read_mask_checks_png_and_size(tmp_path):
    good = tmp_path / "m.png"
    good.write_bytes(png.solid_png((0, 0, 0), 8))
    data, problem = read_mask(str(good))
    assert problem is None and base64.b64decode(data) == good.read_bytes()
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (4 * 1024 * 1024))
    assert "4 MiB" in read_mask(str(big))[1]
    text = tmp_path / "t.png"
    text.write_text("not an image")
    assert "not a PNG" in read_mask(str(text))[1]
    assert read_mask(str(tmp_path / "missing.png"))[1]
    assert read_mask(str(tmp_path))[1]
    assert "needs a mask" in read_mask("  ")[1]
