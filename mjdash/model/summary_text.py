"""What the summary line and `status --watch` say about a batch, as plain words and a tone.

Pure functions of counts, so their meaning is tested without a screen:
- the percent is done/total: a failed task is finished but not done, so a batch with failures
  never reads "100%";
- a stalled task makes the ETA unknowable: "stalled", never "any moment";
- "batch complete" is a success only when something succeeded, and a view that shows only failed
  tasks never says "batch complete" (it says what it shows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from mjdash.model.durations import format_duration

Tone = Literal["success", "warning", "error", "muted", "plain"]


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words and how to show them; the UI maps tone to a style (success = green...)."""

    text: str
    tone: Tone = "plain"


def done_percent(done: int, total: int) -> int:
    """Whole percent of the tasks that succeeded, rounded down: 100 only when all did."""
    if total <= 0:
        return 0
    return math.floor(done * 100 / total)


def outcome_phrase(
    *,
    total: int,
    done: int,
    failed: int,
    missing: int = 0,
    stalled: int = 0,
    eta: float | None = None,
    show: str = "all",
) -> Phrase:
    """The end of the summary line: the ETA while something runs, the outcome when settled.

    `eta` is seconds left (None unknown); `show` is the view's quick filter (model.view
    SHOW_MODES); `missing` counts not-found ids (settled, never succeeded).
    """
    if total <= 0:
        return Phrase("no tasks in view", "muted")
    settled = done + failed + missing >= total
    if show == "failed":
        if settled:
            return Phrase(f"{_tasks(total)} failed", "error")
        return Phrase(f"{_tasks(failed)} failed, {total - failed} still running", "warning")
    if not settled:
        if stalled:
            return Phrase("stalled: no ETA", "warning")
        if eta is None:
            return Phrase("ETA —", "muted")
        if eta <= 0:
            return Phrase("ETA any moment", "plain")
        return Phrase(f"ETA {format_duration(timedelta(seconds=eta))}", "plain")
    if done == 0:
        return Phrase("batch finished, nothing succeeded", "error")
    if done < total:
        return Phrase(f"batch complete, {total - done} did not succeed", "warning")
    return Phrase("✔ batch complete", "success")


def counts_sentence(counts: object) -> str:
    """One line for the end of `status --watch`: "5 tasks: 3 done, 1 failed, 1 MODAL".

    `counts` is a model.report.Counts (any object with those int attributes).
    """
    total = getattr(counts, "total", 0)
    parts = []
    for field, word in (
        ("done", "done"),
        ("failed", "failed"),
        ("running", "running"),
        ("queued", "queued"),
        ("modal", "MODAL"),
        ("missing", "not found or unreadable"),
        ("unpolled", "not polled yet"),
        ("other", "in an unknown state"),
    ):
        number = getattr(counts, field, 0)
        if number:
            parts.append(f"{number} {word}")
    head = _tasks(total)
    return f"{head}: {', '.join(parts)}" if parts else head


def _tasks(count: int) -> str:
    return f"{count} task" if count == 1 else f"{count} tasks"
