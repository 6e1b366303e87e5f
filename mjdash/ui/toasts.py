"""Toasts never cover a dialog.

Textual draws toasts on the screen on top, so the "N done" toasts of a running batch were drawn
over the lower right of an open dialog (a confirm, the add box, the help, the command palette)
until they timed out. In k9s and lazygit nothing draws over a dialog: it has the user's
attention, and messages wait in a fixed place. So while a dialog is open, toasts are held
(those on screen when it opened are taken down, not lost) and the status line, still visible
above the dimmed screen, says how many wait; when the dialog closes they are shown, the newest
REPLAY as they were and any older ones folded into one toast of their first lines. The summary
line's counts keep moving under the dialog, so the "done" news is on screen all along.

A dialog shows its own messages in its own lines, not as toasts (a toast raised while it is
open waits for it to close).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.notifications import Notification, Notify
from textual.screen import ModalScreen

REPLAY = 3  # held toasts shown as they were when the dialog closes; older ones are folded
FOLDED_LINES = 6  # lines of the folded toast (one per older note), then "… N more"


def is_dialog(screen: Any) -> bool:
    """A screen over the dashboard that toasts must not cover (the command palette too)."""
    return isinstance(screen, ModalScreen)


class ToastGate:
    """Holds the app's toasts while a dialog is open; `admit` decides for each new one."""

    def __init__(self, app: Any, *, changed: Callable[[], None]) -> None:
        self.app = app
        self.changed = changed  # the held count changed: the status line says it
        self.shown: list[Notification] = []  # let through, perhaps still on screen
        self.held: list[Notification] = []

    def start(self) -> None:
        self.app.screen_change_signal.subscribe(self.app, self.screen_changed)

    def admit(self, notification: Notification) -> bool:
        """True: draw it now. False: a dialog is open, it waits (the caller does not draw it)."""
        try:
            screen = self.app.screen
        except Exception:  # no screen yet (starting) or any more (closing): nothing to cover
            screen = None
        if is_dialog(screen):
            self.held.append(notification)
            self.changed()
            return False
        self.shown = [n for n in self.shown if not n.has_expired]
        self.shown.append(notification)
        return True

    def screen_changed(self, screen: Any) -> None:
        if is_dialog(screen):
            live = [n for n in self.shown if not n.has_expired]
            self.shown = []
            if live:  # take them off: the dialog's screen would draw them over it
                self.held = live + self.held
                self.app.clear_notifications()
                self.changed()
            # clear_notifications redraws the dialog's toasts only: the dimmed screen under
            # it still showed its own until they timed out.
            # (Each toast sits in a holder that names its notification: the holder goes, so the
            # replay can show it again.)
            for below in self.app.screen_stack[:-1]:
                below.query("ToastHolder").remove()
            return
        if self.held:
            self._replay()

    def _replay(self) -> None:
        # A keyed toast replaced while it waited was expired (timeout 0): its successor says it.
        held = [n for n in self.held if n.timeout > 0]
        self.held = []
        self.changed()
        older, newest = held[:-REPLAY], held[-REPLAY:]
        if older:
            lines = [_first_line(n) for n in older[:FOLDED_LINES]]
            if len(older) > FOLDED_LINES:
                lines.append(f"… {len(older) - FOLDED_LINES} more")
            folded = Notification("\n".join(lines), "While the dialog was open", markup=False)
            newest.insert(0, folded)
        now = time.time()
        for notification in newest:
            notification.raised_at = now  # its full time on screen, from now
            self.shown.append(notification)
            self.app.post_message(Notify(notification))


def _first_line(notification: Notification) -> str:
    words = notification.message.splitlines()[0] if notification.message else ""
    if notification.title:
        words = f"{notification.title}: {words}" if words else notification.title
    return words[:80]
