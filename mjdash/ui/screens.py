"""Modal screens: add ids, confirm, help."""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static, TextArea

from mjdash.model.task import extract_task_ids
from mjdash.ui.keybind import DIALOG_HELP, DIALOG_QUIT, bind


class PasteArea(TextArea):
    """A text area where Enter submits; pasted text (any number of lines) is kept as it is."""

    class Submitted(Message):
        pass

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.prevent_default()
            event.stop()
            self.post_message(self.Submitted())
            return
        await super()._on_key(event)


class AddScreen(ModalScreen[list[str] | None]):
    """Type or paste anything: every task id in it is found and shown before adding."""

    HELP_SCOPES = ("add",)  # what ? lists while this dialog is open
    BINDINGS = [bind("add_cancel", "cancel", "Cancel", show=True), DIALOG_QUIT]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(Text("Add tasks", style="bold"))
            yield Static(
                Text("Paste ids, submit answers, image URLs or log lines. Enter adds.", "grey62")
            )
            yield PasteArea(id="paste", soft_wrap=True, show_line_numbers=False)
            yield Static(Text("No task ids yet."), id="found")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add", id="add", variant="primary", disabled=True)
                yield Button("Cancel", id="cancel")
        yield Footer()  # this dialog's keys, not the dashboard's

    def on_mount(self) -> None:
        self.query_one(PasteArea).focus()

    @property
    def found_ids(self) -> list[str]:
        return extract_task_ids(self.query_one(PasteArea).text)

    @on(TextArea.Changed)
    def _count(self) -> None:
        ids = self.found_ids
        found = self.query_one("#found", Static)
        if not ids:
            text = Text("No task ids yet (a task id is 16 or more digits).", "grey62")
        else:
            noun = "id" if len(ids) == 1 else "ids"
            text = Text(f"{len(ids)} task {noun} found: ", "green")
            text.append(", ".join(ids[:4]) + (" …" if len(ids) > 4 else ""))
        found.update(text)
        self.query_one("#add", Button).disabled = not ids

    @on(PasteArea.Submitted)
    @on(Button.Pressed, "#add")
    def _submit(self) -> None:
        ids = self.found_ids
        if ids:
            self.dismiss(ids)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no, with the question in plain text (it may quote server text)."""

    HELP_SCOPES = ("confirm",)  # what ? lists while this dialog is open
    BINDINGS = [
        bind("confirm_yes", "answer(True)", "Yes", show=True),
        bind("confirm_no", "answer(False)", "No", show=True, key_display="n"),
        DIALOG_QUIT,
        DIALOG_HELP,
    ]

    def __init__(self, question: Text | str, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question if isinstance(question, Text) else Text(question)
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(self.question)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="warning")
                yield Button("No (n)", id="no")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class HelpScreen(ModalScreen[None]):
    """Every key of the screen it was opened from, grouped by purpose (move, act, copy, view,
    polling), from mjdash.model.keys.help_sections; or a flat list of (key, description)."""

    BINDINGS = [
        bind("help_close", "close", "Close", show=True, key_display="Esc"),
        bind("help_down", "scroll(1)", "Down", show=True),
        bind("help_up", "scroll(-1)", "Up", show=True),
        DIALOG_QUIT,
    ]

    def __init__(
        self,
        rows: list[tuple[str, str]] | list[tuple[str, list[tuple[str, str]]]],
    ) -> None:
        super().__init__()
        # Sections: [(title, [(key, description)])]; a flat list is one untitled section.
        if rows and isinstance(rows[0][1], list):
            self.sections = rows
        else:
            self.sections = [("", rows)]

    def compose(self) -> ComposeResult:
        text = Text()
        text.append("mjdash keys\n", style="bold")
        pairs = [pair for _, section in self.sections for pair in section]
        width = max((len(key) for key, _ in pairs), default=0)
        for title, section in self.sections:
            if title:
                text.append(f"\n{title}\n", style="bold underline")
            else:
                text.append("\n")
            for key, description in section:
                text.append(key.ljust(width + 2), style="bold cyan")
                text.append(description + "\n")
        text.append(
            "\nj/k scroll. ctrl+p opens the command palette. Esc, q or ? closes this.", "grey62"
        )
        with VerticalScroll(id="help", classes="dialog"):
            yield Static(text)
        yield Footer()

    def action_scroll(self, lines: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
