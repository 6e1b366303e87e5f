"""The line at the top: counts by state, the poll clock and the poller's health."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from rich.text import Text

from mjdash.poller import PollerState
from mjdash.task import Status, Task


@dataclass(frozen=True)
class BatchCounts:
    total: int = 0
    running: int = 0
    queued: int = 0
    done: int = 0
    failed: int = 0
    modal: int = 0
    missing: int = 0

    @classmethod
    def of(cls, tasks: Iterable[Task | None], missing: int = 0) -> BatchCounts:
        counts: Counter[Status] = Counter()
        total = 0
        for task in tasks:
            total += 1
            if task is not None:
                counts[task.status] += 1
        return cls(
            total=total,
            running=counts[Status.IN_PROGRESS],
            queued=counts[Status.PENDING] + counts[Status.NOT_START] + counts[Status.SUBMITTED],
            done=counts[Status.SUCCESS],
            failed=counts[Status.FAILURE] + counts[Status.CANCEL],
            modal=counts[Status.MODAL],
            missing=missing,
        )


@dataclass(frozen=True)
class PollView:
    state: PollerState
    line: str | None  # the poller's own words: "server unreachable, retrying in 12s"
    polled_ago: float | None  # seconds since the last poll answered
    interval: float
    requests_per_minute: float
    save_problem: str = ""


_STATE_STYLE = {
    PollerState.OK: "green",
    PollerState.PAUSED: "bold yellow",
    PollerState.RETRYING: "bold yellow",
    PollerState.RATE_LIMITED: "bold red",
    PollerState.AUTH_FAILED: "bold red",
    PollerState.UNREACHABLE: "bold red",
}


def _state_text(view: PollView, key_env: str) -> Text:
    style = _STATE_STYLE[view.state]
    if view.state is PollerState.OK:
        return Text("● ok", style=style)
    if view.state is PollerState.PAUSED:
        return Text("⏸ paused (p resumes)", style=style)
    if view.state is PollerState.AUTH_FAILED:
        return Text(f"✘ key rejected: check {key_env}, then press r", style=style)
    return Text(f"✘ {view.line or view.state.value}", style=style)


def render_status_line(
    counts: BatchCounts, view: PollView, key_env: str, *, triage: int = 0
) -> Text:
    """Health first (it is what a narrow pane must not cut off), then the watchlist's size.

    The per-state counts live in the summary line below, so they are not repeated here.
    """
    line = Text()
    line.append(" mjdash ", style="bold reverse")
    line.append(" ")
    if view.save_problem:
        line.append(f"not saved: {view.save_problem}", style="bold red")
        line.append(" │ ", style="grey50")
    line.append_text(_state_text(view, key_env))
    if view.polled_ago is not None:
        line.append(f" · polled {format_ago(view.polled_ago)}", style="grey62")
    line.append(f" · every {view.interval:g}s · {view.requests_per_minute:.0f} req/min", "grey62")
    line.append(" │ ", style="grey50")
    line.append(f"{counts.total} tasks")
    if counts.missing:
        line.append(f" ?{counts.missing} not found", style="grey50")
    if triage:
        line.append(f" ⚑{triage} to triage", style="bold cyan")
    return line


def format_ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s ago"
    return f"{int(timedelta(seconds=seconds).total_seconds() // 60)}m ago"
