"""Rich `Text` for table cells and the detail pane.

Every cell is a `Text` built from plain strings: DataTable parses `str` cells as markup, and
server text must never be read as markup.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from mjdash.model.durations import format_duration
from mjdash.model.task import Status, Task
from mjdash.model.wrap import cut

# (glyph, word, style) per status; the colours follow the issue: grey, yellow, blue, green,
# red, amber, magenta.
STATUS_LOOK: dict[Status, tuple[str, str, str]] = {
    Status.PENDING: ("○", "pending", "grey62"),
    Status.NOT_START: ("○", "NOT_START", "grey62"),
    Status.SUBMITTED: ("◔", "SUBMITTED", "yellow"),
    Status.IN_PROGRESS: ("◑", "IN_PROGRESS", "dodger_blue1"),
    Status.SUCCESS: ("✔", "SUCCESS", "green"),
    Status.FAILURE: ("✘", "FAILURE", "red"),
    Status.MODAL: ("◆", "MODAL", "dark_orange"),
    Status.CANCEL: ("⊘", "CANCEL", "magenta"),
    Status.UNKNOWN: ("?", "?", "grey62"),
}

BAR_WIDTH = 6
_BAR_CELLS = " ▏▎▍▌▋▊▉█"


def status_text(task: Task | None, *, not_found: bool = False, stale: bool = False) -> Text:
    if not_found:
        return Text("✘ not found", style="grey50")
    if task is None:
        if stale:  # no good answer yet: the detail pane says why (Board.stale)
            return Text("⚠ unusable", style="yellow")
        return Text("… loading", style="grey50")
    glyph, word, style = STATUS_LOOK[task.status]
    if task.status is Status.UNKNOWN:
        word = task.status_text
    text = Text(f"{glyph} {word}", style=style)
    if stale:
        text.append(" ~", style="grey50")
    return text


def progress_bar(progress: int | None, width: int = BAR_WIDTH) -> str:
    """A bar of eighth-blocks: 58% of 8 cells is 4 full cells and a partial one."""
    if progress is None:
        return " " * width
    eighths = round(progress / 100 * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_BAR_CELLS[part] if part and full < width else "")
    return bar.ljust(width)


def progress_text(task: Task | None) -> Text:
    if task is None or task.progress is None:
        return Text("")
    if task.progress == 100 and task.status in (Status.FAILURE, Status.CANCEL):
        return Text("")  # proxies send "100%" on failure: it finished nothing
    style = STATUS_LOOK[task.status][2]
    bar = progress_bar(task.progress)
    filled = bar.rstrip(" ")
    text = Text(filled, style=style)
    text.append("·" * (len(bar) - len(filled)), style="grey35")
    text.append(f"{task.progress:>4}%")
    return text


def elapsed_text(
    task: Task | None,
    now: datetime,
    *,
    first_seen_final: datetime | None = None,
    modal_since: datetime | None = None,
) -> Text:
    """The elapsed clock; the board's clocks (Board.clocks) stop a final task with no finish
    time where mjdash first saw it final and count a MODAL one from when it entered MODAL."""
    if task is None:
        return Text("")
    style = "" if task.status.is_running or task.status is Status.MODAL else "grey62"
    spent = task.elapsed(now, first_seen_final=first_seen_final, modal_since=modal_since)
    return Text(format_duration(spent), style=style)


def ticks(task: Task) -> bool:
    """Does this row's elapsed clock move every second (running, or waiting in MODAL)?"""
    return task.status.is_running or task.status is Status.MODAL


def prompt_cell(task: Task | None) -> str:
    """The prompt column: the prompt, else promptEn / finalPrompt, "blend" for a blend;
    "describe" for a describe (novicezk puts its four suggestions in the prompt)."""
    if task is None:
        return ""
    return "describe" if task.action == "DESCRIBE" else task.shown_prompt


def short_id(task_id: str) -> str:
    """The tail of the id: ids start with the submit time, so the tail is what differs."""
    return task_id if len(task_id) <= 9 else "…" + task_id[-8:]


def one_line(text: str, width: int) -> str:
    """One line of at most `width` terminal cells with an ellipsis when cut: a CJK prompt
    (two cells a character) is cut like any other."""
    return cut(text, width)
