"""The board (mjdash/model/board.py) without Textual: real PollResults in, Changes out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from mjdash.model.board import Board
from mjdash.model.report import NOT_FOUND
from mjdash.model.secret import Secret
from mjdash.model.task import Status, Task, parse_task
from mjdash.net.client import MidjourneyClient
from mjdash.net.poller import Poller, PollerState, PollResult
from mjdash.sim.engine import ManualClock
from mjdash.sim.server import SimServer
from tests.support.faultserver import task_json

NOW = 1_773_315_000.0


def task(task_id: str, status: str = "IN_PROGRESS", progress: str = "50%", **extra) -> Task:
    parsed = parse_task({**task_json(task_id, status, progress), **extra}, task_id)
    assert isinstance(parsed, Task)
    return parsed


def result(tasks=(), not_found=(), bad=None) -> PollResult:
    return PollResult(
        tasks={t.id: t for t in tasks},
        not_found=set(not_found),
        bad=dict(bad or {}),
        state=PollerState.OK,
        error=None,
        retry_at=None,
        next_delay=5.0,
        requests=1,
        polled_ids=len(tasks),
    )


GRID_BUTTONS = [{"customId": "MJ::JOB::upsample::1::abc", "label": "U1", "emoji": "", "style": 2}]


def test_first_answers_are_changes_and_a_final_one_is_urgent():
    board = Board()
    changes = board.apply(result([task("a"), task("b", "SUCCESS", "100%")]), {"a", "b"}, NOW)
    assert changes.changed == ["a", "b"]
    assert set(changes.fresh) == {"a", "b"}
    assert changes.urgent  # b is final at its first answer: cached soon
    assert changes.done == []  # a first answer is not a transition to announce
    assert board.tasks["b"].status is Status.SUCCESS
    assert [t.old for t in changes.transitions] == [None, None]


def test_an_unwatched_id_is_ignored():
    board = Board()
    changes = board.apply(result([task("a"), task("x")]), {"a"}, NOW)
    assert changes.changed == ["a"]
    assert "x" not in board.tasks


def test_the_same_answer_again_changes_nothing():
    board = Board()
    board.apply(result([task("a")]), {"a"}, NOW)
    same = board.apply(result([task("a")]), {"a"}, NOW + 5)  # parsed anew, equal
    assert same.changed == [] and same.transitions == [] and not same.triage


def test_transitions_are_sorted_into_done_failed_and_modal():
    board = Board()
    ids = {"a", "b", "c", "d"}
    board.apply(result([task(i) for i in sorted(ids)]), ids, NOW)
    changes = board.apply(
        result(
            [
                task("a", "SUCCESS", "100%", buttons=GRID_BUTTONS),
                task("b", "FAILURE", "", failReason="banned"),
                task("c", "MODAL", ""),
                task("d", "CANCEL", ""),
            ]
        ),
        ids,
        NOW + 5,
    )
    assert changes.done == ["a"]
    assert changes.failed == ["b", "d"]
    assert changes.modal == ["c"]
    assert changes.triage and changes.finished
    assert [t.id for t in changes.succeeded] == ["a"]
    assert (changes.transitions[0].old, changes.transitions[0].new) == ("IN_PROGRESS", "SUCCESS")


def test_not_found_and_unusable_answers_stay_with_their_task_and_clear_on_a_good_one():
    board = Board()
    ids = {"a", "b"}
    board.apply(result([task("a"), task("b")]), ids, NOW)
    changes = board.apply(result(not_found={"a"}, bad={"b": "unreadable answer"}), ids, NOW + 5)
    assert sorted(changes.changed) == ["a", "b"]
    assert board.report_row("a").error == NOT_FOUND and board.report_row("a").task is None
    row_b = board.report_row("b")
    assert row_b.error == "unreadable answer" and row_b.task is not None  # last good answer kept
    again = board.apply(result(not_found={"a"}, bad={"b": "unreadable answer"}), ids, NOW + 10)
    assert again.changed == []  # the same marks: nothing to redraw
    cleared = board.apply(result([task("a"), task("b")]), ids, NOW + 15)
    assert sorted(cleared.changed) == ["a", "b"]  # unchanged tasks, but the marks went
    assert not board.not_found and not board.stale


def test_counts_follow_every_apply():
    board = Board()
    ids = ["a", "b"]
    board.everything.reset(ids, board.tasks)
    board.apply(result([task("a"), task("b")]), set(ids), NOW)
    assert board.everything.count("running") == 2
    board.apply(result([task("a", "SUCCESS", "100%")], not_found={"b"}), set(ids), NOW + 5)
    assert board.everything.count("done") == 1
    assert board.everything.count("missing") == 1
    assert board.everything.finished


def test_a_task_that_stops_moving_is_a_new_stall_once():
    board = Board(stall_after=60, queue_stall_after=60)
    board.apply(result([task("a")]), {"a"}, NOW)
    assert board.apply(result([task("a")]), {"a"}, NOW + 30).new_stalls == []
    assert board.apply(result([task("a")]), {"a"}, NOW + 61).new_stalls == ["a"]
    assert board.apply(result([task("a")]), {"a"}, NOW + 90).new_stalls == []
    moved = board.apply(result([task("a", progress="60%")]), {"a"}, NOW + 95)
    assert moved.changed == ["a"] and "a" not in board.stalls.stalled


def test_triage_is_recounted_only_after_a_move():
    class Entry:
        def __init__(self, task_id: str) -> None:
            self.id, self.used, self.dismissed = task_id, [], False

    board = Board()
    entries = [Entry("a"), Entry("b")]
    board.apply(result([task("a"), task("b")]), {"a", "b"}, NOW)
    assert board.triage_left(lambda: entries) == 0
    done = task("a", "SUCCESS", "100%", buttons=GRID_BUTTONS)
    board.apply(result([done]), {"a", "b"}, NOW + 5)
    assert board.triage_left(lambda: entries) == 1
    entries[0].used = ["MJ::JOB::upsample::1::abc"]
    assert board.triage_left(lambda: entries) == 1  # counted for this version
    board.triage_version += 1  # a mark changed (the dashboard bumps it then)
    assert board.triage_left(lambda: entries) == 0


def test_folds_and_forgetting():
    board = Board()
    parents = {"c": "b", "b": "a", "a": ""}
    assert not board.toggle_fold("a", has_children=False)
    assert board.toggle_fold("a", has_children=True) and "a" in board.collapsed
    board.collapsed.add("b")
    assert board.unfold_ancestors("c", parents.__getitem__)
    assert not board.collapsed
    board.apply(result([task("a")], not_found={"b"}), {"a", "b"}, NOW)
    board.forget(["a", "b"])
    assert not board.tasks and not board.not_found


def test_against_the_simulator_over_loopback():
    """A real poll of real ids: the board ends with every task finished, as the server says."""
    clock = ManualClock()
    with SimServer(clock=clock, speed=1.0, fail_rate=0.0, seed=3) as sim:
        ids = [sim.engine.imagine(f"a lighthouse {n}")["result"] for n in range(3)]
        watched = set(ids)

        async def poll_twice() -> tuple:
            async with MidjourneyClient(sim.url, Secret("sk-test")) as client:
                poller = Poller(client, interval=1.0)
                poller.track(ids)
                board = Board()
                first = board.apply(await poller.poll_once(force=True), watched, NOW)
                clock.advance(3600)
                second = board.apply(await poller.poll_once(force=True), watched, NOW + 5)
                return board, first, second

        board, first, second = asyncio.run(poll_twice())
    assert sorted(first.changed) == sorted(ids)
    assert sorted(second.changed) == sorted(ids)
    assert sorted(second.done + second.failed) == sorted(ids)
    assert all(board.tasks[i].is_terminal for i in ids)
    assert [board.report_row(i).task.id for i in ids] == ids


# --- clocks the server does not keep (issue 12) --------------------------------------------------


def test_a_final_task_with_no_finish_time_stops_where_it_was_first_seen_final():
    # new-api's one-hour sweep fails a task and leaves finishTime 0.
    board = Board()
    board.apply(result([task("a")]), {"a"}, NOW)
    timed_out = task("a", "FAILURE", "100%")
    assert timed_out.clock_stops_when_seen
    board.apply(result([timed_out]), {"a"}, NOW + 30)
    seen = datetime.fromtimestamp(NOW + 30, UTC)
    assert board.clocks("a")["first_seen_final"] == seen
    later = datetime.fromtimestamp(NOW + 3600, UTC)
    stopped = board.elapsed("a", board.tasks["a"], later)
    assert stopped == seen - board.tasks["a"].start_time  # not an hour more
    assert board.tasks["a"].elapsed(later) > stopped  # without the board it would run on
    board.apply(result([timed_out]), {"a"}, NOW + 90)  # a later answer does not move it
    assert board.clocks("a")["first_seen_final"] == seen


def test_a_task_seen_entering_modal_counts_from_then_one_first_seen_modal_from_its_submit():
    board = Board()
    board.apply(result([task("a", "SUBMITTED", "0%")]), {"a", "b"}, NOW)
    board.apply(result([task("a", "MODAL", "0%"), task("b", "MODAL", "0%")]), {"a", "b"}, NOW + 20)
    assert board.clocks("a")["modal_since"] == datetime.fromtimestamp(NOW + 20, UTC)
    assert board.clocks("b")["modal_since"] is None  # a modal button makes it MODAL at submit
    later = datetime.fromtimestamp(NOW + 80, UTC)
    assert board.elapsed("a", board.tasks["a"], later) == timedelta(seconds=60)
    assert board.elapsed("b", board.tasks["b"], later) == later - board.tasks["b"].submit_time
    board.forget(["a"])
    assert board.clocks("a") == {"first_seen_final": None, "modal_since": None}


def test_the_journal_says_when_a_task_was_first_seen_final_after_a_restart():
    board = Board()
    board.load({"a": task("a", "FAILURE", "100%")})
    board.restore_clocks([("a", NOW - 500, "FAILURE", 100)], ["a"], NOW)
    assert board.clocks("a")["first_seen_final"] == datetime.fromtimestamp(NOW - 500, UTC)
    board.load({"b": task("b", "CANCEL", "")}, now=NOW + 5)  # added later, from the cache
    assert board.clocks("b")["first_seen_final"] == datetime.fromtimestamp(NOW + 5, UTC)


# --- lineage the server tells (trueai's parentId) ----------------------------------------------


def test_parent_id_is_indexed_and_a_change_of_it_is_a_lineage_change():
    board = Board()
    changes = board.apply(result([task("p", "SUCCESS", "100%"), task("c")]), {"p", "c"}, NOW)
    assert not changes.lineage and board.server_children("p") == ()
    changes = board.apply(result([task("c", parentId="p")]), {"p", "c"}, NOW + 1)
    assert changes.lineage
    assert board.server_parent("c") == "p" and board.server_children("p") == ("c",)
    changes = board.apply(result([task("c", progress="60%", parentId="p")]), {"p", "c"}, NOW + 2)
    assert not changes.lineage  # progress moved, the lineage did not
    board.forget(["c"])
    assert board.server_children("p") == ()
