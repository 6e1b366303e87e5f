"""Which watchlist rows are shown, in which order: the lineage tree. No UI here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


class HasLineage(Protocol):
    id: str
    parent: str


@dataclass(frozen=True, slots=True)
class TreeRow:
    id: str
    depth: int
    has_children: bool
    last_child: bool


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
        stack = [(root, 0, True)]
        while stack:
            task_id, depth, last = stack.pop()
            if task_id in placed:
                continue
            placed.add(task_id)
            kids = [kid for kid in children.get(task_id, ()) if kid not in placed]
            rows.append(TreeRow(task_id, depth, bool(kids), last))
            if task_id in hidden:
                placed.update(_descendants(task_id, children))
                continue
            for index in range(len(kids) - 1, -1, -1):
                stack.append((kids[index], depth + 1, index == len(kids) - 1))

    for root in roots:
        walk(root)
    # Tasks only reachable through a cycle.
    for entry in entries:
        if entry.id not in placed:
            walk(entry.id)
    return rows


def _descendants(task_id: str, children: dict[str, list[str]]) -> set[str]:
    found: set[str] = set()
    stack = list(children.get(task_id, ()))
    while stack:
        kid = stack.pop()
        if kid not in found:
            found.add(kid)
            stack.extend(children.get(kid, ()))
    return found
