"""The detail pane: everything about the selected task, and its buttons as a navigable list."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import humanize
from rich.cells import cell_len
from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mjdash.model import kinds
from mjdash.model.insight import Stall, stall_advice
from mjdash.model.task import Button, Status, Task
from mjdash.model.wrap import hanging_wrap, wrap
from mjdash.ui.cells import STATUS_LOOK, format_duration, one_line, progress_bar
from mjdash.ui.keybind import bind
from mjdash.ui.preview import MAX_COLUMNS, MAX_ROWS, ImagePreview


@dataclass(frozen=True)
class DetailModel:
    """What the pane shows; compared to skip redraws when nothing changed."""

    task_id: str
    task: Task | None
    label: str = ""
    parent: str = ""
    children: tuple[str, ...] = ()
    used: frozenset[str] = field(default_factory=frozenset)
    not_found: bool = False
    stale: str = ""
    last_change: datetime | None = None
    parent_watched: bool = True
    retry_of: str = ""  # the task whose prompt this one submitted again (a batch move's retry)
    dismissed: bool = False
    stall_kind: str = ""  # "silent" or "queue" when the task is stalled (mjdash.model.insight)
    stall_since: datetime | None = None
    move_refusal: str = ""  # the last batch move's refusal on this task ("23 queue full, ...")
    # (customId, why) for the buttons this server refuses (model/kinds.py, refusal).
    refused: tuple[tuple[str, str], ...] = ()
    # The board's clocks (Board.clocks): a final task with no finish time stops where it was
    # first seen final; a MODAL one counts from when it entered MODAL.
    first_seen_final: datetime | None = None
    modal_since: datetime | None = None


def copyable_prompts(task: Task | None) -> tuple[str, ...]:
    """A describe's suggested prompts or a shorten's results: each one copyable on its own."""
    if task is None:
        return ()
    return tuple(kinds.describe_suggestions(task) or kinds.shorten_results(task))


@dataclass(frozen=True)
class CopyEntry:
    """A line of the button list that copies a text instead of pressing a button."""

    name: str  # "prompt 2"
    text: str


REFUSED_NOTE = "  refused by this server"


class ButtonList(OptionList):
    """The task's buttons, then "Copy prompt N" lines for a describe's suggestions or a
    shorten's results; the highlighted button is what `c` copies and `enter` presses (on a copy
    line both copy). A button the server refuses is dimmed and says so: enter explains."""

    BINDINGS = [
        bind("buttons_down", "cursor_down", "Down"),
        bind("buttons_up", "cursor_up", "Up"),
        # As in the table (README): g/G and Home/End go to the first or last button.
        bind("buttons_top", "first", "First"),
        bind("buttons_bottom", "last", "Last"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.buttons: tuple[Button, ...] = ()
        self.copies: tuple[CopyEntry, ...] = ()
        self.refused: dict[str, str] = {}
        self._shown: tuple = ((), frozenset(), (), (), 0)

    def show_buttons(
        self,
        buttons: tuple[Button, ...],
        used: frozenset[str],
        copies: tuple[CopyEntry, ...] = (),
        refused: tuple[tuple[str, str], ...] = (),
        width: int = 0,
    ) -> None:
        """`width`: the list's cells (0 unknown); a long customId wraps after `::`."""
        highlighted = self.highlighted
        shown = (buttons, used, copies, refused, width)
        if shown == self._shown and (highlighted is not None or not (buttons or copies)):
            return  # a poll that moved the progress: the same options, nothing to rebuild
        self._shown = shown
        self.buttons = buttons
        self.copies = copies
        self.refused = dict(refused)
        self.clear_options()
        name_width = max((len(b.name) for b in buttons), default=0)
        # The list scrolls on its own when it is taller than the pane: keep its bar's room.
        room = width - 2 - self.styles.scrollbar_size_vertical
        # A narrow list (the detail's columns) says it shorter than wrap it at its edge.
        refused_note = REFUSED_NOTE
        if width > 0 and name_width + len(REFUSED_NOTE) > room:
            refused_note = "  refused"
        options = []
        for button in buttons:
            refusal = self.refused.get(button.custom_id)
            line = Text()
            line.append("✓ " if button.custom_id in used else "  ", style="green")
            line.append(button.name.ljust(name_width), style="bold dim" if refusal else "bold")
            if refusal:
                line.append(refused_note, style="dim italic")
            # No emoji: terminals disagree on the width of 🖌️-style sequences and the
            # columns after them shift; the derived name says the same thing.
            line.append("\n")
            pieces = wrap(button.custom_id, room) if room > 12 else [button.custom_id]
            for index, piece in enumerate(pieces):
                line.append("\n  " if index else "  ", style=_INDENT)  # see _INDENT
                line.append(piece, style="dim")
            options.append(Option(line))
        for entry in copies:
            line = Text("  ")
            line.append(f"Copy {entry.name}", style="bold")
            line.append("\n")
            line.append("  " + one_line(entry.text, 60), style="dim")
            options.append(Option(line))
        self.add_options(options)
        count = len(buttons) + len(copies)
        if count:
            self.highlighted = min(highlighted or 0, count - 1)

    @property
    def selected_button(self) -> Button | None:
        if self.highlighted is None or not 0 <= self.highlighted < len(self.buttons):
            return None
        return self.buttons[self.highlighted]

    @property
    def selected_copy(self) -> CopyEntry | None:
        """The highlighted "Copy prompt N" line, if that is what is highlighted."""
        if self.highlighted is None:
            return None
        index = self.highlighted - len(self.buttons)
        return self.copies[index] if 0 <= index < len(self.copies) else None


def _when(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "—"
    local = moment.astimezone()
    shown = (
        f"{local:%H:%M:%S}"
        if local.date() == now.astimezone().date()
        else f"{local:%Y-%m-%d %H:%M}"
    )
    return f"{shown} ({humanize.naturaltime(now - moment)})"


def task_link(task_id: str, *, watched: bool = True) -> Text:
    """A watched task's id that selects it when clicked (`h` jumps to the parent too)."""
    if not watched:
        return Text(f"{task_id} (not watched)")
    if not task_id.isdigit():  # ids are digits; anything else is not put in an action string
        return Text(task_id)
    click = {"@click": f"app.select_task('{task_id}')"}
    return Text(task_id, style=Style(underline=True, meta=click))


def render_detail(model: DetailModel, now: datetime, width: int = 0) -> Text:
    """The text above the button list, whole (the pane shows it in three parts)."""
    return _joined(render_detail_parts(model, now, width))


_INDENT = Style(italic=False)  # no visible effect; see `row` in render_detail_parts
LABEL_WIDTH = 11  # "Prompt (en)" is the longest label; values start in this column
_WRAP_CONSOLE = Console(file=io.StringIO(), width=200, color_system=None, legacy_windows=False)


def hanging_lines(name: str, value: str, width: int) -> list[str]:
    """`name` then `value` in lines of at most `width` cells, continuation lines under the
    value (not back at the pane's edge); a customId breaks after `::`; the value's own line
    breaks are kept. `width` 0: one line, as it comes."""
    if width <= 0:
        return [f"{name:<{LABEL_WIDTH}}{value}"]
    lines: list[str] = []
    for index, paragraph in enumerate(value.split("\n") or [""]):
        label = name if index == 0 else ""
        wrapped = hanging_wrap(label, paragraph, width, label_width=LABEL_WIDTH)
        if not label and wrapped and not wrapped[0].strip():
            wrapped = wrapped[1:]  # the narrow form's empty label line
        lines += wrapped or [""]
    return lines


def hanging_text(value: Text, width: int) -> Text:
    """A styled value (a status, links) wrapped to `width - LABEL_WIDTH` cells, its lines
    indented under the value's column."""
    room = width - LABEL_WIDTH
    if width <= 0 or room < 12 or value.cell_len <= room:
        return value
    lines = value.wrap(_WRAP_CONSOLE, room)
    return Text("\n" + " " * LABEL_WIDTH).join(line.rstrip() or line for line in lines)


def _joined(parts: tuple[Text, ...]) -> Text:
    return Text("\n").join(part for part in parts if part.plain)


Row = Callable[..., None]


def _row_writer(width: int) -> Row:
    """`row(out, name, value, style="", name_style="bold")`: one "Name  value" row of the
    pane, the value wrapped under itself within `width` cells."""

    def row(
        out: Text, name: str, value: str | Text, style: str = "", name_style: str = "bold"
    ) -> None:
        if isinstance(value, Text):
            out.append(f"{name:<{LABEL_WIDTH}}", style=name_style)
            out.append_text(hanging_text(value, width))
            out.append("\n")
            return
        lines = hanging_lines(name, value, width)
        for index, line in enumerate(lines):
            body_text = line.lstrip(" ")
            if index == 0 and line.startswith(name):
                # The label with its padding, as one segment (the value starts after it).
                body_text = line[len(name) :].lstrip(" ")
                out.append(line[: len(line) - len(body_text)], style=name_style)
            else:
                # The indent in a style of its own: an SVG screenshot (rich's export) then
                # places the value by its column instead of trusting a run of spaces.
                out.append(line[: len(line) - len(body_text)], style=_INDENT)
            out.append(body_text, style=style)
            out.append("\n")

    return row


def render_clocks(model: DetailModel, now: datetime, width: int = 0) -> Text:
    """The part that moves with the clock (submitted, started, timing, stall): all the
    once-a-second tick renders again. Empty for a task not answered yet or not found."""
    clocks = Text()
    task = model.task
    if task is None or model.not_found:
        return clocks
    row = _row_writer(width)
    row(clocks, "Submitted", _when(task.submit_time, now))
    row(clocks, "Started", _when(task.start_time, now))
    row(clocks, "Finished", _when(task.finish_time, now))
    timing = []
    if task.queue_wait is not None:
        timing.append(f"queue {format_duration(task.queue_wait)}")
    if task.render_time is not None:
        timing.append(f"render {format_duration(task.render_time)}")
    elapsed = task.elapsed(
        now, first_seen_final=model.first_seen_final, modal_since=model.modal_since
    )
    if elapsed is not None:
        timing.append(
            f"{'in MODAL' if task.status is Status.MODAL else 'elapsed'} {format_duration(elapsed)}"
        )
    if timing:
        row(clocks, "Timing", " · ".join(timing))
    if model.last_change is not None and task.needs_polling:
        row(clocks, "Changed", _when(model.last_change, now))
    if model.stall_kind and model.stall_since is not None:
        stall = Stall(model.stall_kind, (now - model.stall_since).total_seconds())
        row(clocks, "Stalled", "⚠ " + stall_advice(stall, task.status), "bold yellow")
    return _chomp(clocks)


def render_detail_parts(
    model: DetailModel, now: datetime, width: int = 0, *, buttons_title: bool = True
) -> tuple[Text, Text, Text]:
    """The facts, the clocks and the texts: the once-a-second tick redraws only the clocks (a
    few short lines), not the prompt. Built from plain strings: server text stays inert.
    `width` (the pane's cells, 0 unknown) wraps long values under themselves. Without
    `buttons_title` the "Buttons (N)" line is left to the button list's own title (the pane's
    columns, `DetailPane.set_columns`)."""
    head, clocks, body = Text(), Text(), Text()
    row = _row_writer(width)
    task = model.task
    head.append("Task ", style="bold")
    head.append(model.task_id, style="bold cyan")
    head.append("\n")
    if model.label:
        row(head, "Label", model.label)
    if model.parent:
        # A retry sits under the task it replaces: say so, a retry is not a button's child.
        relation = "Retry of" if model.retry_of == model.parent else "Parent"
        row(head, relation, task_link(model.parent, watched=model.parent_watched))
    if model.children:
        children = Text()
        for index, child in enumerate(model.children):
            if index:
                children.append(", ")
            children.append_text(task_link(child))
        row(head, "Children", children)
    if model.dismissed:
        row(head, "Triage", "dismissed (x undoes)", "grey62")
    if model.move_refusal:
        row(head, "Refused", f"{model.move_refusal} (last move)", "bold red")
    if model.not_found:
        head.append("\nThe server does not know this task id (not found).\n", style="bold red")
        head.append("It is no longer polled; remove it with d.\n")
        return _chomp(head), clocks, body
    if task is None:
        head.append_text(_no_task_yet(model.stale))
        return _chomp(head), clocks, body
    glyph, word, style = STATUS_LOOK[task.status]
    status = Text(f"{glyph} {task.status_text if word == '?' else word}", style=style)
    if task.status.value == "MODAL":
        status.append("  needs you: press m to send its prompt", style="bold dark_orange")
    row(head, "Status", status)
    row(head, "Action", task.action or "—")
    if continued_modal(task):
        row(head, "MODAL", "prompt sent, moved on", "dark_orange")
    if task.progress is not None:
        bar = Text(f"{progress_bar(task.progress, 16)} {task.progress}%", style=style)
        row(head, "Progress", bar)
    if model.stale:
        row(head, "Stale", f"last answer was unusable: {model.stale}", "yellow")
    if task.fail_reason:
        row(head, "Failed", task.fail_reason, "bold red", name_style="bold red")
    clocks = render_clocks(model, now, width)
    _texts(body, task, row)
    if task.image_url and task.image_url not in task.video_links:
        row(body, "Image", task.image_url, "underline")
    videos = task.video_links
    if len(videos) == 1:
        row(body, "Video", videos[0], "underline")
    for number, link in enumerate(videos if len(videos) > 1 else (), start=1):
        row(body, f"Video {number}", link, "underline")
    if videos:
        body.append("o opens the video · D downloads the MP4s\n", style="grey62")
    if task.custom_id:
        row(body, "From", task.custom_id, "dim")
    if buttons_title:
        body.append("\n")
        body.append_text(buttons_heading(task))
    if model.refused:
        count = len(model.refused)
        what = "all" if count == len(task.buttons) else str(count)
        body.append(f"\n{what} refused by this server (dimmed): c copies them", style="grey62")
    if copyable_prompts(task):
        body.append("\nBelow them: Copy prompt 1… (enter or c copies)", style="grey62")
    return _chomp(head), clocks, body


def buttons_heading(task: Task | None, separator: str = "  ") -> Text:
    """ "Buttons (N)" and how to use them: above the list, or as its title."""
    heading = Text(f"Buttons ({len(task.buttons) if task else 0})", style="bold")
    if task is not None and task.buttons:
        heading.append(f"{separator}enter press · c/C copy", style="grey62")
    elif task is not None and not task.is_terminal:
        heading.append(f"{separator}(when the task finishes)", style="grey62")
    return heading


def continued_modal(task: Task) -> bool:
    """A Custom Zoom / Vary (Region) task whose prompt was sent: no longer waiting in MODAL."""
    if task.status is Status.MODAL:
        return False
    if task.action in ("CUSTOM_ZOOM", "INPAINT", "MODAL"):
        return True
    return task.custom_id.startswith(("MJ::CustomZoom::", "MJ::Inpaint::"))


def _numbered(body: Text, title: str, items: list[str]) -> None:
    body.append(title, style="bold")
    body.append("\n")
    for number, item in enumerate(items, start=1):
        body.append(f" {number}  ", style="bold cyan")
        body.append(item)
        body.append("\n")


def _texts(body: Text, task: Task, row) -> None:
    """The prompt and what the task made of text: a describe's suggestions, a shorten's
    results, a blend (no prompt). Fields the results were read from are not repeated."""
    suggestions = kinds.describe_suggestions(task)
    shortened = kinds.shorten_results(task)
    results = suggestions or shortened

    def is_result(text: str) -> bool:
        return bool(results) and kinds.split_numbered(text) == results

    if task.action == "BLEND" and not task.prompt.strip():
        row(body, "Blend", "no prompt: made from uploaded images", "italic")
    elif task.action == "DESCRIBE" and (not task.prompt or is_result(task.prompt)):
        row(body, "Describe", "prompts suggested for an image", "italic")
    else:
        row(body, "Prompt", task.prompt or "—")
    if task.prompt_en and task.prompt_en != task.prompt and not is_result(task.prompt_en):
        row(body, "Prompt (en)", task.prompt_en)
    final = task.final_prompt
    if final and final not in (task.prompt, task.prompt_en) and not is_result(final):
        row(body, "Final", final)
    if task.description and not is_result(task.description):
        row(body, "Message", task.description)
    if suggestions:
        _numbered(body, "Suggested prompts", suggestions)
    elif shortened:
        _numbered(body, "Shortened prompts", shortened)
    elif task.action in ("DESCRIBE", "SHORTEN") and task.is_terminal:
        row(body, "Results", "none in the answer", "grey62")


def _no_task_yet(stale: str) -> Text:
    """Why there is nothing to show yet: no answer, or only unusable ones (and why)."""
    if not stale:
        return Text("\nWaiting for the first answer from the server…\n", style="grey62")
    text = Text("\nNo usable answer for this task yet: ", style="bold yellow")
    text.append(stale, style="yellow")  # server-derived words, plain text
    text.append("\nmjdash asks again on its own backoff; r polls now.\n", style="grey62")
    return text


def _chomp(text: Text) -> Text:
    """Without its last newline: parts are shown one under the other, not a blank line apart."""
    if text.plain.endswith("\n"):
        text.right_crop(1)
    return text


def _shape(line: str) -> tuple[int, ...]:
    """The cell widths of the words of a line: lines of the same shape wrap alike."""
    return tuple(cell_len(word) for word in line.split(" "))


def same_height(old: Text | None, new: Text, width: int) -> bool:
    """Does `new` take the same lines as `old` at `width` cells (so no layout is needed)? The
    clocks ("12s" -> "1m 05s", "a minute ago") change words; a line that fits both ways, or
    keeps its word widths, wraps as before."""
    if old is None or width <= 0:
        return False
    before, after = old.plain.split("\n"), new.plain.split("\n")
    if len(before) != len(after):
        return False
    return all(
        a == b or (cell_len(a) <= width and cell_len(b) <= width) or _shape(a) == _shape(b)
        for a, b in zip(before, after, strict=True)
    )


PART_IDS = ("detail-info", "detail-clocks", "detail-body")
# With columns (DetailPane.set_columns): the button list's share of the pane, and its least.
BUTTONS_SHARE = 0.32
BUTTONS_MIN = 30
PREVIEW_MIN_ROWS = 4
NO_TASK = "No task selected. Press a to add task ids."


class DetailPane(VerticalScroll, can_focus=False):
    """Selected task: facts on top, buttons below."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model: DetailModel | None = None
        self._now = datetime.now().astimezone()
        self._shown: tuple[Text, ...] = (Text(NO_TASK), Text(), Text())  # the parts on screen
        self._side = (0, 0)  # with columns: the buttons' and the preview's cells, with gaps
        self._buttons_title: Text | None = None  # the button list's title (with columns)

    def compose(self):
        # The text in three parts (facts, clocks, texts), each redrawn only when it changed.
        for part_id, text in zip(PART_IDS, self._shown, strict=True):
            part = Static(text, id=part_id, classes="detail-part")
            part.display = bool(text.plain)
            yield part
            if part_id == "detail-info":
                # Under the facts, visible without scrolling (issue 16); its first line says
                # "loading" while the image comes, so the arrival moves little.
                yield ImagePreview(id="preview")
        yield ButtonList(id="buttons", classes="-empty")

    def set_columns(self, on: bool) -> None:
        """Under the table on a wide screen: the texts on the left, the buttons and then the image
        preview in columns of their own on the right, each at the pane's top (issue 16: at
        120x36 the preview sat below the prompt and ~25 lines of buttons, off screen). The pane
        is ~14 lines tall there: one column for everything left the preview and the buttons
        below the fold, so they get columns of their own. Narrower panes keep one column."""
        if on == self.has_class("-columns"):
            return
        self.set_class(on, "-columns")
        self._fit_columns()
        self._render_again()

    @property
    def columns(self) -> bool:
        return self.has_class("-columns")

    def _fit_columns(self) -> None:
        """Size the buttons' and the preview's columns for the pane (nothing in one column)."""
        preview, buttons = self.query_one(ImagePreview), self.query_one(ButtonList)
        if not self.columns:
            self._side = (0, 0)
            preview.styles.width = None
            buttons.styles.width = None
            preview.set_max_rows(MAX_ROWS)
            return
        region = self.scrollable_content_region
        # The image as tall as the pane under its caption line; a grid (square) is twice as
        # many columns as rows.
        rows = max(PREVIEW_MIN_ROWS, min(MAX_ROWS, region.height - 1))
        preview_width = min(MAX_COLUMNS, 2 * rows)
        buttons_width = max(BUTTONS_MIN, int(region.width * BUTTONS_SHARE))
        self._side = (buttons_width + 1, preview_width + 1)  # each with its gap on the left
        buttons.styles.width, preview.styles.width = self._side
        preview.set_max_rows(rows)

    def on_image_preview_shown(self) -> None:
        """The preview's column came or went: the texts beside it have another width."""
        if self.columns:
            self._render_again()

    def _render_again(self) -> None:
        model = self.model
        if model is not None:
            self._show_parts(self._parts(model, self._now))
            self._show_buttons(self.query_one(ButtonList), model)

    def _parts(self, model: DetailModel, now: datetime) -> tuple[Text, Text, Text]:
        buttons = self.query_one(ButtonList)
        # A task with nothing to press gets no column: its text says "Buttons (0)" as in one
        # column, and takes the room.
        empty = not (model.task and model.task.buttons) and not copyable_prompts(model.task)
        buttons.set_class(empty, "-empty")
        title = buttons_heading(model.task, " · ")
        if title != self._buttons_title:  # not every second: setting it repaints the list
            self._buttons_title = buttons.border_title = title
        titled = self.columns and not empty
        return render_detail_parts(model, now, self.text_width, buttons_title=not titled)

    @property
    def info_text(self) -> Text:
        """The text above the buttons, as one (what the three parts show)."""
        return _joined(self._shown)

    def show(self, model: DetailModel | None, now: datetime, *, empty: str = NO_TASK) -> None:
        """Show `model`; with none, the `empty` sentence (why nothing is selected)."""
        if model is None and self.model is None and self._shown[0].plain != empty:
            self._show_parts((Text(empty), Text(), Text()))
            return
        if model == self.model:
            return
        same_task = self.model is not None and model is not None
        same_task = same_task and self.model.task_id == model.task_id
        self.model = model
        self._now = now
        self.query_one(ImagePreview).show_task(model.task if model else None)
        buttons = self.query_one(ButtonList)
        if model is None:
            self._show_parts((Text(empty), Text(), Text()))
            buttons.set_class(True, "-empty")
            buttons.show_buttons((), frozenset())
            return
        self._show_parts(self._parts(model, now))
        if not same_task:
            buttons.highlighted = None
        self._show_buttons(buttons, model)
        if not same_task:
            self.scroll_home(animate=False)

    def refresh_times(self, now: datetime) -> None:
        """Re-render the clocks ("3 minutes ago") of the shown task (once a second): nothing
        when the text is the same, no layout when its lines wrap as before."""
        self._now = now
        model = self.model
        if model is not None:
            head, _, body = self._shown  # the facts and texts do not move with the clock
            self._show_parts((head, render_clocks(model, now, self.text_width), body))

    @property
    def text_width(self) -> int:
        """The cells a line of the text has: room for the scrollbar is kept even while it is
        hidden, so lines wrapped here are never wrapped again at the edge (0 before layout);
        with columns, what the buttons and the preview leave."""
        region = self.scrollable_content_region.width
        if region <= 0:
            return 0
        bar = 0 if self.show_vertical_scrollbar else self.styles.scrollbar_size_vertical
        buttons, preview = self._side
        if self.query_one(ButtonList).has_class("-empty"):
            buttons = 0
        if not self.query_one(ImagePreview).has_class("-shown"):
            preview = 0
        return max(0, region - bar - buttons - preview)

    @property
    def buttons_width(self) -> int:
        """The cells a line of the button list has."""
        return self._side[0] - 1 if self.columns else self.text_width

    def on_resize(self) -> None:
        """The lines were wrapped for the old width (and the columns sized for the old pane)."""
        self._fit_columns()
        self._render_again()

    def _show_buttons(self, buttons: ButtonList, model: DetailModel) -> None:
        """The task's buttons, then a describe's or a shorten's prompts to copy one by one."""
        copies = tuple(
            CopyEntry(f"prompt {number}", text)
            for number, text in enumerate(copyable_prompts(model.task), start=1)
        )
        task_buttons = model.task.buttons if model.task else ()
        buttons.show_buttons(task_buttons, model.used, copies, model.refused, self.buttons_width)

    def _show_parts(self, parts: tuple[Text, ...]) -> None:
        shown, self._shown = self._shown, parts
        for part_id, old, new in zip(PART_IDS, shown, parts, strict=True):
            if new == old:
                continue
            static = self.query_one(f"#{part_id}", Static)
            if bool(new.plain) != bool(old.plain):
                static.display = bool(new.plain)  # an empty part takes no line
            # A poll that moved the progress, a clock: no layout when the lines wrap as before.
            static.update(new, layout=not same_height(old, new, static.content_size.width))
