"""The dialogs of a batch move: the one confirm (how many jobs, which tasks lack the button,
whether to press buttons pressed before), and the typed count a big move asks for.

Both show server text (prompts, button names) as plain rich Text, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


@dataclass(frozen=True)
class MoveQuestion:
    """What the confirm shows for one reading of the move (pressed-before buttons skipped or
    included): the sentence, the lines under it, and the number of jobs."""

    text: str
    details: tuple[str, ...]
    count: int


class MoveConfirmScreen(ModalScreen["bool | None"]):
    """Send the move? `y` sends, `n`/Esc/`q` cancels; `a` switches between skipping and
    including buttons pressed before (when there are any). Dismisses True (send), False (no),
    and the caller reads `again` for the choice made."""

    BINDINGS = [
        Binding("y", "answer(True)", "Send", id="move_yes"),
        Binding("n,escape,q", "answer(False)", "No", id="move_no"),
        Binding("a", "toggle_again", "Press again too", id="move_again"),
    ]

    def __init__(
        self, ask: Callable[[bool], MoveQuestion], *, can_again: bool, verb: str = "Send"
    ) -> None:
        super().__init__()
        self.ask = ask
        self.can_again = can_again
        self.again = False
        self.verb = verb

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(id="move-question")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.verb} (y)", id="yes", variant="warning")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self._show()
        self.query_one("#no", Button).focus()

    @property
    def question(self) -> MoveQuestion:
        return self.ask(self.again)

    def _show(self) -> None:
        question = self.question
        text = Text(question.text, style="bold")
        # As many detail lines as leave the yes/no buttons on screen (a 20-line pane: 5).
        room = max(1, min(8, self.app.size.height - 15))
        for line in question.details[:room]:
            text.append("\n  " + line, style="grey62")
        if len(question.details) > room:
            text.append(f"\n  … {len(question.details) - room} more", style="grey62")
        if self.can_again:
            if self.again:
                text.append("\nButtons pressed before are pressed again (a: skip them).", "yellow")
            else:
                text.append("\nButtons pressed before are skipped (a: press them again).")
        if question.count:
            text.append("\nEach job starts a new task and spends credits.")
        else:
            text.append("\nNothing to send.", style="bold yellow")
        self.query_one("#move-question", Static).update(text)
        self.query_one("#yes", Button).disabled = not question.count

    def action_toggle_again(self) -> None:
        if self.can_again:
            self.again = not self.again
            self._show()

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.action_answer(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(bool(answer and self.question.count))


class TypedCountScreen(ModalScreen[bool]):
    """A big move: type the number of jobs to send them (as destructive batch tools ask).
    Enter with the right number dismisses True; Esc (or a wrong number, said so) does not send."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="typed_cancel")]

    def __init__(self, count: int, what: str) -> None:
        super().__init__()
        self.count = count
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            text = Text(f"{self.count} jobs", style="bold")
            text.append(f": {self.what}\nType {self.count} and Enter to send them; Esc cancels.")
            yield Static(text)
            yield Input(placeholder=str(self.count), id="typed-count", restrict=r"[0-9]*")
            yield Static(id="typed-problem")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip() == str(self.count):
            self.dismiss(True)
            return
        problem = Text(f"That is not {self.count}; nothing was sent.", style="bold yellow")
        self.query_one("#typed-problem", Static).update(problem)

    def action_cancel(self) -> None:
        self.dismiss(False)
