"""The line at the top: counts by state, the poll clock and the poller's health."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from mjdash.model.durations import format_age
from mjdash.net.poller import PollerState
from mjdash.ui.cells import fit_parts


@dataclass(frozen=True)
class PollView:
    state: PollerState
    line: str | None  # the poller's own words: "server unreachable, retrying in 12s"
    polled_ago: float | None  # seconds since the last poll answered
    interval: float
    requests_per_minute: float
    save_problem: str = ""
    auth_hint: str = ""  # the `auth` setting that worked after a 401 (client.auth_switched)
    save_waiting: bool = False  # a save waits for another process's watchlist lock
    unusable: int = 0  # watched ids whose last answer was unusable (Board.stale)
    reached: bool = True  # has the server answered a poll yet? (no "● ok" before it has)


_STATE_STYLE = {
    PollerState.OK: "green",
    PollerState.PAUSED: "bold yellow",
    PollerState.RETRYING: "bold yellow",
    PollerState.RATE_LIMITED: "bold red",
    PollerState.AUTH_FAILED: "bold red",
    PollerState.UNREACHABLE: "bold red",
}


def _state_text(view: PollView, key_source: str) -> Text:
    style = _STATE_STYLE[view.state]
    if view.state is PollerState.OK and not view.reached:
        return Text("○ not polled yet", style="grey62")
    if view.state is PollerState.OK:
        return unusable_text(view.unusable) or Text("● ok", style=style)
    if view.state is PollerState.PAUSED:
        return Text("⏸ paused (p resumes)", style=style)
    if view.state is PollerState.AUTH_FAILED:
        return Text(f"✘ key rejected: check {key_source}, then press r", style=style)
    return Text(f"✘ {view.line or view.state.value}", style=style)


def render_status_line(
    view: PollView,
    key_source: str,
    *,
    total: int,
    missing: int = 0,
    triage: int = 0,
    marked: int = 0,
    note: str = "",
    held: int = 0,
    width: int = 0,
) -> Text:
    """Health first (it is what a narrow pane must not cut off), then the watchlist's size.

    `key_source` names where the key came from (the variable's name or the key file's path),
    for the key-rejected hint; never the key. `width` (0: no limit): parts that do not fit are
    left out whole, the least needed first (the request rate, the poll clock, ...), never
    cut mid-word. `held`: toasts waiting for the open dialog to close (ui/toasts.py).

    The per-state counts live in the summary line below, so they are not repeated here.
    """
    head = Text()
    head.append(" mjdash ", style="bold reverse")
    head.append(" ")
    saving = save_note(view)
    if saving is not None:
        head.append_text(saving)
        head.append(" │ ", style="grey50")
    head.append_text(_state_text(view, key_source))
    # (part, keep priority): the highest stays longest in a narrow pane.
    parts: list[tuple[Text, int]] = [(head, 9)]
    if view.auth_hint:
        parts.append((Text(f' · save auth = "{view.auth_hint}"', style="yellow"), 6))
    if note:  # a batch move being sent: "sending 3 of 20 · Esc stops"
        parts.append((Text(f" │ {note}", style="bold yellow"), 8))
    if marked:
        parts.append((Text(f" │ {marked} marked", style="bold magenta"), 7))
    if held:
        words = f"{held} note{'' if held == 1 else 's'} when the dialog closes"
        parts.append((Text(f" │ {words}", style="bold cyan"), 7))
    if view.polled_ago is not None:
        parts.append((Text(f" · polled {format_age(view.polled_ago)} ago", style="grey62"), 2))
    parts.append((Text(f" · every {view.interval:g}s", style="grey62"), 3))
    parts.append((Text(f" · {view.requests_per_minute:.0f} req/min", style="grey62"), 1))
    count = Text()
    count.append(" │ ", style="grey50")
    count.append(f"{total} task{'' if total == 1 else 's'}")
    parts.append((count, 5))
    if missing:
        parts.append((Text(f" ?{missing} not found", style="grey50"), 4))
    if triage:
        parts.append((Text(f" ⚑{triage} to triage", style="bold cyan"), 4))
    return fit_parts(parts, width)


def save_note(view: PollView) -> Text | None:
    """A failed save or a save waiting for the lock: first, it is about the user's ids."""
    if view.save_problem:
        return Text(f"not saved: {view.save_problem}", style="bold red")
    if view.save_waiting:
        return Text("waiting for the watchlist lock (another mjdash?)", style="bold yellow")
    return None


def unusable_text(count: int) -> Text | None:
    """Instead of "● ok" when the server answered but some answers could not be used (too
    large, HTML, another task's id): each row says why."""
    if not count:
        return None
    return Text(f"● {count} answer{'s' if count != 1 else ''} unusable", style="bold yellow")
