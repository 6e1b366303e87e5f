"""Marks and batch moves in the dashboard (issue 15): Pilot drives the keys against the
simulator over loopback HTTP; what was sent is read back from the simulator."""

from __future__ import annotations

import asyncio
import csv
import itertools
import re
import time
from dataclasses import replace
from datetime import UTC, datetime

from textual.pilot import Pilot
from textual.widgets import Static

from mjdash.model.moves import stalled_ids
from mjdash.model.task import Status
from mjdash.sim.engine import ManualClock
from mjdash.store.config import ActConfig
from mjdash.store.journal import Journal
from mjdash.ui.app import MjdashApp
from mjdash.ui.modal_prompt import ChoiceScreen
from mjdash.ui.move_screens import MoveConfirmScreen, TypedCountScreen
from mjdash.ui.screens import ConfirmScreen
from tests.support.harness import make_app

WIDE = (130, 40)
KEY = "test-key"
PACE = 0.05  # s between jobs in these tests (the product default is 1 s)


async def poll(app: MjdashApp, pilot: Pilot) -> None:
    worker = app.poll(force=True)
    assert worker is not None, "a poll was already running"
    await worker.wait()
    await pilot.pause()


async def settle(app: MjdashApp, pilot: Pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def finished(sim, prompts: list[str]) -> list[str]:
    """Imagine each prompt and wait (real time, fast simulator) until every one has ended."""
    ids = [sim.engine.imagine(p, owner=KEY)["result"] for p in prompts]
    for _ in range(300):
        if all(sim.engine.status(i) in ("SUCCESS", "FAILURE") for i in ids):
            return ids
        await asyncio.sleep(0.05)
    raise AssertionError("the simulator's tasks did not finish")


def children_of(app: MjdashApp, parent: str) -> list[str]:
    return [e.id for e in app.watchlist.entries if e.parent == parent]


def status_line(app: MjdashApp) -> str:
    return str(app.query_one("#status-line", Static).render())


def actions_sent(sim) -> int:
    return sim.stats()["routes"]["action"]


def submit_ms(sim, task_id: str) -> int:
    return sim.engine.task_json(task_id)["submitTime"]


def record_action_starts(app: MjdashApp) -> list[float]:
    """The monotonic time each /submit/action call starts, on the client."""
    starts: list[float] = []
    original = app.client.submit_action

    async def submit_action(task_id: str, custom_id: str):
        starts.append(time.monotonic())
        return await original(task_id, custom_id)

    app.client.submit_action = submit_action  # type: ignore[method-assign]
    return starts


def notes_of(app: MjdashApp) -> list[str]:
    notes: list[str] = []
    original = app.notify

    def notify(message, *args, **kwargs):
        notes.append(str(message))
        return original(message, *args, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return notes


async def test_marks_toggle_view_and_clear_with_a_mark_that_survives_the_cursor(sim, tmp_path):
    grids = await finished(sim, [f"marks {n}" for n in range(4)])
    app = make_app(sim, tmp_path, grids, auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        assert app.selected_id == grids[0]
        await pilot.press("t", "t")  # t marks and moves down
        assert app.selected_id == grids[2]
        assert len(app.marks) == 2 and "2 marked" in status_line(app)
        app.table.select(grids[0])
        await pilot.pause()
        cell = app.table.get_cell(grids[0], "id").plain
        assert "●" in cell and cell.endswith(grids[0][-8:])  # under the cursor too
        assert "●" not in app.table.get_cell(grids[3], "id").plain
        await pilot.press("t")  # unmark
        assert app.marks.ids == [grids[1]]
        await pilot.press("T")
        assert app.marks.ids == grids and "4 marked" in status_line(app)
        await pilot.press("ctrl+t")
        assert len(app.marks) == 0 and "marked" not in status_line(app)
        await pilot.press("T", "escape")  # Esc clears marks when nothing else is open
        assert len(app.marks) == 0
        assert app.marks.clear() is False
        # With marks, y copies every id, one a line; x dismisses them all.
        app.table.select(grids[0])
        await pilot.pause()
        await pilot.press("t", "t")
        copied: list[str] = []
        app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        await pilot.press("y")
        assert copied == ["\n".join(grids[:2])]
        await pilot.press("x")
        assert [app.watchlist.get(g).dismissed for g in grids] == [True, True, False, False]
        # E with marks exports only them (the view holds four).
        await pilot.press("E")
        (exported,) = app.batch.export_dir.glob("mjdash-*.csv")
        with exported.open(newline="", encoding="utf-8") as handle:
            assert [r["id"] for r in csv.DictReader(handle)] == grids[:2]
        # C: prompts of the marked tasks, one a line.
        await pilot.press("C")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("down", "enter")
        assert copied[-1] == "marks 0\nmarks 1"
        # d with marks asks first, then removes only them.
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        assert "2 marked" in app.screen.question.plain
        await pilot.press("y")
        await pilot.pause()
        assert app.watchlist.ids == grids[2:] and len(app.marks) == 0


async def test_u1_on_20_marked_grids_makes_20_upscales_each_under_its_parent_paced(sim, tmp_path):
    grids = await finished(sim, [f"batch {n} --ar 3:2" for n in range(20)])
    app = make_app(sim, tmp_path, grids, auto_poll=False)
    app.moves.pace = PACE
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        starts = record_action_starts(app)
        await pilot.press("T", "1")
        assert isinstance(app.screen, MoveConfirmScreen)
        assert app.screen.question.text.startswith("press U1: 20 jobs on 20 tasks")
        assert actions_sent(sim) == 0  # nothing before the confirm
        await pilot.press("y")  # 20 is not over confirm_over (20): no typed number
        assert not isinstance(app.screen, TypedCountScreen)
        await settle(app, pilot)
        assert actions_sent(sim) == 20
        children = [children_of(app, g) for g in grids]
        assert all(len(c) == 1 for c in children)
        kids = [c[0] for c in children]
        for parent, child in zip(grids, kids, strict=True):
            assert sim.engine.parent_of(child) == parent
            assert app.table.get_row_index(child) == app.table.get_row_index(parent) + 1
            assert app.watchlist.get(parent).used == [app.tasks[parent].buttons[0].custom_id]
        # Spaced by the pace, start to start, where the pace is kept: when each request left.
        # (The simulator's own submit times add the loopback's jitter under a loaded machine:
        # one late request followed by one on time once measured 124 ms then 6 ms.) The exact
        # pacing on a manual clock is in tests/unit/test_batch_press.py.
        assert len(starts) == 20
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert min(gaps) >= PACE * 0.95
        # The server took them one after another, in the order sent.
        received = [submit_ms(sim, k) for k in kids]
        assert received == sorted(received)
        await poll(app, pilot)
        assert {app.tasks[k].action for k in kids} == {"UPSCALE"}
        # Pressed before: skipped unless `a` in the confirm.
        await pilot.press("1")
        question = app.screen.question
        assert question.count == 0 and "pressed before" in question.details[0]
        await pilot.press("a")
        assert app.screen.question.count == 20
        await pilot.press("n")
        await settle(app, pilot)
        assert actions_sent(sim) == 20


async def test_refusals_are_reported_on_their_rows_and_the_rest_go_on(sim, tmp_path):
    grids = await finished(sim, [f"refused {n}" for n in range(6)])
    app = make_app(sim, tmp_path, grids, auto_poll=False)
    app.moves.pace = PACE
    notes = notes_of(app)
    engine = sim.engine
    press = engine.action
    calls = itertools.count()
    forced = {2: 23, 3: 24}  # the third job: queue full; the fourth: banned

    def action(*args, **kwargs):
        engine.force_code = forced.get(next(calls))
        return press(*args, **kwargs)

    engine.action = action
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await pilot.press("T", "2")
        await pilot.press("y")
        await settle(app, pilot)
        assert actions_sent(sim) == 6
        made = [len(children_of(app, g)) for g in grids]
        assert made == [1, 1, 0, 0, 1, 1]
        assert app.moves.refusal_of(grids[2]) == "23 queue full, try again later"
        assert app.moves.refusal_of(grids[3]).startswith("24 banned")
        assert app.table.get_cell(grids[2], "prompt").plain.startswith("✘ 23 queue full")
        assert app.table.get_cell(grids[3], "prompt").plain.startswith("✘ 24 banned")
        app.table.select(grids[2])
        await pilot.pause()
        detail = app.detail.query_one("#detail-info").render().plain
        unwrapped = re.sub(r"\n\s+", " ", detail)  # long values wrap under the value
        assert "Refused    23 queue full, try again later (last move)" in unwrapped
        summary = next(n for n in notes if n.startswith("press U2:"))
        assert "4 new tasks, 2 refused" in summary
        assert "23 queue full" in summary and "24 banned" in summary
        # Pressed again on the refused ones only (the others were pressed): the refusal goes.
        engine.action = press
        await pilot.press("2", "y")
        await settle(app, pilot)
        assert [len(children_of(app, g)) for g in grids] == [1] * 6
        assert app.moves.refusal_of(grids[2]) == ""


async def test_escape_mid_batch_stops_what_is_not_sent(sim, tmp_path):
    grids = await finished(sim, [f"stop {n}" for n in range(8)])
    app = make_app(sim, tmp_path, grids, auto_poll=False)
    app.moves.pace = 0.3
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await pilot.press("T", "3", "y")
        for _ in range(200):  # until the first upscale has landed
            if any(children_of(app, g) for g in grids):
                break
            await pilot.pause(0.02)
        assert app.moves.running
        assert "Esc stops" in status_line(app) and "of 8" in status_line(app)
        await pilot.press("escape")
        assert len(app.marks) == 8  # Esc stopped the move; the marks stay
        await settle(app, pilot)
        run = app.moves.last_run
        assert run is not None and run.unsent and len(run.results) < 8
        assert actions_sent(sim) == len(run.results)
        assert sum(len(children_of(app, g)) for g in grids) == len(run.results)
        assert not app.moves.running and "Esc stops" not in status_line(app)
        await pilot.press("escape")  # no move running: Esc is back to clearing the marks
        assert len(app.marks) == 0


async def test_over_confirm_over_the_number_must_be_typed(sim, tmp_path):
    grids = await finished(sim, [f"cap {n}" for n in range(2)])
    app = make_app(sim, tmp_path, grids, auto_poll=False)
    app.config = replace(app.config, act=ActConfig(confirm_over=5))
    app.moves.pace = PACE
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await pilot.press("T", "U")  # all four on two grids: 8 jobs
        assert app.screen.question.text.startswith("press U1-U4: 8 jobs on 2 tasks")
        await pilot.press("y")
        assert isinstance(app.screen, TypedCountScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        assert actions_sent(sim) == 0
        await pilot.press("U", "y", "7", "enter")  # a wrong number sends nothing
        assert isinstance(app.screen, TypedCountScreen)
        assert actions_sent(sim) == 0
        await pilot.press("backspace", "8", "enter")
        await settle(app, pilot)
        assert actions_sent(sim) == 8
        assert all(len(children_of(app, g)) == 4 for g in grids)


async def test_b_presses_a_chosen_button_by_name_on_the_marked_tasks(sim, tmp_path):
    grids = await finished(sim, [f"named {n}" for n in range(3)])
    app = make_app(sim, tmp_path, grids, auto_poll=False)
    app.moves.pace = PACE
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await pilot.press("t", "t", "b")
        assert isinstance(app.screen, ChoiceScreen)
        names = [c[1] for c in app.screen.choices]
        assert names[:2] == ["U1", "U2"] and "V3" in names
        for _ in range(names.index("V3")):
            await pilot.press("j")
        await pilot.press("enter")
        assert app.screen.question.text.startswith("press V3: 2 jobs on 2 tasks")
        await pilot.press("y")
        await settle(app, pilot)
        assert [len(children_of(app, g)) for g in grids] == [1, 1, 0]
        await poll(app, pilot)
        assert app.tasks[children_of(app, grids[0])[0]].action == "VARIATION"


async def test_r_retries_a_failed_task_as_a_linked_imagine_with_the_same_prompt(sim, tmp_path):
    failed, ok = await finished(sim, ["a castle in fog --fail --ar 3:2", "a calm sea"])
    app = make_app(sim, tmp_path, [failed, ok], auto_poll=False)
    app.moves.pace = PACE
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        assert app.tasks[failed].status is Status.FAILURE
        await pilot.press("T", "R")  # every task in view: only the failed one is retried
        question = app.screen.question
        assert question.text.startswith("submit again: 1 job for 1 task")
        assert "1 skipped" in question.text
        assert sim.stats()["routes"].get("imagine", 0) == 0
        await pilot.press("y")
        await settle(app, pilot)
        (new,) = children_of(app, failed)
        entry = app.watchlist.get(new)
        assert entry.retry_of == failed and app.watchlist.get(failed).dismissed
        assert sim.engine.task_json(new)["prompt"] == "a castle in fog --fail --ar 3:2"
        await poll(app, pilot)
        assert app.tasks[new].action == "IMAGINE"
        assert app.table.get_row_index(new) == app.table.get_row_index(failed) + 1
        # The lineage says what the link is: a retry of the old task, not a button's child.
        app.table.select(new)
        await pilot.pause()
        detail = app.detail.query_one("#detail-info").render().plain
        assert f"Retry of   {failed}" in detail and "Parent" not in detail
        # Retried already: skipped unless `a`.
        await pilot.press("ctrl+t")
        app.table.select(failed)
        await pilot.pause()
        await pilot.press("R")
        assert app.screen.question.count == 0
        await pilot.press("n")


async def test_retry_stalled_judges_a_task_stuck_since_the_dashboard_started(sim_factory, tmp_path):
    """`mjdash retry --stalled` reads the dashboard's journal. A task the dashboard loaded from
    the cache and that never moved after made no transition to journal: the dashboard flagged
    it stalled while the command said it had never been seen (found in tmux, issue 15)."""
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0, demo=True)
    now = lambda: datetime.fromtimestamp(clock(), UTC)  # noqa: E731
    # The cache filled by another run whose journal is elsewhere (as `mjdash status` fills it).
    elsewhere = Journal(tmp_path / "elsewhere.jsonl")
    first = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False, now=now, journal=elsewhere)
    async with first.run_test(size=WIDE) as pilot:
        await poll(first, pilot)
        fisherman = next(i for i, t in first.tasks.items() if "old fisherman" in t.prompt)
        assert first.tasks[fisherman].progress == 93  # stuck there (the demo's stall)
    assert Journal().latest([fisherman]) == {}
    app = make_app(sim, tmp_path, auto_poll=False, now=now)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        clock.advance(11 * 60)
        await poll(app, pilot)
        assert app.batch.stalls.is_stalled(fisherman)
        task = app.tasks[fisherman]
    records = Journal().latest([fisherman])
    history = {r.id: (r.ts, (r.new, r.progress)) for r in records.values()}
    assert stalled_ids([task], history, clock(), after=600, queue_after=900) == {fisherman}
