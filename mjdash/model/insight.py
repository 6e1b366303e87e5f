"""How far a batch is: counts, aggregate progress, medians, an ETA, and stalled tasks. No UI.

Everything here is incremental so that a poll costs O(tasks that changed):

- `BatchStats` keeps per-task contributions (group, progress, queue wait, render time) and
  updates counts, the progress sum and two sorted lists (for the medians) when a task changes.
  Only the ETA walks a list: the tasks rendering right now.
- `StallTracker` keeps, per unfinished task, when its (status, progress) last changed and a heap
  of the moments each task would turn stalled; `check(now)` pops what is due, so a once-a-second
  tick costs O(1) when nothing happens.

Times are epoch seconds (floats); the UI converts its `now()` datetime once.

The ETA (`BatchStats.summary`) is a simple model, stated so it can be judged:
R = the median render time (start -> finish) of the batch's finished tasks, or, before any
finished, the median of `elapsed * 100 / progress` over running tasks at 5% or more.
Each running task has `max(0, R - elapsed)` left; each queued task needs a whole R.
P = how many tasks render at once: the most seen rendering together in this session, at least
the number rendering now, and `DEFAULT_PARALLEL` while nothing has been seen yet.
ETA = max(longest remainder, R if anything is queued, (sum of remainders + queued * R) / P).
"""

from __future__ import annotations

import bisect
import heapq
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from mjdash.model.buckets import (
    DONE,
    FAILED,
    FINISHED,
    MISSING,
    MODAL,
    OTHER,
    QUEUED,
    RUNNING,
    WAITING,
    bucket,
)
from mjdash.model.task import Status, Task

# Midjourney's fast mode renders 3 jobs at once on the standard plans: the guess for P until
# the batch shows its own parallelism.
DEFAULT_PARALLEL = 3
MIN_PROGRESS_FOR_ESTIMATE = 5
DEFAULT_STALL_AFTER = 10 * 60.0
DEFAULT_QUEUE_STALL_AFTER = 15 * 60.0

# The buckets (done, failed, ... and what "finished" means) are defined once, in buckets.py.
QUEUED_STATUSES = frozenset({Status.PENDING, Status.NOT_START, Status.SUBMITTED})
QUEUED_TEXTS = frozenset(status.value for status in QUEUED_STATUSES)
# Not polled, so never stalled: finished, and MODAL (waits for the user). = not needs_polling
_NOT_POLLED = frozenset({Status.SUCCESS, Status.FAILURE, Status.CANCEL, Status.MODAL})
SAME = object()  # StallTracker.update: the signature did not change


def group_of(task: Task | None, not_found: bool = False) -> str:
    """The bucket of a watched task (model/buckets.py)."""
    return bucket(task.status if task is not None else None, not_found)


def median(values: list[float]) -> float | None:
    """The median of an already sorted list, None when empty."""
    count = len(values)
    if not count:
        return None
    middle = count // 2
    if count % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2


# --- the summary ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    """The batch at a glance. `eta_at` is absolute, so a clock tick only subtracts."""

    total: int = 0
    done: int = 0
    failed: int = 0
    running: int = 0
    queued: int = 0  # queued, plus tasks with no answer yet
    modal: int = 0
    missing: int = 0
    stalled: int = 0
    progress: float = 0.0  # 0..1: finished tasks count whole, running ones by their progress
    median_queue: float | None = None  # seconds, submit -> start
    median_render: float | None = None  # seconds, start -> finish (successful tasks)
    eta_at: float | None = None  # epoch seconds when the batch should be finished
    parallel: int = 0  # P used for the ETA

    @property
    def finished(self) -> bool:
        """Every task finished (model/buckets.py: done, failed or missing; MODAL is not)."""
        return self.total > 0 and self.done + self.failed + self.missing == self.total

    def eta(self, now: float) -> float | None:
        """Seconds until the batch should be finished (0 when overdue), None when unknown."""
        if self.finished:
            return 0.0
        if self.eta_at is None:
            return None
        return max(0.0, self.eta_at - now)


class _Part(NamedTuple):  # a tuple: built for every changed task on every poll, 3x cheaper
    group: str
    units: float  # progress toward finished, 0..1
    queue: float | None
    render: float | None
    start: float | None  # epoch, for running tasks
    progress: int | None


_EMPTY_PART = _Part(WAITING, 0.0, None, None, None, None)


def _move(values: list[float], old: float | None, new: float | None) -> None:
    """In a sorted list: remove `old` (when there) and insert `new` (when not None)."""
    if old is not None:
        index = bisect.bisect_left(values, old)
        if index < len(values) and values[index] == old:
            del values[index]
    if new is not None:
        bisect.insort(values, new)


_ZERO = timedelta(0)
_STATUS_GROUP = {status: status.group for status in Status}


def _part(task: Task | None, not_found: bool = False) -> _Part:
    # Built for every changed task on every poll (10,000 on a big one): the Task properties
    # (group, queue_wait, render_time) are spelled out here.
    if task is None:
        return _Part(MISSING if not_found else WAITING, 1.0 if not_found else 0.0, *_NO_TIMES)
    group = MISSING if not_found else _STATUS_GROUP[task.status]
    submit, start = task.submit_time, task.start_time
    queue = None if submit is None or start is None else max(start - submit, _ZERO).total_seconds()
    if group == RUNNING:
        progress = task.progress
        units = 0.0 if progress is None else min(max(progress, 0), 100) / 100
        begin = start or submit
        return _Part(group, units, queue, None, begin and begin.timestamp(), progress)
    if group == DONE:
        finish = task.finish_time
        render = (
            None if start is None or finish is None else max(finish - start, _ZERO).total_seconds()
        )
        return _Part(group, 1.0, queue, render, None, task.progress)
    units = 1.0 if group in (FAILED, MISSING) else 0.0
    return _Part(group, units, queue, None, None, task.progress)


_NO_TIMES = (None, None, None, None)


# A task's contribution to a BatchStats (for `BatchStats.put_part`): `_part` itself, called
# for every changed task on every poll (no wrapper call).
task_part = _part


class BatchStats:
    """Counts, progress and medians over a set of member tasks, updated one task at a time."""

    def __init__(self, peak_running: int = 0) -> None:
        self._parts: dict[str, _Part] = {}
        self._counts: Counter[str] = Counter()
        self._units = 0.0
        self._queue: list[float] = []
        self._render: list[float] = []
        self._running: dict[str, _Part] = {}
        self.peak_running = peak_running  # the most seen rendering at once

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._parts

    def __len__(self) -> int:
        return len(self._parts)

    def count(self, group: str) -> int:
        """Members in a group (DONE, FAILED, RUNNING, ...)."""
        return self._counts[group]

    @property
    def finished(self) -> bool:
        """Every member finished (model/buckets.py: done, failed or missing; MODAL is not),
        and there is at least one."""
        counts = self._counts
        return bool(self._parts) and sum(counts[name] for name in FINISHED) == len(self._parts)

    def reset(
        self,
        ids: Iterable[str],
        tasks: Mapping[str, Task],
        not_found: Iterable[str] = (),
    ) -> None:
        """Make `ids` the members (O(members)); the peak parallelism seen is kept."""
        missing = set(not_found)
        self._parts.clear()
        self._counts.clear()
        self._units = 0.0
        self._queue.clear()
        self._render.clear()
        self._running.clear()
        for task_id in ids:
            if task_id not in self._parts:
                self._add(task_id, _part(tasks.get(task_id), task_id in missing))
        self._queue.sort()
        self._render.sort()

    def put(self, task_id: str, task: Task | None, not_found: bool = False) -> None:
        """A member changed (or joined)."""
        self.put_part(task_id, _part(task, not_found))

    def put_part(self, task_id: str, new: _Part) -> None:
        """`put` with the task's contribution already worked out (`task_part`): a poll computes
        it once for the two BatchStats a task belongs to."""
        old = self._parts.get(task_id)
        if old == new:
            return
        if old is None:
            self._add(task_id, new, keep_sorted=True)
            return
        # `_remove` then `_add`, touching only what differs (a poll changes the progress of
        # thousands of tasks; their queue and render times rarely move).
        parts = self._parts
        del parts[task_id]
        parts[task_id] = new
        if old.group != new.group:
            self._counts[old.group] -= 1
            self._counts[new.group] += 1
        self._units -= old.units
        self._units += new.units
        if old.queue != new.queue:
            _move(self._queue, old.queue, new.queue)
        if old.render != new.render:
            _move(self._render, old.render, new.render)
        self._running.pop(task_id, None)
        if new.group == RUNNING:
            self._running[task_id] = new

    def discard(self, task_id: str) -> None:
        old = self._parts.get(task_id)
        if old is not None:
            self._remove(task_id, old)

    def _add(self, task_id: str, part: _Part, keep_sorted: bool = False) -> None:
        self._parts[task_id] = part
        self._counts[part.group] += 1
        self._units += part.units
        for values, value in ((self._queue, part.queue), (self._render, part.render)):
            if value is not None:
                if keep_sorted:
                    bisect.insort(values, value)
                else:
                    values.append(value)
        if part.group == RUNNING:
            self._running[task_id] = part

    def _remove(self, task_id: str, part: _Part) -> None:
        del self._parts[task_id]
        self._counts[part.group] -= 1
        self._units -= part.units
        for values, value in ((self._queue, part.queue), (self._render, part.render)):
            if value is not None:
                index = bisect.bisect_left(values, value)
                if index < len(values) and values[index] == value:
                    del values[index]
        self._running.pop(task_id, None)

    def summary(self, now: float, stalled: int = 0) -> Summary:
        """The summary at `now` (epoch seconds); O(running tasks) for the ETA."""
        counts = self._counts
        total = len(self._parts)
        running = counts[RUNNING]
        queued = counts[QUEUED] + counts[WAITING] + counts[OTHER]
        self.peak_running = max(self.peak_running, running)
        render = median(self._render)
        eta_at, parallel = self._eta(now, render, queued)
        return Summary(
            total=total,
            done=counts[DONE],
            failed=counts[FAILED],
            running=running,
            queued=queued,
            modal=counts[MODAL],
            missing=counts[MISSING],
            stalled=stalled,
            progress=(self._units / total) if total else 0.0,
            median_queue=median(self._queue),
            median_render=render,
            eta_at=eta_at,
            parallel=parallel,
        )

    def _eta(self, now: float, render: float | None, queued: int) -> tuple[float | None, int]:
        # O(running) on every poll that changed something: comprehensions over the parts'
        # fields, unpacked (group, units, queue, render, start, progress).
        running = self._running.values()
        if not running and not queued:
            return None, 0
        if render is None:
            floor = MIN_PROGRESS_FOR_ESTIMATE
            guesses = [
                (now - start) * 100 / progress
                for _, _, _, _, start, progress in running
                if start is not None and progress is not None and progress >= floor
            ]
            guesses.sort()
            render = median(guesses)
        if render is None:
            return None, 0
        # A task started at `start` has max(0, render - (now - start)) = max(0, start - edge)
        # left; one with no start time a whole `render`.
        edge = now - render
        starts = [start for _, _, _, _, start, _ in running]
        unstarted = starts.count(None)
        left = [start - edge for start in starts if start is not None and start > edge]
        longest = max(left, default=0.0)
        if unstarted:
            longest = max(longest, render)
        seen = self.peak_running if self.peak_running else min(max(queued, 1), DEFAULT_PARALLEL)
        parallel = max(len(starts), seen, 1)
        eta = max(
            longest,
            render if queued else 0.0,
            (sum(left) + unstarted * render + queued * render) / parallel,
        )
        return now + eta, parallel


# --- stalls -----------------------------------------------------------------------------------


def signature(task: Task) -> tuple[str, int | None]:
    """What counts as a change for the stall clock: the status (as shown) and the progress."""
    return (task.status_text, task.progress)


@dataclass(frozen=True, slots=True)
class Stall:
    """Why a task is flagged: `kind` "silent" (no change for a while) or "queue" (still queued
    long after it was submitted); `seconds` is how long that has been the case."""

    kind: str
    seconds: float


class StallTracker:
    """Per unfinished task: when it last changed, and whether it is stalled.

    A task is stalled when its (status, progress) has not changed for `after` seconds, or it
    has been queued (PENDING, NOT_START, SUBMITTED, moving between them or not) for
    `queue_after` seconds. Both clocks are ours: the queue clock starts when mjdash first saw
    the task queued, not at the server's submit time, so a server clock behind ours (or a task
    added long after it was submitted) does not flag a task the moment it appears. The times
    can be restored (from the journal) so the clocks survive a restart.
    """

    def __init__(
        self, after: float = DEFAULT_STALL_AFTER, queue_after: float = DEFAULT_QUEUE_STALL_AFTER
    ) -> None:
        self.after = float(after)
        self.queue_after = float(queue_after)
        self._since: dict[str, float] = {}
        self._sig: dict[str, tuple[str, int | None]] = {}
        self._queued: dict[str, float] = {}  # queued tasks: when their queue clock started
        self._heap: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}  # the live deadline of each scheduled task
        self.stalled: set[str] = set()

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._since

    def restore(self, task_id: str, when: float, sig: tuple[str, int | None]) -> None:
        """Before the first observation: the task looked like `sig` since `when` (epoch)."""
        if task_id not in self._sig:
            self._since[task_id] = when
            self._sig[task_id] = sig
            if sig[0] in QUEUED_TEXTS:
                self._queued[task_id] = when

    def observe(self, task: Task, now: float) -> bool:
        """Take the task's latest state; True when its stalled flag went off (it moved or ended)."""
        was = task.id in self.stalled
        self.update(task, now)
        return was and task.id not in self.stalled

    def update(
        self, task: Task, now: float, status_text: str | None = None
    ) -> tuple[str, int | None] | object | None:
        """Take the task's latest state. Returns its signature before, when it changed (None
        when first seen), else `SAME`: a poll journals the change without asking again.
        `status_text`: the task's, when the caller has it already."""
        # Called for every changed task on every poll: `signature` and `_schedule` inlined.
        task_id = task.id
        status = task.status
        sig = (task.status_text if status_text is None else status_text, task.progress)
        sigs, since = self._sig, self._since
        before = sigs.get(task_id)
        if before != sig:
            sigs[task_id] = sig
            since[task_id] = now
            moved = True
        else:
            since.setdefault(task_id, now)
            moved = False
            before = SAME
        stalled = self.stalled
        if status in _NOT_POLLED:
            self._unschedule(task_id)
            stalled.discard(task_id)
            return before
        if status in QUEUED_STATUSES:
            queued = self._queued.setdefault(task_id, since[task_id])
        else:
            self._queued.pop(task_id, None)
            queued = None
        if task_id in stalled:
            if not moved:
                return before  # stalled and unchanged: stays flagged, nothing scheduled
            stalled.discard(task_id)
        deadline = since[task_id] + self.after
        if queued is not None:
            deadline = min(deadline, queued + self.queue_after)
        due = self._due
        scheduled = due.get(task_id)
        if scheduled != deadline:
            due[task_id] = deadline
            # Lazily: a later deadline keeps the heap entry it has (`check` re-files it when it
            # comes up), so a poll that moves 10,000 tasks pushes nothing.
            if scheduled is None or deadline < scheduled:
                heapq.heappush(self._heap, (deadline, task_id))
        return before

    def forget(self, ids: Iterable[str]) -> None:
        for task_id in ids:
            self._unschedule(task_id)
            self._since.pop(task_id, None)
            self._sig.pop(task_id, None)
            self.stalled.discard(task_id)

    def _deadline(self, task_id: str) -> float:
        deadline = self._since[task_id] + self.after
        queued = self._queued.get(task_id)
        if queued is not None:
            deadline = min(deadline, queued + self.queue_after)
        return deadline

    def _schedule(self, task_id: str) -> None:
        if task_id in self.stalled:
            return
        deadline = self._deadline(task_id)
        scheduled = self._due.get(task_id)
        if scheduled == deadline:
            return  # unchanged: no new heap entry
        self._due[task_id] = deadline
        if scheduled is None or deadline < scheduled:
            heapq.heappush(self._heap, (deadline, task_id))

    def _unschedule(self, task_id: str) -> None:
        self._due.pop(task_id, None)
        self._queued.pop(task_id, None)

    def check(self, now: float) -> list[str]:
        """Tasks that turned stalled since the last check (cheap when none did)."""
        # Every scheduled task has a heap entry at or before its live deadline (`_due`).
        found = []
        heap, due = self._heap, self._due
        while heap and heap[0][0] <= now:
            deadline, task_id = heapq.heappop(heap)
            live = due.get(task_id)
            if live is None or live < deadline:
                continue  # finished, or an earlier entry of it came up already
            if live > deadline:
                heapq.heappush(heap, (live, task_id))  # it moved since: file it anew
                continue
            del due[task_id]
            if task_id not in self.stalled:
                self.stalled.add(task_id)
                found.append(task_id)
        if len(heap) > 4 * max(len(due), 64):
            # Many superseded entries: rebuild so the heap stays O(tasks).
            self._heap = [(deadline, task_id) for task_id, deadline in due.items()]
            heapq.heapify(self._heap)
        return found

    def last_change(self, task_id: str) -> float | None:
        return self._since.get(task_id)

    def signature(self, task_id: str) -> tuple[str, int | None] | None:
        """The (status, progress) last observed or restored for the task."""
        return self._sig.get(task_id)

    def is_stalled(self, task_id: str) -> bool:
        return task_id in self.stalled

    def stall(self, task_id: str, now: float) -> Stall | None:
        """Why and for how long the task is stalled; None when it is not."""
        if task_id not in self.stalled:
            return None
        silent = now - self._since.get(task_id, now)
        queued = self._queued.get(task_id)
        if silent < self.after and queued is not None:
            return Stall("queue", max(0.0, now - queued))
        return Stall("silent", max(0.0, silent))


def stall_advice(stall: Stall, status: Status) -> str:
    """What the user can do about a stalled task (for the detail pane)."""
    minutes = int(stall.seconds // 60)
    if stall.kind == "queue" or status in QUEUED_STATUSES:
        return (
            f"queued for {minutes} min: the service may be busy, or the task was lost. "
            "Wait a little longer, or submit its prompt again."
        )
    return (
        f"no progress for {minutes} min. The service gives up on a task after an hour without "
        "progress: wait, or submit its prompt again."
    )
