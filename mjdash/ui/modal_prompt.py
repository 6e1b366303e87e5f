"""Dialogs for acting on tasks: the MODAL prompt (Custom Zoom, Vary (Region)) and a short
choice list (zoom and pan buttons, copy formats).

The checks are plain functions (`prefill`, `zoom_problem`, `read_mask`) so they are tested
without a screen. Prompts may quote server text: every widget gets `Text`/`markup=False`.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from mjdash.ui.keybind import DIALOG_HELP, DIALOG_QUIT, bind

CUSTOM_ZOOM = "custom_zoom"
INPAINT = "inpaint"
ZOOM_HINT = "--zoom 1.5"
ZOOM_MIN, ZOOM_MAX = 1.0, 2.0
MAX_MASK = 4 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ZOOM_RE = re.compile(r"(?<!\S)--zoom(?!\S)(?:\s+(\S+))?")


# --- checks (no UI) -----------------------------------------------------------------------


def dialog_kind(kind: str | None) -> str:
    """The dialog for model.kinds.modal_kind's answer: "zoom" -> CUSTOM_ZOOM (a --zoom
    field), "region" -> INPAINT (a mask), None -> "" (just the prompt)."""
    return {"zoom": CUSTOM_ZOOM, "region": INPAINT}.get(kind or "", "")


def prefill(prompt: str, kind: str) -> str:
    """The dialog's starting prompt: the parent's, plus `--zoom 1.5` for Custom Zoom."""
    prompt = " ".join(prompt.split())
    if kind == CUSTOM_ZOOM and not _ZOOM_RE.search(prompt):
        prompt = f"{prompt} {ZOOM_HINT}".strip()
    return prompt


def zoom_problem(prompt: str) -> str | None:
    """Custom Zoom needs exactly one `--zoom X` with 1 <= X <= 2."""
    found = _ZOOM_RE.findall(prompt)
    if not found:
        return f"add --zoom with a value from 1 to 2 (e.g. {ZOOM_HINT})"
    if len(found) > 1:
        return "give --zoom only once"
    value = found[0]
    if not value:
        return "--zoom needs a number from 1 to 2"
    try:
        zoom = float(value)
    except ValueError:
        return f"--zoom needs a number from 1 to 2, not {value!r}"
    if not math.isfinite(zoom) or not ZOOM_MIN <= zoom <= ZOOM_MAX:
        return f"--zoom must be between 1 and 2, not {value}"
    return None


def read_mask(path_text: str) -> tuple[str | None, str | None]:
    """(base64 of the PNG file, None) or (None, what is wrong). At most 4 MiB."""
    raw = path_text.strip()
    if not raw:
        return None, "Vary (Region) needs a mask: the path of a PNG file"
    path = Path(raw).expanduser()
    try:
        size = path.stat().st_size
        if not path.is_file():
            return None, f"{raw} is not a file"
        if size > MAX_MASK:
            return None, f"{raw} is {size / 1024 / 1024:.1f} MiB; the mask must be under 4 MiB"
        with path.open("rb") as handle:
            data = handle.read(MAX_MASK + 1)
    except OSError as exc:
        return None, f"{raw}: {exc.strerror or type(exc).__name__}"
    if len(data) > MAX_MASK:
        return None, f"{raw} is over 4 MiB; the mask must be under 4 MiB"
    if not data.startswith(PNG_SIGNATURE):
        return None, f"{raw} is not a PNG file"
    return base64.b64encode(data).decode("ascii"), None


def prompt_problem(prompt: str, kind: str) -> str | None:
    if not prompt.strip():
        return "the prompt is empty"
    if kind == CUSTOM_ZOOM:
        return zoom_problem(prompt)
    return None


# --- the MODAL prompt dialog --------------------------------------------------------------


@dataclass(frozen=True)
class ModalAnswer:
    prompt: str
    mask_base64: str | None = None


_TITLES = {CUSTOM_ZOOM: "Custom Zoom", INPAINT: "Vary (Region)"}
_HINTS = {
    CUSTOM_ZOOM: "Edit the prompt; --zoom from 1 to 2 (1.5 zooms out 1.5x). Enter sends.",
    INPAINT: "Edit the prompt and give the mask: a PNG, white where to repaint. Enter sends.",
    "": "The task waits for its prompt (MODAL). Edit it; Enter sends.",
}


class ModalPromptScreen(ModalScreen[ModalAnswer | None]):
    """Finish a MODAL task: its prompt (and for Vary (Region) a mask PNG), then /submit/modal."""

    DEFAULT_CSS = """
    ModalPromptScreen { align: center middle; }
    ModalPromptScreen Input { margin-top: 1; }
    ModalPromptScreen #modal-problem { margin-top: 1; color: $error; }
    """
    HELP_SCOPES = ("modal_prompt",)  # what ? lists while this dialog is open
    BINDINGS = [bind("modal_prompt_cancel", "cancel", "Cancel", show=True), DIALOG_QUIT]

    def __init__(self, task_id: str, kind: str, prompt: str) -> None:
        super().__init__()
        self.task_id = task_id
        self.kind = kind
        self.start_prompt = prefill(prompt, kind)

    def compose(self) -> ComposeResult:
        title = Text(_TITLES.get(self.kind, "Send the prompt"), style="bold")
        title.append(f" for task {self.task_id}", style="bold")
        with Vertical(id="dialog", classes="dialog"):
            yield Label(title)
            yield Static(Text(_HINTS[self.kind if self.kind in _HINTS else ""], style="grey62"))
            yield Input(
                self.start_prompt, id="modal-prompt", placeholder="prompt", select_on_focus=False
            )
            if self.kind == INPAINT:
                yield Input(
                    id="modal-mask",
                    placeholder="mask PNG path, e.g. ~/mask.png",
                    select_on_focus=False,
                )
            yield Static(Text(""), id="modal-problem")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Send", id="modal-send", variant="primary")
                yield Button("Cancel", id="modal-cancel")
        yield Footer()

    def on_mount(self) -> None:
        field = self.query_one("#modal-prompt", Input)
        field.focus()
        field.cursor_position = len(field.value)  # typing adds to the prompt, never replaces it
        self._show_problem(prompt_problem(self.prompt, self.kind))

    @property
    def prompt(self) -> str:
        return " ".join(self.query_one("#modal-prompt", Input).value.split())

    def _show_problem(self, problem: str | None) -> None:
        self.query_one("#modal-problem", Static).update(Text(problem or ""))
        self.query_one("#modal-send", Button).disabled = bool(problem)

    @on(Input.Changed, "#modal-prompt")
    def _check(self) -> None:
        self._show_problem(prompt_problem(self.prompt, self.kind))

    @on(Input.Submitted)
    @on(Button.Pressed, "#modal-send")
    def _send(self) -> None:
        prompt = self.prompt
        problem = prompt_problem(prompt, self.kind)
        mask = None
        if problem is None and self.kind == INPAINT:
            mask, problem = read_mask(self.query_one("#modal-mask", Input).value)
        if problem:
            self._show_problem(problem)
            if self.kind == INPAINT and "mask" in problem.lower():
                self.query_one("#modal-mask", Input).focus()
            return
        self.dismiss(ModalAnswer(prompt, mask))

    @on(Button.Pressed, "#modal-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


# --- a short choice ------------------------------------------------------------------------


class ChoiceScreen(ModalScreen[Any]):
    """Pick one of a few (label, value); enter picks, escape cancels (dismisses None)."""

    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen OptionList { height: auto; max-height: 16; margin-top: 1; border: none; }
    """
    HELP_SCOPES = ("choice",)  # what ? lists while this dialog is open
    BINDINGS = [
        bind("choice_cancel", "cancel", "Cancel", show=True, key_display="Esc"),
        bind("choice_down", "move(1)", "Down", show=True),
        bind("choice_up", "move(-1)", "Up", show=True),
        DIALOG_QUIT,
        DIALOG_HELP,
    ]

    def __init__(self, title: Text | str, choices: list[tuple[Text | str, Any]], note: str = ""):
        super().__init__()
        self.title_text = title if isinstance(title, Text) else Text(title, style="bold")
        self.choices = choices
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(self.title_text)
            if self.note:
                yield Static(Text(self.note, style="grey62"))
            yield OptionList(
                *(
                    Option(label if isinstance(label, Text) else Text(label))
                    for label, _ in self.choices
                ),
                id="choices",
            )
        yield Footer()  # this dialog's keys, not the dashboard's

    def on_mount(self) -> None:
        options = self.query_one("#choices", OptionList)
        options.highlighted = 0 if self.choices else None
        options.focus()

    def action_move(self, step: int) -> None:
        options = self.query_one("#choices", OptionList)
        options.action_cursor_down() if step > 0 else options.action_cursor_up()

    @on(OptionList.OptionSelected, "#choices")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices[event.option_index][1])

    def action_cancel(self) -> None:
        self.dismiss(None)
