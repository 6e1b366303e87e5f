"""Triage: which finished tasks still wait for a decision (press a button, or dismiss with x).

A task waits when it finished with buttons (SUCCESS), none of its buttons was pressed from
mjdash, and it was not dismissed. Plain functions over the watchlist and the known tasks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from mjdash.model.task import Status, Task


class Entry(Protocol):
    """What triage reads of a watchlist entry (mjdash.store.watchlist.Entry)."""

    @property
    def id(self) -> str: ...
    @property
    def used(self) -> Sequence[str]: ...
    @property
    def dismissed(self) -> bool: ...


def waits_for_triage(task: Task | None, entry: Entry | None) -> bool:
    return (
        task is not None
        and entry is not None
        and task.status is Status.SUCCESS
        and bool(task.buttons)
        and not entry.used
        and not entry.dismissed
    )


def triaged(task: Task | None, entry: Entry | None) -> bool:
    """Handled: a button was pressed, or the task was dismissed (the table's ✓)."""
    return entry is not None and (entry.dismissed or bool(entry.used))


def triage_count(entries: Iterable[Entry], tasks: Mapping[str, Task]) -> int:
    """How many entries `waits_for_triage` (inlined: the status line recounts 10,000 of them
    after every poll that changed something)."""
    count = 0
    get = tasks.get
    success = Status.SUCCESS
    for entry in entries:
        if entry.used or entry.dismissed:
            continue
        task = get(entry.id)
        if task is not None and task.status is success and task.buttons:
            count += 1
    return count


def next_to_triage(
    order: Sequence[str],
    current: str | None,
    tasks: Mapping[str, Task],
    entries: Mapping[str, Entry],
) -> str | None:
    """The first waiting task after `current` in `order`, wrapping around; None when none."""
    if not order:
        return None
    start = order.index(current) + 1 if current in order else 0
    for index in range(len(order)):
        task_id = order[(start + index) % len(order)]
        if task_id != current and waits_for_triage(tasks.get(task_id), entries.get(task_id)):
            return task_id
    return None
