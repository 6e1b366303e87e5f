"""Rich `Text` for table cells and the detail pane.

Every cell is a `Text` built from plain strings: DataTable parses `str` cells as markup, and
server text must never be read as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text

from mjdash.model.durations import format_duration
from mjdash.model.task import Status, Task
from mjdash.model.wrap import cell_width, cut

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


def bar_cells(fraction: float, width: int, *, round_down: bool = False) -> str:
    """The filled part of a bar of eighth-blocks `width` cells long (`fraction` 0..1): 58% of 6
    cells is 3 full cells and a partial one. Rounded to the nearest eighth (a task's percent),
    or down (`round_down`: a batch's bar is full only when all of it is)."""
    scaled = min(max(fraction, 0.0), 1.0) * width * 8
    full, part = divmod(int(scaled) if round_down else round(scaled), 8)
    return "█" * full + (_BAR_CELLS[part] if part and full < width else "")


def progress_bar(progress: int | None, width: int = BAR_WIDTH) -> str:
    """A task's percent as a bar `width` cells wide (blank when it has none)."""
    if progress is None:
        return " " * width
    return bar_cells(progress / 100, width).ljust(width)


def progress_text(task: Task | None) -> Text:
    if task is None or task.progress is None:
        return Text("")
    if task.progress == 100 and task.status in (Status.FAILURE, Status.CANCEL):
        return Text("")  # proxies send "100%" on failure: it finished nothing
    style = STATUS_LOOK[task.status][2]
    filled = bar_cells(task.progress / 100, BAR_WIDTH)
    text = Text(filled, style=style)
    text.append("·" * (BAR_WIDTH - len(filled)), style="grey35")
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


def one_line(text: str, width: int) -> str:
    """One line of at most `width` terminal cells with an ellipsis when cut: a CJK prompt
    (two cells a character) is cut like any other."""
    return cut(text, width)


def fold_glyph(has_children: bool, collapsed: bool, hidden: int = 0) -> str:
    """Before a root's id: "▾ " unfolded, "▸+3 " folded with the 3 tasks it hides."""
    if not has_children:
        return ""
    if not collapsed:
        return "▾ "
    return f"▸+{hidden} " if hidden else "▸ "


def id_cell(task_id: str, prefix: str, width: int) -> Text:
    """The id column: the tree drawing (`prefix`) then as much of the id's tail as fits in
    `width` cells (the tail is what differs: ids start with the submit time)."""
    if cell_width(prefix) > width - 5:  # deep lineages: keep room for the id's tail
        prefix = "…" + prefix[-(width - 6) :]
    room = width - cell_width(prefix)
    tail = (
        task_id
        if len(task_id) <= min(room, width - 2)
        else "…" + task_id[-(min(room, width - 2) - 1) :]
    )
    cell = Text(prefix, style="grey50")
    cell.append(tail)
    return cell


# After the status of a handled task: a button was pressed (used) or it was dismissed (x).
USED_MARK = (" ✓", "green")
DISMISSED_MARK = (" –", "grey62")


def triage_mark(*, used: bool, dismissed: bool) -> Text:
    """ " ✓" when a button of the task was pressed, " –" when it was dismissed, else nothing."""
    if dismissed:
        return Text(*DISMISSED_MARK)
    if used:
        return Text(*USED_MARK)
    return Text("")


def fit_parts(parts: Sequence[Text | tuple[Text, int]], width: int) -> Text:
    """The parts on one line of at most `width` cells, leaving out whole parts, never cutting
    one in the middle of a word: the part with the lowest keep-priority goes first (a bare
    `Text` has priority 0; among equals, the rightmost). Each part carries its own leading
    separator (" │ ", " · "). Only when a single part is left and still too wide is it cut,
    with an ellipsis. `width` 0: everything."""
    ranked = [(p, 0) if isinstance(p, Text) else p for p in parts]
    kept = list(range(len(ranked)))

    def length() -> int:
        return sum(ranked[i][0].cell_len for i in kept)

    while width > 0 and len(kept) > 1 and length() > width:
        drop = min(reversed(kept), key=lambda i: ranked[i][1])
        kept.remove(drop)
    line = Text().join(ranked[i][0] for i in kept)
    if width > 0 and line.cell_len > width:
        line.truncate(width, overflow="ellipsis")
    return line
