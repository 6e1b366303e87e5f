"""The board: the one owner of the watched tasks' state, with no UI.

It holds what the server said about each watched id (`tasks`), which ids it does not know
(`not_found`), which answers were unusable and why (`stale`), which lineages are folded
(`collapsed`), the stall clocks (`stalls`), the counts over every watched task
(`everything`) and the view (`view`: filter and sort, the tasks that pass it, their counts).
`apply(poll_result)` merges one poll answer and returns `Changes`: which rows to redraw and
which events to announce. The dashboard (mjdash/ui/) and the headless `mjdash status`
(mjdash/commands/status.py) both merge through it.

The watchlist (which ids, their lineage, labels, used buttons) lives in mjdash.store; the board
is handed the watched ids and the entries it needs, so it imports nothing above mjdash.model.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol

from mjdash.model.insight import (
    DEFAULT_QUEUE_STALL_AFTER,
    DEFAULT_STALL_AFTER,
    SAME,
    BatchStats,
    StallTracker,
    task_part,
)
from mjdash.model.report import NOT_FOUND, Row
from mjdash.model.task import Status, Task
from mjdash.model.triage import Entry, triage_count
from mjdash.model.view import BoardView


class PollAnswer(Protocol):
    """What the board reads of a poll answer (mjdash.net.poller.PollResult)."""

    @property
    def tasks(self) -> Mapping[str, Task]: ...
    @property
    def not_found(self) -> Collection[str]: ...
    @property
    def bad(self) -> Mapping[str, str]: ...


class Transition(NamedTuple):  # a tuple: a poll can build 10,000 of them on the UI thread
    """A watched task's status or progress moved (a line of the change journal)."""

    id: str
    old: str | None  # the status text before, None for the first answer
    new: str
    progress: int | None


@dataclass(slots=True)
class Changes:
    """What one `Board.apply` changed."""

    changed: list[str] = field(default_factory=list)  # rows to redraw
    fresh: dict[str, Task] = field(default_factory=dict)  # new snapshots (for the cache)
    done: list[str] = field(default_factory=list)  # entered SUCCESS
    failed: list[str] = field(default_factory=list)  # entered FAILURE or CANCEL
    modal: list[str] = field(default_factory=list)  # entered MODAL
    triage: bool = False  # a task entered or left SUCCESS: the triage count may have moved
    urgent: bool = False  # a first answer that is final (cache it within a second)
    transitions: list[Transition] = field(default_factory=list)
    succeeded: list[Task] = field(default_factory=list)  # entered SUCCESS (auto-download)
    new_stalls: list[str] = field(default_factory=list)  # flagged stalled by this apply
    lineage: bool = False  # a task's server-side parent (trueai's parentId) appeared or moved

    @property
    def finished(self) -> bool:
        """Something reached an end (or MODAL): the cache writes these soon."""
        return bool(self.done or self.failed or self.modal)


class Board:
    """Watched tasks by id, not-found ids, unusable answers, folds, stall clocks, counts, the
    view."""

    def __init__(
        self,
        *,
        stall_after: float = DEFAULT_STALL_AFTER,
        queue_stall_after: float = DEFAULT_QUEUE_STALL_AFTER,
    ) -> None:
        self.tasks: dict[str, Task] = {}
        self.not_found: set[str] = set()
        self.stale: dict[str, str] = {}  # id -> why its last answer was unusable
        self.collapsed: set[str] = set()  # parents whose children are folded away
        self.stalls = StallTracker(stall_after, queue_stall_after)
        self.everything = BatchStats()  # every watched task: "batch complete"
        self.triage_version = 0  # bumped whenever the triage count may have moved
        self._triage_counted: tuple[int, int] | None = None
        # Clocks the server does not keep (model/task.py, Task.elapsed): when a final task with
        # no finish time was first seen final, and when a task was first seen MODAL.
        self.first_seen_final: dict[str, datetime] = {}
        self.modal_since: dict[str, datetime] = {}
        # parent id -> children that name it as their parentId (trueai), for hand-added ids.
        self._server_children: dict[str, dict[str, None]] = {}
        # The view (filter, quick filter, sort), the tasks that pass it and their counts.
        self.view = BoardView(
            tasks=self.tasks,
            not_found=self.not_found,
            stalls=self.stalls,
            everything=self.everything,
            elapsed=self.elapsed,
        )

    # --- what is known ------------------------------------------------------------------------

    def load(self, known: Mapping[str, Task], now: float | None = None) -> None:
        """Snapshots from the cache (at start, or for ids just added). With `now` (a POSIX
        time), a final task with no finish time stops its clock there unless the journal
        said earlier (`restore_clocks`)."""
        for task_id, task in known.items():
            self._link(task_id, self.tasks.get(task_id), task)
        self.tasks.update(known)
        if now is not None:
            moment = datetime.fromtimestamp(now, UTC)
            for task_id, task in known.items():
                self._note_clocks(task_id, task, moment)
        self.triage_version += 1

    # --- clocks the server does not keep ------------------------------------------------------

    def _note_clocks(
        self, task_id: str, task: Task, moment: datetime, *, entered: bool = False
    ) -> None:
        """`entered`: the task was seen moving into its status at `moment` (not first seen in
        it). A task first seen MODAL has waited since its submit (a modal button makes it
        MODAL), so `moment` is its MODAL start only when it was seen entering or has no
        submit time."""
        if task.status is Status.MODAL:
            if entered or task.submit_time is None:
                self.modal_since.setdefault(task_id, moment)
        elif task.clock_stops_when_seen:
            self.first_seen_final.setdefault(task_id, moment)

    def clocks(self, task_id: str) -> dict[str, datetime | None]:
        """`Task.elapsed`'s keyword arguments for this task: `task.elapsed(now, **clocks)`."""
        return {
            "first_seen_final": self.first_seen_final.get(task_id),
            "modal_since": self.modal_since.get(task_id),
        }

    def elapsed(self, task_id: str, task: Task, now: datetime) -> timedelta | None:
        """The task's elapsed time with the board's clocks."""
        return task.elapsed(
            now,
            first_seen_final=self.first_seen_final.get(task_id),
            modal_since=self.modal_since.get(task_id),
        )

    # --- lineage the server tells (trueai's parentId) -----------------------------------------

    def _link(self, task_id: str, old: Task | None, new: Task | None) -> bool:
        """Keep the parentId index; True when this task's server parent changed."""
        before = old.parent_id if old is not None else ""
        after = new.parent_id if new is not None else ""
        if before == after:
            return False
        if before:
            kids = self._server_children.get(before)
            if kids is not None:
                kids.pop(task_id, None)
                if not kids:
                    del self._server_children[before]
        if after and after != task_id:
            self._server_children.setdefault(after, {})[task_id] = None
        return True

    def server_parent(self, task_id: str) -> str:
        """The parent the server names for this task (trueai's parentId), or ""."""
        task = self.tasks.get(task_id)
        return task.parent_id if task is not None and task.parent_id != task_id else ""

    def server_children(self, task_id: str) -> tuple[str, ...]:
        """Tasks whose server-side parent is `task_id`, in the order first seen."""
        return tuple(self._server_children.get(task_id, ()))

    def forget(self, ids: Iterable[str]) -> None:
        """Ids no longer watched."""
        ids = list(ids)
        for task_id in ids:
            self._link(task_id, self.tasks.pop(task_id, None), None)
            self.first_seen_final.pop(task_id, None)
            self.modal_since.pop(task_id, None)
            self.not_found.discard(task_id)
            self.stale.pop(task_id, None)
            self.collapsed.discard(task_id)
        self.stalls.forget(ids)
        self.triage_version += 1

    def report_row(self, task_id: str) -> Row:
        """The id as `mjdash status` prints it: its task, or why there is none."""
        if task_id in self.not_found:
            return Row(task_id, None, NOT_FOUND)
        return Row(task_id, self.tasks.get(task_id), self.stale.get(task_id))

    # --- merging a poll answer ----------------------------------------------------------------

    def apply(self, result: PollAnswer, watched: Collection[str], now: float) -> Changes:
        """Merge one poll answer for the `watched` ids; `now` is a POSIX time (stall clocks)."""
        changes = Changes()
        changed, fresh = changes.changed, changes.fresh
        tasks, stale, not_found = self.tasks, self.stale, self.not_found  # 10,000 rounds
        success = Status.SUCCESS
        moment: datetime | None = None  # made once, only when a clock needs it
        for task_id, task in result.tasks.items():
            if task_id not in watched:
                continue
            old = tasks.get(task_id)
            # A row marked stale or "not found" must be redrawn even if the task is unchanged.
            marked = task_id in stale or task_id in not_found
            if old is task and not marked:
                continue  # the client hands back the same Task for an unchanged answer
            if marked:
                stale.pop(task_id, None)
                not_found.discard(task_id)
            # (A different status or progress settles it before comparing every field.)
            status = task.status
            if not marked and (
                old is not None
                and old.status is status
                and old.progress == task.progress
                and old == task
            ):
                continue  # an equal answer parsed anew
            tasks[task_id] = task
            changed.append(task_id)
            fresh[task_id] = task
            if task.parent_id != (old.parent_id if old is not None else ""):
                changes.lineage = self._link(task_id, old, task) or changes.lineage
            # (`clock_stops_when_seen` spelled out: 10,000 rounds on a big poll.)
            if status is Status.MODAL or (status.is_terminal and task.finish_time is None):
                if moment is None:
                    moment = datetime.fromtimestamp(now, UTC)
                entered = old is not None and old.status is not status
                self._note_clocks(task_id, task, moment, entered=entered)
            if old is None:
                changes.triage = changes.triage or status is success
                changes.urgent = changes.urgent or not task.needs_polling
            elif old.status is not status:
                changes.triage = changes.triage or status is success or old.status is success
                if status is success:
                    changes.done.append(task_id)
                elif status in (Status.FAILURE, Status.CANCEL):
                    changes.failed.append(task_id)
                elif status is Status.MODAL:
                    changes.modal.append(task_id)
            elif status is success:
                changes.triage = True  # its buttons may have changed
        for task_id in result.not_found:
            if task_id in watched and task_id not in not_found:
                not_found.add(task_id)
                changed.append(task_id)
        for task_id, reason in result.bad.items():
            if task_id in watched and stale.get(task_id) != reason:
                stale[task_id] = reason
                changed.append(task_id)
        if changes.triage:
            self.triage_version += 1
        self._clock_and_count(changes, now)
        return changes

    def _clock_and_count(self, changes: Changes, now: float) -> None:
        """Stall clocks, journal transitions and the batch counts of the changed tasks."""
        tasks, not_found = self.tasks, self.not_found
        update_stall, forget_stall, same = self.stalls.update, self.stalls.forget, SAME
        put = self.everything.put_part
        success = Status.SUCCESS
        transitions, succeeded = changes.transitions, changes.succeeded
        for task_id in changes.changed:
            task = tasks.get(task_id)
            missing = task_id in not_found
            if task is not None and not missing:
                status = task.status_text
                before = update_stall(task, now, status)
                if before is not same:
                    old = before[0] if before is not None else None
                    transitions.append(Transition(task_id, old, status, task.progress))
                    if task.status is success and old != status:
                        succeeded.append(task)
            else:
                forget_stall((task_id,))
            put(task_id, task_part(task, missing))
        changes.new_stalls = self.stalls.check(now)

    # --- the clocks -----------------------------------------------------------------------------

    def restore_clocks(
        self, latest: Iterable[tuple[str, float, str, int | None]], ids: Iterable[str], now: float
    ) -> None:
        """At start: stall clocks from the journal's last (id, time, status, progress) per task,
        then the cached tasks. Tasks that stalled while mjdash was closed are flagged, not
        announced."""
        seen: dict[str, tuple[float, str]] = {}
        for task_id, when, status, progress in latest:
            self.stalls.restore(task_id, when, (status, progress))
            seen[task_id] = (when, status)
        moment = datetime.fromtimestamp(now, UTC)
        for task_id in ids:
            task = self.tasks.get(task_id)
            if task is not None:
                self.stalls.observe(task, now)
                # The journal's line for the current status says when it was first seen so.
                when, status = seen.get(task_id, (None, ""))
                if when is not None and status == task.status_text:
                    self._note_clocks(task_id, task, datetime.fromtimestamp(when, UTC))
                self._note_clocks(task_id, task, moment)
        self.stalls.check(now)

    # --- lineage folding ------------------------------------------------------------------------

    def toggle_fold(self, task_id: str, has_children: bool) -> bool:
        """Fold or unfold a parent's children; False when there is nothing to fold."""
        if task_id in self.collapsed:
            self.collapsed.discard(task_id)
        elif has_children:
            self.collapsed.add(task_id)
        else:
            return False
        return True

    def unfold_ancestors(self, task_id: str, parent_of: Callable[[str], str]) -> bool:
        """Unfold every folded ancestor of `task_id` (`parent_of(id)` is "" for a root);
        True when one was unfolded."""
        seen: set[str] = set()
        unfolded = False
        parent = parent_of(task_id)
        while parent and parent not in seen:
            seen.add(parent)
            if parent in self.collapsed:
                self.collapsed.discard(parent)
                unfolded = True
            parent = parent_of(parent)
        return unfolded

    # --- triage -------------------------------------------------------------------------------

    def triage_left(self, entries: Callable[[], Iterable[Entry]]) -> int:
        """Finished tasks still waiting for a decision. `entries()` (the watchlist's, a list of
        every entry) is called only when the count may have moved, not on every tick."""
        counted = self._triage_counted
        if counted is None or counted[0] != self.triage_version:
            count = triage_count(entries(), self.tasks)
            counted = self._triage_counted = (self.triage_version, count)
        return counted[1]
