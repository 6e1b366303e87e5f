"""The filter input: `/` opens it, typing filters the table (debounced), Enter keeps the filter
and goes back to the table, Esc clears it."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.binding import Binding
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input

DEBOUNCE = 0.15  # seconds after the last key: 10,000 rows are not filtered per keystroke


class FilterBar(Input):
    DEFAULT_CSS = """
    FilterBar {
        height: 1;
        border: none;
        padding: 0 1;
        display: none;
        background: $panel;
    }
    FilterBar:focus {
        border: none;
    }
    """

    BINDINGS = [
        Binding("escape", "clear_filter", "Clear filter", show=False, id="filter_clear"),
        Binding("down", "leave", "Back to the table", show=False, id="filter_leave"),
    ]

    @dataclass
    class Applied(Message):
        """The filter text to use (after the debounce, on Enter, or cleared by Esc)."""

        text: str
        done: bool  # the user left the bar (Enter, Esc, down)

    def __init__(self, **kwargs) -> None:
        super().__init__(
            placeholder="filter: words in the id, prompt or status · Enter keeps · Esc clears",
            **kwargs,
        )
        self._timer: Timer | None = None

    def open(self, text: str) -> None:
        self.value = text
        self.cursor_position = len(text)
        self.display = True
        # Focus now, not after a refresh (Widget.focus defers): the keys typed right after the
        # "/" (one burst from a fast typist or a paste) must land here, not on the app's keys.
        self.screen.set_focus(self)

    def close(self) -> None:
        self.display = False

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, self._apply, name="filter")

    def _apply(self) -> None:
        self.post_message(self.Applied(self.value, done=False))

    def _finish(self, text: str) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.close()
        self.post_message(self.Applied(text, done=True))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._finish(self.value)

    def action_clear_filter(self) -> None:
        self.value = ""
        self._finish("")

    def action_leave(self) -> None:
        self._finish(self.value)
