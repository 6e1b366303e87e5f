"""The summary line: how far the visible batch is, its medians and ETA, and the view in use.

Computed in mjdash.model.insight on poll and filter changes; the once-a-second tick only re-renders
the line (the ETA is stored as an absolute time) and writes it when the text changed.
"""

from __future__ import annotations

from datetime import timedelta

from rich.text import Text

from mjdash.model.insight import Summary
from mjdash.model.summary_text import Phrase, done_percent, outcome_phrase
from mjdash.model.task import Status
from mjdash.ui.cells import STATUS_LOOK, bar_cells, fit_parts, format_duration
from mjdash.ui.one_line import OneLine

BAR_WIDTH = 16


def _seconds(value: float | None) -> str:
    return "—" if value is None else format_duration(timedelta(seconds=value))


def render_summary(
    summary: Summary, now: float, view: str = "", width: int = 0, show: str = "all"
) -> Text:
    """The line; when it does not fit `width` cells, a compact one that keeps the outcome.

    `show` is the view's quick filter (model.view.SHOW_MODES): the "only failed" view says
    how many failed, never "batch complete"."""
    line = _render(summary, now, view, compact=False, show=show)
    if width and line.cell_len > width:
        # Compact, and still too wide: whole pieces are left out, never a word cut in two.
        line = fit_parts(_parts(summary, now, view, compact=True, show=show), width)
    return line


# How a phrase's tone looks (model/summary_text.py decides the tone).
TONE_STYLE = {
    "success": "bold green",
    "warning": "bold yellow",
    "error": "bold red",
    "muted": "grey62",
    "plain": "bold",
}


def outcome_text(summary: Summary, now: float, show: str = "all") -> Text:
    """The ETA while something runs, the outcome once everything settled."""
    phrase: Phrase = outcome_phrase(
        total=summary.total,
        done=summary.done,
        failed=summary.failed,
        missing=summary.missing,
        stalled=summary.stalled,
        eta=None if summary.finished else summary.eta(now),
        show=show,
    )
    return Text(phrase.text, style=TONE_STYLE[phrase.tone])


def _render(summary: Summary, now: float, view: str, *, compact: bool, show: str) -> Text:
    return Text().join(part for part, _ in _parts(summary, now, view, compact=compact, show=show))


# What a narrow line keeps longest (fit_parts drops the lowest first): the outcome and the
# done count, then the view, the other counts, the percent and bar, the medians.
_KEEP_OUTCOME, _KEEP_DONE, _KEEP_VIEW, _KEEP_COUNTS, _KEEP_BAR, _KEEP_MEDIANS = 9, 8, 7, 5, 4, 2


def _parts(
    summary: Summary, now: float, view: str, *, compact: bool, show: str
) -> list[tuple[Text, int]]:
    """The line in whole pieces, each with how long a narrow line keeps it."""
    parts: list[tuple[Text, int]] = []
    if not summary.total:
        parts.append((Text(" no tasks in view", style="grey62"), _KEEP_OUTCOME))
        if view:
            parts.append((Text(f" │ {view}", style="bold cyan"), _KEEP_VIEW))
        return parts
    width = 6 if compact else BAR_WIDTH
    filled = bar_cells(summary.progress, width, round_down=True)
    # The bar shows how far the batch is toward finished; the percent how much of it succeeded
    # (done/total: a failed task is finished, not done).
    all_done = summary.done == summary.total
    style = "green" if all_done else ("red" if summary.finished else "dodger_blue1")
    gap = " " if compact else "  "
    head = Text(" ")
    head.append(filled, style=style)
    head.append("·" * (width - len(filled)), style="grey35")
    head.append(f" {done_percent(summary.done, summary.total):3d}%")
    parts.append((head, _KEEP_BAR))
    parts.append((Text(f"{gap}{summary.done}/{summary.total} done", style="bold"), _KEEP_DONE))
    for number, status, word in (
        (summary.failed, Status.FAILURE, "failed"),
        (summary.running, Status.IN_PROGRESS, "running"),
        (summary.queued, Status.SUBMITTED, "queued"),
        (summary.modal, Status.MODAL, "MODAL"),
    ):
        if number:
            glyph, _, look = STATUS_LOOK[status]
            count = f"{gap}{glyph}{number}" + ("" if compact else f" {word}")
            parts.append((Text(count, style=look), _KEEP_COUNTS))
    if summary.stalled:
        words = "" if compact else " stalled"
        parts.append((Text(f"{gap}⚠{summary.stalled}{words}", style="bold yellow"), _KEEP_COUNTS))
    if summary.missing:
        missing = f"{gap}?{summary.missing}" + ("" if compact else " not found")
        parts.append((Text(missing, style="grey50"), _KEEP_COUNTS))
    if not compact:  # the medians go first when the line is narrow; the outcome stays
        medians = Text(" │ ", style="grey50")
        medians.append(f"queue ~{_seconds(summary.median_queue)}", style="grey70")
        medians.append(f" · render ~{_seconds(summary.median_render)}", style="grey70")
        parts.append((medians, _KEEP_MEDIANS))
        outcome = Text(" · ")
    else:
        outcome = Text(" │ ", style="grey50")
    outcome.append_text(outcome_text(summary, now, show))
    parts.append((outcome, _KEEP_OUTCOME))
    if view:
        shown = Text(" │ ", style="grey50")
        shown.append(view, style="bold cyan")
        parts.append((shown, _KEEP_VIEW))
    return parts


class SummaryLine(OneLine):
    """One line under the status line."""

    DEFAULT_CSS = """
    SummaryLine {
        height: 1;
        background: $panel-darken-1;
        color: $foreground;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(Text(""), **kwargs)
        self.summary = Summary()
        self.view_text = ""
        self.show_mode = "all"
        self._shown: Text | None = None
        self._now = 0.0

    def on_resize(self) -> None:
        self.tick(self._now)

    def set_summary(self, summary: Summary, now: float, view: str = "", show: str = "all") -> None:
        self.summary = summary
        self.view_text = view
        self.show_mode = show
        self.tick(now)

    def tick(self, now: float) -> None:
        """Re-render for `now`; writes only when the text changed (the ETA's seconds)."""
        self._now = now
        text = render_summary(self.summary, now, self.view_text, self.size.width, self.show_mode)
        if text != self._shown:
            self._shown = text
            self.update(text)

    @property
    def plain(self) -> str:
        return self._shown.plain if self._shown is not None else ""
