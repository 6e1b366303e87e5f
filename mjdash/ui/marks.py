"""Marks: pick many tasks, then act on them all (copy, export, dismiss, remove; the presses and
retries across them are ui/moves.py).

`t` marks or unmarks the selected row (and moves down, as mutt's tag key does), `T` marks every
row in view (after the filter), `ctrl+t` clears, and Esc clears when nothing else is open.
Marks live in memory only. A marked row shows `●` at the start of its id cell, which the
cursor highlight cannot hide, and the status line counts them.

Marks comes before Actions and BatchFeatures in the app's `features`: with marks, `C`, `E` and
`x` act on the marked tasks; without, they go to the feature that owns them (`actions`,
`batch`). `y` and `d` are the app's own actions, which ask `copy_ids` / `remove` first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.binding import Binding

from mjdash.model.moves import copy_lines
from mjdash.ui.modal_prompt import ChoiceScreen
from mjdash.ui.screens import ConfirmScreen
from mjdash.ui.table import ID_WIDTH

if TYPE_CHECKING:
    from mjdash.ui.host import Dashboard

MARK = "●"
MARK_STYLE = "bold magenta"


class Marks:
    BINDINGS = [
        Binding("t", "toggle_mark", "Mark", show=False, id="mark_toggle"),
        Binding("T", "mark_view", "Mark all in view", show=False, id="mark_view"),
        Binding("ctrl+t", "clear_marks", "Clear marks", show=False, id="marks_clear"),
    ]

    def __init__(self, app: Dashboard, *, actions: Any, batch: Any) -> None:
        self.app = app
        self.actions = actions  # ui/actions.py: C and x without marks
        self.batch = batch  # ui/batch.py: E without marks
        self._marked: dict[str, None] = {}  # insertion-ordered set

    # --- the marks ------------------------------------------------------------------------

    def __len__(self) -> int:
        """How many are marked (the status line asks every second: no walk over the rows)."""
        watched = self.app.watchlist
        return sum(1 for task_id in self._marked if task_id in watched)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._marked

    @property
    def ids(self) -> list[str]:
        """The marked ids still watched, in the table's order (then any folded away)."""
        watched = self.app.watchlist
        for gone in [i for i in self._marked if i not in watched]:
            del self._marked[gone]
        shown = [row.id for row in self.app.rows if row.id in self._marked]
        seen = set(shown)
        return shown + [i for i in self._marked if i not in seen]

    def _changed(self, ids: list[str]) -> None:
        self.app.sync_rows(ids, triage=False)
        self.app.render_status_line()

    def clear(self) -> bool:
        """Clear every mark; False when there were none (Esc then backs out of something
        else)."""
        if not self._marked:
            return False
        ids = list(self._marked)
        self._marked.clear()
        self._changed([i for i in ids if i in self.app.watchlist])
        return True

    def action_toggle_mark(self) -> None:
        app = self.app
        task_id = app.selected_id
        if task_id is None:
            return
        if task_id in self._marked:
            del self._marked[task_id]
        else:
            self._marked[task_id] = None
        self._changed([task_id])
        app.table.action_cursor_down()

    def action_mark_view(self) -> None:
        app = self.app
        new = [row.id for row in app.rows if row.id not in self._marked]
        for task_id in new:
            self._marked[task_id] = None
        self._changed(new)
        app.say(f"{len(self)} marked (ctrl+t clears)", timeout=2)

    def action_clear_marks(self) -> None:
        count = len(self)
        if self.clear():
            self.app.say(f"Cleared {count} mark{'s' if count != 1 else ''}", timeout=2)

    # --- the row --------------------------------------------------------------------------

    def decorate_row(self, task_id: str, cells: dict[str, Text]) -> dict[str, Text]:
        """● in a marked row's id cell, where the id's "…" was (a glyph survives the cursor
        highlight; a colour would not)."""
        if task_id not in self._marked:
            return cells
        old = cells["id"]
        cut = old.plain.rfind("…")  # the id's cut: the mark takes its place, the tree stays
        if cut >= 0:
            cell = old[:cut]
            cell.append(MARK, style=MARK_STYLE)
            cell.append_text(old[cut + 1 :])
        else:
            cell = Text(MARK, style=MARK_STYLE)
            cell.append_text(old[-(ID_WIDTH - 1) :] if len(old) > ID_WIDTH - 1 else old)
        return {**cells, "id": cell}

    # --- acting on the marks ----------------------------------------------------------------

    def copy_ids(self) -> bool:
        """y with marks: their ids, one a line. False when nothing is marked."""
        ids = self.ids
        if not ids:
            return False
        self.app.copy_value(f"{len(ids)} task ids", "\n".join(ids), lines=True)
        return True

    def action_copy_as(self) -> None:
        """C: with marks, copy their ids, their prompts, or one button's customIds."""
        ids = self.ids
        if not ids:
            self.actions.action_copy_as()
            return
        app = self.app
        choices: list[tuple[Text | str, object]] = [
            (Text("task ids", style="bold"), ("ids", "")),
            (Text("prompts", style="bold"), ("prompts", "")),
        ]
        for name, count in button_names(ids, app.tasks).items():
            label = Text(f"{name} customIds", style="bold")
            label.append(f"  ({count} of {len(ids)})", style="grey62")
            choices.append((label, ("custom_ids", name)))
        title = Text(f"Copy for the {len(ids)} marked tasks, one a line", style="bold")

        def picked(choice: tuple[str, str] | None) -> None:
            if choice is None:
                return
            kind, button = choice
            lines = copy_lines(ids, app.tasks, kind, button)
            if not lines:
                app.say("Nothing to copy: no marked task has it.", severity="warning")
                return
            what = {"ids": "task ids", "prompts": "prompts"}.get(kind, f"{button} customIds")
            app.copy_value(f"{len(lines)} {what}", "\n".join(lines), lines=True)

        app.push_screen(ChoiceScreen(title, choices), callback=picked)

    def action_export(self) -> None:
        """E: with marks, the marked tasks; else the view."""
        ids = self.ids
        if ids:
            self.batch.export_ids(ids)
        else:
            self.batch.action_export()

    def action_toggle_dismissed(self) -> None:
        """x: with marks, dismiss them all (or, when all are dismissed, bring them back)."""
        ids = self.ids
        if not ids:
            self.actions.action_toggle_dismissed()
            return
        app = self.app
        entries = [app.watchlist.get(i) for i in ids]
        dismiss = not all(e is not None and e.dismissed for e in entries)
        for task_id in ids:
            app.watchlist.set_dismissed(task_id, dismiss)
        app.save_soon()
        app.sync_rows(ids)
        app.show_selected()
        app.render_status_line()
        verb = "Dismissed" if dismiss else "Brought back"
        app.say(f"{verb} {len(ids)} marked tasks (x again undoes).", timeout=2)

    def remove(self) -> bool:
        """d with marks: ask, then stop watching them all. False when nothing is marked."""
        ids = self.ids
        if not ids:
            return False
        app = self.app
        running = sum(1 for i in ids if (t := app.tasks.get(i)) is not None and not t.is_terminal)
        question = Text(f"Stop watching the {len(ids)} marked tasks?", style="bold")
        if running:
            question.append(f"\n{running} of them have not finished.")

        def answered(yes: bool | None) -> None:
            if yes:
                app.remove_ids(ids)
                self.clear()
                app.say(f"Removed {len(ids)} tasks")

        app.push_screen(ConfirmScreen(question, yes="Remove"), callback=answered)
        return True


def button_names(ids: list[str], tasks: dict[str, Any]) -> dict[str, int]:
    """The button names found on these tasks, in first-seen order, with how many have each
    (the choice `b` and `C` offer)."""
    found: dict[str, int] = {}
    for task_id in ids:
        task = tasks.get(task_id)
        if task is None:
            continue
        for name in dict.fromkeys(b.name for b in task.buttons):
            found[name] = found.get(name, 0) + 1
    return found
