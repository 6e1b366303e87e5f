"""Summary, medians, ETA and stall detection (mjdash/insight.py) against the simulator's clock."""

from __future__ import annotations

import statistics

import pytest

from mjdash.model.insight import (
    DEFAULT_PARALLEL,
    BatchStats,
    StallTracker,
    group_of,
    median,
    signature,
)
from mjdash.model.secret import Secret
from mjdash.model.task import Status, Task
from mjdash.net.client import MidjourneyClient
from mjdash.sim.engine import ManualClock


def imagine(sim, prompt: str) -> str:
    answer = sim.engine.imagine(prompt)
    assert answer["code"] == 1, answer
    return answer["result"]


async def fetch(sim, ids: list[str]) -> dict[str, Task]:
    async with MidjourneyClient(sim.url, Secret("k"), timeout=5.0) as client:
        found = await client.fetch_many(ids)
    assert all(isinstance(task, Task) for task in found.values()), found
    return found  # type: ignore[return-value]


def test_median_of_sorted_values():
    assert median([]) is None
    assert median([3.0]) == 3.0
    assert median([1.0, 2.0, 10.0]) == 2.0
    assert median([1.0, 2.0, 4.0, 10.0]) == 3.0


async def test_summary_counts_medians_and_eta_with_a_known_clock(sim_factory):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0)
    finished = [imagine(sim, f"lighthouse {n}") for n in range(6)]
    clock.advance(120)  # renders take 30-60 s after at most 7.5 s of queue: all done
    running = [imagine(sim, f"koi {n}") for n in range(4)]
    clock.advance(12)  # queued at most 7.5 s, rendering at least 30 s: all in progress
    queued = [imagine(sim, f"caravan {n}") for n in range(2)]  # just submitted
    ids = [*finished, *running, *queued]
    tasks = await fetch(sim, ids)
    assert {tasks[i].status for i in finished} == {Status.SUCCESS}
    assert {tasks[i].status for i in running} == {Status.IN_PROGRESS}
    assert {tasks[i].status for i in queued} <= {Status.PENDING, Status.NOT_START}

    stats = BatchStats()
    stats.reset(ids, tasks)
    now = clock()
    summary = stats.summary(now)
    assert (summary.total, summary.done, summary.running, summary.queued) == (12, 6, 4, 2)
    assert (summary.failed, summary.modal, summary.missing) == (0, 0, 0)

    renders = [tasks[i].render_time.total_seconds() for i in finished]
    waits = [tasks[i].queue_wait.total_seconds() for i in [*finished, *running]]
    assert summary.median_render == pytest.approx(statistics.median(renders))
    assert summary.median_queue == pytest.approx(statistics.median(waits))
    in_flight = sum(tasks[i].progress / 100 for i in running)
    assert summary.progress == pytest.approx((6 + in_flight) / 12)

    # ETA: R = median render; each running task has R - elapsed left; P = 4 seen at once.
    render = statistics.median(renders)
    left = [max(0.0, render - (now - tasks[i].start_time.timestamp())) for i in running]
    expected = max(max(left), render, (sum(left) + 2 * render) / 4)
    assert summary.parallel == 4
    assert summary.eta(now) == pytest.approx(expected)
    assert summary.eta(now + 5) == pytest.approx(max(0.0, expected - 5))  # a tick subtracts
    assert not summary.finished

    # Every task finishes: the batch is settled, the ETA is zero.
    clock.advance(400)
    later = await fetch(sim, ids)
    for task_id in ids:
        stats.put(task_id, later[task_id])
    done = stats.summary(clock())
    assert done.finished and done.done == 12 and done.progress == pytest.approx(1.0)
    assert done.eta(clock()) == 0.0
    assert stats.finished


def test_eta_before_anything_finished_comes_from_running_progress():
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)
    # Started 20 s ago at 40%: about 50 s in all, 30 s left.
    a = Task(
        "1773314942177001",
        Status.IN_PROGRESS,
        progress=40,
        start_time=now - timedelta(seconds=20),
        submit_time=now - timedelta(seconds=25),
    )
    b = Task("1773314942177002", Status.NOT_START, submit_time=now)
    stats = BatchStats()
    stats.reset([a.id, b.id], {a.id: a, b.id: b})
    summary = stats.summary(now.timestamp())
    assert summary.median_render is None
    # R = 50 s; running: 30 s left; 1 queued; P = max(1 running, 1 seen) = 1.
    assert summary.eta(now.timestamp()) == pytest.approx(max(30, 50, (30 + 50) / 1))
    # Nothing running and nothing finished: no ETA at all.
    alone = BatchStats()
    alone.reset([b.id], {b.id: b})
    assert alone.summary(now.timestamp()).eta(now.timestamp()) is None


def test_parallel_guess_before_any_task_was_seen_rendering():
    stats = BatchStats()
    assert stats.peak_running == 0
    summary = stats.summary(0.0)
    assert summary.eta(0.0) is None and summary.total == 0
    assert DEFAULT_PARALLEL == 3


def test_groups_and_incremental_updates_match_a_fresh_count():
    tasks = {
        "1773314942177001": Task("1773314942177001", Status.SUCCESS),
        "1773314942177002": Task("1773314942177002", Status.CANCEL),
        "1773314942177003": Task("1773314942177003", Status.MODAL),
    }
    stats = BatchStats()
    stats.reset([*tasks, "1773314942177004"], tasks, not_found={"1773314942177004"})
    assert stats.count("done") == 1 and stats.count("failed") == 1
    assert stats.count("modal") == 1 and stats.count("missing") == 1
    assert not stats.finished  # the MODAL task waits for the user
    stats.put("1773314942177003", Task("1773314942177003", Status.FAILURE))
    assert stats.finished
    stats.discard("1773314942177001")
    assert len(stats) == 3 and stats.count("done") == 0
    assert group_of(None) == "unpolled" and group_of(None, not_found=True) == "missing"


async def test_stall_flag_after_simulated_silence(sim_factory):
    """The demo's fisherman holds 93% forever: flagged after 10 minutes without a change."""
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0, demo=True)
    ids = sim.seeded_ids
    fisherman = next(i for i in ids if "fisherman" in sim.engine.task_json(i)["prompt"])
    tracker = StallTracker(after=600, queue_after=900)
    clock.advance(60)
    for task in (await fetch(sim, ids)).values():
        tracker.observe(task, clock())
    assert tracker.check(clock()) == []
    held = (await fetch(sim, [fisherman]))[fisherman]
    assert held.status is Status.IN_PROGRESS and held.progress == 93

    clock.advance(300)  # five minutes: not yet
    tasks = await fetch(sim, ids)
    for task in tasks.values():
        tracker.observe(task, clock())
    assert fisherman not in tracker.check(clock())

    clock.advance(301)  # ten minutes since its last change
    tasks = await fetch(sim, ids)
    for task in tasks.values():
        tracker.observe(task, clock())
    flagged = tracker.check(clock())
    assert fisherman in flagged
    stall = tracker.stall(fisherman, clock())
    assert stall is not None and stall.kind == "silent" and stall.seconds >= 600
    # Finished or MODAL tasks are never stalled; the check reports a task once.
    for task_id in flagged:
        assert tasks[task_id].needs_polling
    assert tracker.check(clock() + 1) == []
    assert tracker.last_change(fisherman) == pytest.approx(clock() - 601)


def test_a_change_clears_the_flag_and_restarts_the_clock():
    tracker = StallTracker(after=600, queue_after=900)
    task = Task("1773314942177001", Status.IN_PROGRESS, progress=10)
    tracker.observe(task, 1000.0)
    assert tracker.check(1599.0) == []
    assert tracker.check(1600.0) == [task.id]
    assert tracker.observe(task, 1700.0) is False  # no change: still stalled
    assert tracker.is_stalled(task.id)
    moved = Task(task.id, Status.IN_PROGRESS, progress=11)
    assert tracker.observe(moved, 1710.0) is True
    assert not tracker.is_stalled(task.id)
    assert tracker.check(2309.0) == []
    assert tracker.check(2310.0) == [task.id]
    assert tracker.observe(Task(task.id, Status.SUCCESS, progress=100), 2400.0) is True
    assert tracker.check(99999.0) == []


def test_queued_too_long_even_while_its_status_changes():
    tracker = StallTracker(after=600, queue_after=900)
    task_id = "1773314942177001"
    tracker.observe(Task(task_id, Status.PENDING), 0.0)
    tracker.observe(Task(task_id, Status.NOT_START), 500.0)
    tracker.observe(Task(task_id, Status.SUBMITTED), 850.0)  # each change resets "silent"
    assert tracker.check(899.0) == []
    assert tracker.check(900.0) == [task_id]
    stall = tracker.stall(task_id, 960.0)
    assert stall is not None and stall.kind == "queue" and stall.seconds == 960.0


def test_restored_clock_survives_a_restart_when_nothing_changed():
    task = Task("1773314942177001", Status.IN_PROGRESS, progress=50)
    first = StallTracker(after=600)
    first.observe(task, 1000.0)
    # A new process: the journal says the task looked the same since 1000.
    second = StallTracker(after=600)
    second.restore(task.id, 1000.0, signature(task))
    second.observe(task, 1500.0)
    assert second.last_change(task.id) == 1000.0
    assert second.check(1600.0) == [task.id]
    # It changed while we were away: the clock starts at the first observation.
    third = StallTracker(after=600)
    third.restore(task.id, 1000.0, ("IN_PROGRESS", 40))
    third.observe(task, 1500.0)
    assert third.last_change(task.id) == 1500.0
    assert third.check(1600.0) == []
