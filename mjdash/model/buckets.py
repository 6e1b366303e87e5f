"""The buckets every count of watched tasks uses: one definition for the dashboard's summary
(model/insight.BatchStats), `mjdash status --format` (model/report.Counts) and the tmux status
line (`status --cached`, store/cached_status.py).

A watched id is in exactly one bucket:

- ``done``: SUCCESS.
- ``failed``: FAILURE or CANCEL.
- ``running``: IN_PROGRESS.
- ``queued``: SUBMITTED, NOT_START, or a PENDING of our own (see model/task.py).
- ``modal``: MODAL: the task waits for a prompt from the user (Custom Zoom, Vary (Region)).
- ``missing``: the server does not know the id (not found), or `status` got an unusable answer
  and has no earlier one. With `status --cached`: the last answer kept in the cache was "not
  found" (store/cache.py keeps those answers).
- ``unpolled``: no answer yet (never polled; with `status --cached`: not in the cache).
- ``other``: a status mjdash does not know.

Two words for "over", and they differ on MODAL:

- *finished* (`FINISHED`): done, failed or missing. Nothing more will ever happen; when every
  watched task is finished the dashboard announces "batch complete" and the ETA is 0.
- *settled* (`SETTLED`): finished, or modal. Nothing to poll for: a MODAL task waits for the
  user, not the server, so `status --watch` stops waiting for it.
"""

from __future__ import annotations

from collections.abc import Iterable

from mjdash.model.task import Status

DONE, FAILED, RUNNING, QUEUED, MODAL, MISSING, WAITING, OTHER = (
    "done",
    "failed",
    "running",
    "queued",
    "modal",
    "missing",
    "unpolled",
    "other",
)
FINISHED = frozenset({DONE, FAILED, MISSING})
SETTLED = FINISHED | {MODAL}
# The buckets `status --format` names: they add up to `total`.
FORMAT_FIELDS = (
    "total",
    "done",
    "running",
    "queued",
    "failed",
    "modal",
    "missing",
    "unpolled",
    "other",
)


def bucket(status: Status | None, missing: bool = False) -> str:
    """The bucket of one watched id: its status, or `missing` / `unpolled` when it has none."""
    if missing:
        return MISSING
    if status is None:
        return WAITING
    return status.group


def tally(buckets: Iterable[str]) -> dict[str, int]:
    """FORMAT_FIELDS -> how many ids are in that bucket (`total` counts every id)."""
    counts = dict.fromkeys(FORMAT_FIELDS, 0)
    total = 0
    for name in buckets:
        total += 1
        if name in counts:
            counts[name] += 1
    counts["total"] = total
    return counts
