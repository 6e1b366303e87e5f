"""Which watchlist rows are shown, in which order: the lineage tree, filters, sorts, and the
board's view (`BoardView`: the view state, the rows that pass it and their counts). No UI here."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from mjdash.model.insight import BatchStats, StallTracker, Summary, task_part
from mjdash.model.task import Status, Task


class HasLineage(Protocol):
    id: str
    parent: str


@dataclass(frozen=True, slots=True)
class TreeRow:
    id: str
    depth: int
    has_children: bool
    last_child: bool
    # One flag per ancestor below the root: was that ancestor the last of its siblings? It
    # decides between "│ " and "  " in front of this row's branch glyph.
    guides: tuple[bool, ...] = ()

    @property
    def branch(self) -> str:
        """The tree drawing before the id: "", or e.g. "│ └ " for a grandchild."""
        if not self.depth:
            return ""
        lines = "".join("  " if last else "│ " for last in self.guides)
        return lines + ("└ " if self.last_child else "├ ")


def tree_order(entries: Sequence[HasLineage], collapsed: Iterable[str] = ()) -> list[TreeRow]:
    """Children right under their parent (watchlist order among siblings), depth-first.

    A task whose parent is not watched is a root; a parent cycle (hand-edited file) breaks at
    the first task met. Descendants of a collapsed task are left out.
    """
    ids = {entry.id for entry in entries}
    children: dict[str, list[str]] = {}
    roots: list[str] = []
    for entry in entries:
        if entry.parent and entry.parent in ids and entry.parent != entry.id:
            children.setdefault(entry.parent, []).append(entry.id)
        else:
            roots.append(entry.id)
    hidden = set(collapsed)
    rows: list[TreeRow] = []
    placed: set[str] = set()

    def walk(root: str) -> None:
        # An explicit stack: a hand-edited file could chain thousands of generations.
        stack: list[tuple[str, int, bool, tuple[bool, ...]]] = [(root, 0, True, ())]
        while stack:
            task_id, depth, last, guides = stack.pop()
            if task_id in placed:
                continue
            placed.add(task_id)
            kids = [kid for kid in children.get(task_id, ()) if kid not in placed]
            rows.append(TreeRow(task_id, depth, bool(kids), last, guides))
            if task_id in hidden:
                placed.update(_descendants(task_id, children))
                continue
            below = (*guides, last) if depth else ()
            for index in range(len(kids) - 1, -1, -1):
                stack.append((kids[index], depth + 1, index == len(kids) - 1, below))

    for root in roots:
        walk(root)
    # Tasks only reachable through a cycle.
    for entry in entries:
        if entry.id not in placed:
            walk(entry.id)
    return rows


@dataclass(frozen=True, slots=True)
class Placed:
    """An entry as the tree places it: its parent may come from the server (parentId)."""

    id: str
    parent: str
    label: str = ""


def lineage_parent(entry_parent: str, server_parent: str, watched: Container[str]) -> str:
    """The parent a row hangs under: the watchlist's own when it is watched, else the one the
    server names (trueai's parentId) when that one is watched, else the watchlist's (a root)."""
    if entry_parent and entry_parent in watched:
        return entry_parent
    if server_parent and server_parent in watched:
        return server_parent
    return entry_parent


def with_server_parents(
    entries: Sequence[HasLabel], tasks: Mapping[str, Task]
) -> Sequence[HasLabel]:
    """`entries` with the server's parentId filled in where the watchlist has no watched
    parent (a hand-added id); the watchlist file is not changed. Same list when none does."""
    ids: set[str] | None = None
    placed: list[HasLabel] | None = None
    for index, entry in enumerate(entries):
        task = tasks.get(entry.id)
        server = task.parent_id if task is not None else ""
        if not server or server == entry.id or server == entry.parent:
            continue
        if ids is None:
            ids = {e.id for e in entries}
        parent = lineage_parent(entry.parent, server, ids)
        if parent == entry.parent:
            continue
        if placed is None:
            placed = list(entries)
        placed[index] = Placed(entry.id, parent, entry.label)
    return entries if placed is None else placed


def _descendants(task_id: str, children: dict[str, list[str]]) -> set[str]:
    found: set[str] = set()
    stack = list(children.get(task_id, ()))
    while stack:
        kid = stack.pop()
        if kid not in found:
            found.add(kid)
            stack.extend(children.get(kid, ()))
    return found


# --- filter and sort --------------------------------------------------------------------------
# With the default view (no filter, "added" order) the rows are exactly `tree_order`. A filter
# keeps the tree among the rows it keeps (a child whose parent is filtered out becomes a root).
# Any other sort flattens the list: sorting by status should put every failure together, which
# a tree would split up; the lineage is still in the detail pane.

SHOW_MODES = ("all", "unfinished", "failed", "stalled")
SHOW_LABELS = {
    "all": "all",
    "unfinished": "hide finished",
    "failed": "only failed",
    "stalled": "only stalled",
}
SORTS = ("added", "status", "progress", "elapsed", "submitted")
SORT_LABELS = {
    "added": "added",
    "status": "status (needs you first)",
    "progress": "progress (least first)",
    "elapsed": "elapsed (longest first)",
    "submitted": "submit time (newest first)",
}
MAX_FILTER = 200

# What `f` announces: "Showing unfinished tasks (2 of 18)".
_SHOW_WORDS = {
    "unfinished": "unfinished tasks",
    "failed": "failed tasks only",
    "stalled": "stalled tasks only",
}


def show_announcement(show: str, shown: int, total: int) -> str:
    """The toast after `f` cycles the quick filter, in words a user would say."""
    if show not in _SHOW_WORDS:
        return f"Showing all {total} task{'s' if total != 1 else ''}"
    return f"Showing {_SHOW_WORDS[show]} ({shown} of {total})"


class HasLabel(HasLineage, Protocol):
    label: str


@dataclass(frozen=True, slots=True)
class ViewState:
    """What the table shows: a text filter, a quick filter (`show`) and a sort."""

    text: str = ""
    show: str = "all"
    sort: str = "added"

    @classmethod
    def from_dict(cls, data: object) -> ViewState:
        """From the watchlist's [view] table; anything unexpected falls back to the default."""
        if not isinstance(data, dict):
            return cls()
        text = data.get("filter", "")
        show = data.get("show", "all")
        sort = data.get("sort", "added")
        return cls(
            text=" ".join(text.split())[:MAX_FILTER] if isinstance(text, str) else "",
            show=show if show in SHOW_MODES else "all",
            sort=sort if sort in SORTS else "added",
        )

    def to_dict(self) -> dict[str, str]:
        return {"filter": self.text, "show": self.show, "sort": self.sort}

    @property
    def is_default(self) -> bool:
        return not self.words and self.show == "all" and self.sort == "added"

    @property
    def filtering(self) -> bool:
        return bool(self.words) or self.show != "all"

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.text.lower().split())

    def next_show(self) -> ViewState:
        index = SHOW_MODES.index(self.show)
        return ViewState(self.text, SHOW_MODES[(index + 1) % len(SHOW_MODES)], self.sort)

    def next_sort(self) -> ViewState:
        index = SORTS.index(self.sort)
        return ViewState(self.text, self.show, SORTS[(index + 1) % len(SORTS)])

    def with_text(self, text: str) -> ViewState:
        return ViewState(" ".join(text.split())[:MAX_FILTER], self.show, self.sort)

    def describe(self) -> str:
        """ "filter 'cat' · only failed · sort status", or "" for the default view."""
        parts = []
        if self.text:
            parts.append(f"filter {self.text!r}")
        if self.show != "all":
            parts.append(SHOW_LABELS[self.show])
        if self.sort != "added":
            parts.append(f"sort {self.sort}")
        return " · ".join(parts)


def matches(
    state: ViewState,
    task_id: str,
    task: Task | None,
    *,
    label: str = "",
    stalled: bool = False,
    not_found: bool = False,
) -> bool:
    """Does the row pass the quick filter and contain every word of the text filter?

    The text is searched (case-insensitively) in the id, the label, the prompt (or what the
    prompt cell shows instead: promptEn, finalPrompt, "blend"), the action, the status and the
    status's group word (done, failed, running, queued, modal).
    """
    show = state.show
    if show == "unfinished" and (not_found or (task is not None and task.is_terminal)):
        return False
    if show == "failed" and (task is None or task.status not in _FAILED):
        return False
    if show == "stalled" and not stalled:
        return False
    words = state.words
    if not words:
        return True
    if task is None:
        status = "not found" if not_found else "loading"
        haystack = f"{task_id} {label} {status}".lower()
    else:
        # The status word and its group: "failed" finds FAILURE (and CANCEL), "done" SUCCESS.
        status = "not found" if not_found else f"{task.status_text} {task.status.group}"
        shown = task.shown_prompt
        prompt = shown if shown == task.prompt else f"{task.prompt} {shown}"
        haystack = f"{task_id} {label} {task.action} {status} {prompt}".lower()
    return all(word in haystack for word in words)


_FAILED = frozenset({Status.FAILURE, Status.CANCEL})
# "status" sort: what needs the user first, finished last.
_STATUS_RANK = {
    Status.MODAL: 0,
    Status.FAILURE: 1,
    Status.CANCEL: 2,
    Status.UNKNOWN: 3,
    Status.IN_PROGRESS: 4,
    Status.SUBMITTED: 5,
    Status.NOT_START: 6,
    Status.PENDING: 7,
    Status.SUCCESS: 8,
}


Elapsed = Callable[[str, Task, datetime], "timedelta | None"]


def _plain_elapsed(task_id: str, task: Task, now: datetime) -> timedelta | None:
    return task.elapsed(now)


def sort_key(
    sort: str,
    task: Task | None,
    now: datetime,
    not_found: bool = False,
    *,
    task_id: str = "",
    elapsed: Elapsed = _plain_elapsed,
) -> tuple:
    """The key of one row for `sort` (rows without a task go last; ties keep the added order).

    `elapsed(id, task, now)` is the board's clock (Board.elapsed: a final task with no finish
    time stops when first seen final, a MODAL one counts from when it entered MODAL)."""
    if task is None:
        return (2 if not_found else 1, 0.0)
    if sort == "status":
        return (0, _STATUS_RANK[task.status])
    if sort == "progress":
        value = 100 if task.is_terminal else (task.progress or 0)
        return (0, value)
    if sort == "elapsed":
        spent = elapsed(task_id, task, now)
        return (0, -spent.total_seconds()) if spent is not None else (1, 0.0)
    if sort == "submitted":
        moment = task.submit_time
        return (0, -moment.timestamp()) if moment is not None else (1, 0.0)
    return (0, 0)


def arrange(
    entries: Sequence[HasLabel],
    collapsed: Iterable[str],
    state: ViewState,
    *,
    tasks: Mapping[str, Task],
    stalled: Container[str] = frozenset(),
    not_found: Container[str] = frozenset(),
    now: datetime | None = None,
    elapsed: Elapsed = _plain_elapsed,
) -> tuple[list[TreeRow], list[str]]:
    """(the rows to show, the ids that pass the filter) for `state`.

    The second list ignores folding: it is the batch the summary line counts. An id added by
    hand whose task names a watched parent (trueai's parentId) is placed under that parent.
    """
    entries = with_server_parents(entries, tasks)
    if state.is_default:
        return tree_order(entries, collapsed), [entry.id for entry in entries]
    if state.filtering:
        kept = [
            entry
            for entry in entries
            if matches(
                state,
                entry.id,
                tasks.get(entry.id),
                label=entry.label,
                stalled=entry.id in stalled,
                not_found=entry.id in not_found,
            )
        ]
    else:
        kept = list(entries)
    members = [entry.id for entry in kept]
    if state.sort == "added":
        return tree_order(kept, collapsed), members
    moment = now or datetime.now(UTC)
    ordered = sorted(
        members,
        key=lambda task_id: sort_key(
            state.sort,
            tasks.get(task_id),
            moment,
            task_id in not_found,
            task_id=task_id,
            elapsed=elapsed,
        ),
    )
    return [TreeRow(task_id, 0, False, True) for task_id in ordered], members


# --- the board's view: its state, the rows that pass it and their counts --------------------


class BoardView:
    """The view of the watched tasks: its state (filter text, quick filter, sort), the ids that
    pass it (`members`: the batch the summary line counts, folded ones too) and their counts
    (`stats`, a BatchStats). The dashboard binds the keys and renders; this decides.

    Cost rules: a poll costs O(tasks that changed) unless a filter or a sort other than
    "added" must re-place rows; a filter that hides a few rows of 10,000 recounts a few rows.
    With nothing filtered out, `stats` *is* the board's `everything` (counted once a poll).
    """

    def __init__(
        self,
        *,
        tasks: Mapping[str, Task],
        not_found: Container[str],
        stalls: StallTracker,
        everything: BatchStats,
        elapsed: Elapsed = _plain_elapsed,
    ) -> None:
        self.state = ViewState()
        self.stats = BatchStats()  # the members' counts: the summary line
        self.members: set[str] = set()
        self.member_order: list[str] = []  # the members in watchlist order
        self.arranged_ids: set[str] = set()  # every id the last `arrange` placed
        self.summary = Summary()
        self._tasks, self._not_found, self._stalls = tasks, not_found, stalls
        self._everything, self._elapsed = everything, elapsed

    @property
    def shown(self) -> int:
        """How many tasks pass the view (folded children too)."""
        return len(self.members)

    @property
    def total(self) -> int:
        return len(self.arranged_ids)

    def set_state(self, state: ViewState) -> bool:
        """Use `state`; False when it is the one in use (nothing to re-place)."""
        if state == self.state:
            return False
        self.state = state
        return True

    # --- placing rows ---------------------------------------------------------------------

    def arrange(
        self, entries: Sequence[HasLabel], collapsed: Iterable[str], now: datetime
    ) -> list[TreeRow]:
        """The rows to show for the watchlist `entries`; counts the members when they moved
        (call `recount` after it for the summary)."""
        rows, members = arrange(
            entries,
            collapsed,
            self.state,
            tasks=self._tasks,
            stalled=self._stalls.stalled,
            not_found=self._not_found,
            now=now,
            elapsed=self._elapsed,
        )
        everything = self._everything
        all_ids = {entry.id for entry in entries}
        if all_ids != self.arranged_ids:
            gone = self.arranged_ids - all_ids
            self._update(everything, self.arranged_ids, all_ids)
            self.arranged_ids = all_ids
            if gone:
                self._stalls.forget(gone)
        aliased = self.stats is everything
        if members != self.member_order or (aliased and len(members) != len(all_ids)):
            new = set(members)
            if new == all_ids:
                # Nothing filtered out: the summary counts what "batch complete" counts, and a
                # poll updates one BatchStats, not two.
                peak = max(self.stats.peak_running, everything.peak_running)
                self.stats = everything
                self.stats.peak_running = peak
            elif aliased:
                self.stats = BatchStats(peak_running=everything.peak_running)
                self.stats.reset(new, self._tasks, self._not_found)
            else:
                self._update(self.stats, self.members, new)
            self.member_order = members
            self.members = new
        return rows

    def _update(self, stats: BatchStats, old: set[str], new: set[str]) -> None:
        """Make `new` the members: from scratch the first time, then only the difference."""
        if not old or len(old ^ new) > len(new) // 2:
            stats.reset(new, self._tasks, self._not_found)
            return
        for task_id in old - new:
            stats.discard(task_id)
        for task_id in new - old:
            stats.put(task_id, self._tasks.get(task_id), task_id in self._not_found)

    # --- a poll -----------------------------------------------------------------------------

    def count_changes(self, changed: Iterable[str], label_of: Callable[[str], str]) -> bool:
        """After the board merged a poll: recount the changed members (the board counted
        `everything` already). True when a change re-places rows (it enters or leaves the
        filter, or a sort is on): then `arrange` again."""
        put_member = None if self.stats is self._everything else self.stats.put_part
        placed = not self.state.is_default
        if put_member is None and not placed:
            return False
        replace = False
        tasks, not_found, members = self._tasks, self._not_found, self.members
        for task_id in changed:  # 10,000 on a big poll: the lookups are hoisted
            task = tasks.get(task_id)
            missing = task_id in not_found
            if put_member is not None and task_id in members:
                put_member(task_id, task_part(task, missing))
            if placed and not replace:
                replace = self._moves(task_id, task, missing, label_of)
        return replace

    def _moves(
        self, task_id: str, task: Task | None, missing: bool, label_of: Callable[[str], str]
    ) -> bool:
        """Does this change re-place rows (it enters or leaves the filter, or sorting is on)?"""
        state = self.state
        if state.sort != "added" and (task_id in self.members or state.filtering):
            return True
        if not state.filtering:
            return False
        passes = matches(
            state,
            task_id,
            task,
            label=label_of(task_id),
            stalled=task_id in self._stalls.stalled,
            not_found=missing,
        )
        return passes != (task_id in self.members)

    @property
    def shows_stalled_only(self) -> bool:
        """A new stall re-places rows only in the "only stalled" view."""
        return self.state.show == "stalled"

    def recount(self, now: float) -> Summary:
        """The summary line's numbers for the members at `now` (epoch seconds)."""
        stalled = sum(1 for task_id in self._stalls.stalled if task_id in self.members)
        self.summary = self.stats.summary(now, stalled=stalled)
        return self.summary

    # --- words and orders -------------------------------------------------------------------

    def hides_everything(self, rows_shown: int) -> str:
        """What to say when no row is shown although tasks are watched: the view hides them
        all, and how to undo it ("" when something is shown or nothing is watched)."""
        hidden = len(self.arranged_ids)
        if not hidden or rows_shown:
            return ""
        state = self.state
        tasks = f"{hidden} task{'s' if hidden != 1 else ''}"
        lines = [f"The view hides all {tasks}: {state.describe()}."]
        if state.words:
            lines.append("Esc clears the filter; / changes it.")
        if state.show != "all":
            lines.append(f"f shows another set ({SHOW_LABELS[state.show]} now).")
        return "\n".join(lines)

    def export_order(self, shown: Sequence[str]) -> list[str]:
        """The ids in view for an export: the rows `shown`, then members folded away."""
        seen = set(shown)
        return [*shown, *(i for i in self.member_order if i not in seen)]
