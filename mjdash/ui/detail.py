"""The detail pane: everything about the selected task, and its buttons as a navigable list."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import humanize
from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mjdash.insight import Stall, stall_advice
from mjdash.task import Button, Task
from mjdash.ui.cells import STATUS_LOOK, format_duration, progress_bar
from mjdash.ui.preview import ImagePreview


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
    dismissed: bool = False
    stall_kind: str = ""  # "silent" or "queue" when the task is stalled (mjdash.insight)
    stall_since: datetime | None = None


class ButtonList(OptionList):
    """The task's buttons; the highlighted one is what `c` copies and `enter` presses."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="buttons_down"),
        Binding("k", "cursor_up", "Up", show=False, id="buttons_up"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.buttons: tuple[Button, ...] = ()

    def show_buttons(self, buttons: tuple[Button, ...], used: frozenset[str]) -> None:
        highlighted = self.highlighted
        self.buttons = buttons
        self.clear_options()
        width = max((len(b.name) for b in buttons), default=0)
        options = []
        for button in buttons:
            line = Text()
            line.append("✓ " if button.custom_id in used else "  ", style="green")
            line.append(button.name.ljust(width), style="bold")
            # No emoji: terminals disagree on the width of 🖌️-style sequences and the
            # columns after them shift; the derived name says the same thing.
            line.append("\n")
            line.append("  " + button.custom_id, style="dim")
            options.append(Option(line))
        self.add_options(options)
        if buttons:
            self.highlighted = min(highlighted or 0, len(buttons) - 1)

    @property
    def selected_button(self) -> Button | None:
        if self.highlighted is None or not 0 <= self.highlighted < len(self.buttons):
            return None
        return self.buttons[self.highlighted]


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


def render_detail(model: DetailModel, now: datetime) -> Text:
    """The text above the button list. Built from plain strings: server text stays inert."""
    out = Text()

    def row(name: str, value: str | Text, style: str = "") -> None:
        out.append(f"{name:<11}", style="bold")
        if isinstance(value, Text):
            out.append_text(value)
        else:
            out.append(value, style=style)
        out.append("\n")

    task = model.task
    out.append("Task ", style="bold")
    out.append(model.task_id, style="bold cyan")
    out.append("\n")
    if model.label:
        row("Label", model.label)
    if model.parent:
        row("Parent", task_link(model.parent, watched=model.parent_watched))
    if model.children:
        children = Text()
        for index, child in enumerate(model.children):
            if index:
                children.append(", ")
            children.append_text(task_link(child))
        row("Children", children)
    if model.dismissed:
        row("Triage", "dismissed (x undoes)", "grey62")
    if model.not_found:
        out.append("\nThe server does not know this task id (not found).\n", style="bold red")
        out.append("It is no longer polled; remove it with d.\n")
        return out
    if task is None:
        out.append("\nWaiting for the first answer from the server…\n", style="grey62")
        return out
    glyph, word, style = STATUS_LOOK[task.status]
    status = Text(f"{glyph} {task.status_text if word == '?' else word}", style=style)
    if task.status.value == "MODAL":
        status.append("  needs you: press m to send its prompt", style="bold dark_orange")
    row("Status", status)
    row("Action", task.action or "—")
    if task.progress is not None:
        row("Progress", Text(f"{progress_bar(task.progress, 16)} {task.progress}%", style=style))
    if model.stale:
        row("Stale", f"last answer was unusable: {model.stale}", "yellow")
    if task.fail_reason:
        out.append("Failed     ", style="bold red")
        out.append(task.fail_reason, style="bold red")
        out.append("\n")
    row("Submitted", _when(task.submit_time, now))
    row("Started", _when(task.start_time, now))
    row("Finished", _when(task.finish_time, now))
    timing = []
    if task.queue_wait is not None:
        timing.append(f"queue {format_duration(task.queue_wait)}")
    if task.render_time is not None:
        timing.append(f"render {format_duration(task.render_time)}")
    elapsed = task.elapsed(now)
    if elapsed is not None:
        timing.append(f"elapsed {format_duration(elapsed)}")
    if timing:
        row("Timing", " · ".join(timing))
    if model.last_change is not None and task.needs_polling:
        row("Changed", _when(model.last_change, now))
    if model.stall_kind and model.stall_since is not None:
        stall = Stall(model.stall_kind, (now - model.stall_since).total_seconds())
        row("Stalled", "⚠ " + stall_advice(stall, task.status), "bold yellow")
    row("Prompt", task.prompt or "—")
    if task.prompt_en and task.prompt_en != task.prompt:
        row("Prompt (en)", task.prompt_en)
    if task.final_prompt and task.final_prompt not in (task.prompt, task.prompt_en):
        row("Final", task.final_prompt)
    if task.description:
        row("Message", task.description)
    if task.image_url:
        row("Image", task.image_url, "underline")
    if task.video_url:
        row("Video", task.video_url, "underline")
    if task.custom_id:
        row("From", task.custom_id, "dim")
    out.append("\n")
    out.append(f"Buttons ({len(task.buttons)})", style="bold")
    if task.buttons:
        out.append("  enter press · c/C copy", style="grey62")
    elif not task.is_terminal:
        out.append("  (when the task finishes)", style="grey62")
    return out


def _shape(text: Text) -> tuple[tuple[int, ...], ...]:
    """The cell widths of the words of each line: texts of the same shape wrap alike (so take
    the same height) at any width."""
    lines = text.plain.split("\n")
    return tuple(tuple(cell_len(word) for word in line.split(" ")) for line in lines)


class DetailPane(VerticalScroll, can_focus=False):
    """Selected task: facts on top, buttons below."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model: DetailModel | None = None
        self._info_text: Text | None = None  # what #detail-info shows (None: no task)

    def compose(self):
        yield Static(Text("No task selected. Press a to add task ids."), id="detail-info")
        yield ButtonList(id="buttons")
        # Below the buttons: an image arriving late must not push them away from the cursor.
        yield ImagePreview(id="preview")

    def show(self, model: DetailModel | None, now: datetime) -> None:
        if model == self.model:
            return
        same_task = self.model is not None and model is not None
        same_task = same_task and self.model.task_id == model.task_id
        self.model = model
        self.query_one(ImagePreview).show_task(model.task if model else None)
        info = self.query_one("#detail-info", Static)
        buttons = self.query_one(ButtonList)
        if model is None:
            self._info_text = None
            info.update(Text("No task selected. Press a to add task ids."))
            buttons.show_buttons((), frozenset())
            return
        text = render_detail(model, now)
        shown, self._info_text = self._info_text, text
        if text != shown:
            # A poll that moved the progress: no layout when the lines wrap as before.
            info.update(text, layout=shown is None or _shape(text) != _shape(shown))
        task_buttons = model.task.buttons if model.task else ()
        if not same_task:
            buttons.highlighted = None
        buttons.show_buttons(task_buttons, model.used)
        if not same_task:
            self.scroll_home(animate=False)

    def refresh_times(self, now: datetime) -> None:
        """Re-render the relative times ("3 minutes ago") of the shown task (once a second):
        nothing when the text is the same, no layout when its lines wrap as before."""
        if self.model is None:
            return
        text = render_detail(self.model, now)
        shown = self._info_text
        if shown is not None and text == shown:
            return
        same_shape = shown is not None and _shape(text) == _shape(shown)
        self._info_text = text
        self.query_one("#detail-info", Static).update(text, layout=not same_shape)
