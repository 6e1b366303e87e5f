"""Image features wired into the app: the preview's keys and the contact sheet.

`v` turns the detail pane's preview on or off, `i` shows the next of a grid's four images,
`V` opens the contact sheet (ui/contact_sheet.py) on the finished tasks in view. The sheet's
`1`-`4` come back as `ContactSheet.PressButton` messages; the app hands them to `press_from_sheet`,
which asks with the usual confirm (the Actions feature's `request_press`). Downloads (`D`) stay
with the batch (ui/batch.py): they act on the view as well as on one task.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

from mjdash.ui.contact_sheet import ContactSheet, find_button

if TYPE_CHECKING:
    from mjdash.ui.host import Dashboard
    from mjdash.ui.preview import ImagePreview


class ImageFeatures:
    """The preview and the contact sheet: their keys and what they do."""

    BINDINGS = [
        Binding("v", "toggle_preview", "Image preview", show=False, id="toggle_preview"),
        Binding("i", "cycle_preview", "Grid image U1-U4", show=False, id="cycle_preview"),
        Binding("V", "contact_sheet", "Contact sheet", show=False, id="contact_sheet"),
    ]

    def __init__(
        self,
        app: Dashboard,
        *,
        press: Callable[[str, Any], None],
        select: Callable[[str], None],
        download_dir: Path,
    ) -> None:
        self.app = app
        self.press = press  # asks "press U1 on …?" and sends it (Actions.request_press)
        self.select = select  # selects a task in the table (Actions.action_select_task)
        self.download_dir = download_dir

    @property
    def preview(self) -> ImagePreview:
        from mjdash.ui.preview import ImagePreview

        return self.app.query_one(ImagePreview)

    def start(self) -> None:
        """On mount: [ui] preview ("auto", "halfblocks", "kitty", "sixel" or "off")."""
        self.preview.enabled = self.app.config.ui.preview

    def action_toggle_preview(self) -> None:
        preview = self.preview
        preview.set_enabled(not preview.enabled)
        state = "on" if preview.enabled else "off"
        self.app.say(f"Image preview {state} (v)", timeout=1.5)

    def action_cycle_preview(self) -> None:
        if not self.preview.cycle():
            self.app.say("This task has one image (a grid lists four when the server gives them).")

    def sheet(self) -> ContactSheet:
        """The contact sheet over the finished tasks of the table's rows (filter and sort)."""
        app = self.app
        tasks = app.tasks
        finished = [row.id for row in app.rows if row.id in tasks and tasks[row.id].is_terminal]
        return ContactSheet(
            finished,
            tasks,
            entries=lambda: {entry.id: entry for entry in app.watchlist.entries},
            client=app.client,
            download_dir=self.download_dir,
            selected=app.selected_id,
        )

    def action_contact_sheet(self) -> None:
        def closed(task_id: str | None) -> None:
            if task_id:
                self.select(task_id)

        self.app.push_screen(self.sheet(), callback=closed)

    def press_from_sheet(self, message: ContactSheet.PressButton) -> None:
        """The sheet's 1-4 on a grid: the usual confirm, then the press."""
        button = find_button(self.app.tasks.get(message.task_id), message.name)
        if button is not None:
            self.press(message.task_id, button)
