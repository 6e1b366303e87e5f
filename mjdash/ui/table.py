"""The watchlist table: a DataTable updated by keyed diffs, never cleared on a poll."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int


ID_WIDTH = 11
COLUMNS = {
    "id": Column("id", "Task", ID_WIDTH),
    "action": Column("action", "Action", 9),
    "status": Column("status", "Status", 13),
    "progress": Column("progress", "Progress", 11),
    "elapsed": Column("elapsed", "Elapsed", 7),
    "prompt": Column("prompt", "Prompt", 30),
}
# What goes first when the pane is narrow: prompt, then action (issue: never refuse to start).
COLUMN_ORDER = ("id", "action", "status", "progress", "elapsed", "prompt")
DROP_ORDER = ("prompt", "action")
MIN_PROMPT = 10

Cells = dict[str, Text]


def columns_for_width(width: int) -> tuple[list[str], int]:
    """The column keys that fit `width` cells, and the prompt column's width."""
    keys = list(COLUMN_ORDER)
    # Each column costs its width plus 2 cells of padding; keep 2 for the scrollbar.

    def fixed(ks: list[str]) -> int:
        return sum(COLUMNS[k].width + 2 for k in ks if k != "prompt") + 2

    for drop in DROP_ORDER:
        room = width - fixed(keys)
        need = MIN_PROMPT + 2 if "prompt" in keys else 0
        if room >= need:
            break
        keys.remove(drop)
    prompt_width = max(MIN_PROMPT, width - fixed(keys) - 2) if "prompt" in keys else 0
    return keys, prompt_width


class TaskTable(DataTable, inherit_bindings=True):
    """One row per watched task, keyed by task id."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="cursor_down"),
        Binding("k", "cursor_up", "Up", show=False, id="cursor_up"),
        Binding("g", "scroll_top", "Top", show=False, id="top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="bottom"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._cells: dict[str, Cells] = {}
        self._order: list[str] = []
        self.column_keys: list[str] = []
        self.prompt_width = COLUMNS["prompt"].width

    # --- columns ------------------------------------------------------------------------

    def set_layout(self, keys: list[str], prompt_width: int) -> bool:
        """Use these columns; returns True when they changed (the rows were re-added)."""
        if keys == self.column_keys and prompt_width == self.prompt_width:
            return False
        selected = self.selected_key
        self.column_keys = keys
        self.prompt_width = prompt_width
        with self.app.batch_update():
            self.clear(columns=True)
            for key in keys:
                column = COLUMNS[key]
                width = prompt_width if key == "prompt" else column.width
                self.add_column(Text(column.label), key=key, width=width)
            rows = [[cells[k] for k in keys] for cells in (self._cells[i] for i in self._order)]
            for task_id, row in zip(self._order, rows, strict=True):
                self.add_row(*row, key=task_id)
            self._restore_cursor(selected)
        return True

    # --- rows ---------------------------------------------------------------------------

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:  # the cursor points past the rows during a rebuild
            return None
        return key.value

    def sync(self, order: Sequence[str], cells: dict[str, Cells]) -> int:
        """Make the table show `order` with `cells`; touch only what changed.

        `cells` may hold only the rows whose content changed since the last sync; rows not in
        it keep their cells. Returns how many cells were written.
        """
        selected = self.selected_key
        written = 0
        with self.app.batch_update():
            wanted = set(order)
            gone = [key for key in self._order if key not in wanted]
            if gone:
                written += self._remove(gone)
            current = set(self._cells)
            for task_id, row_cells in cells.items():
                if task_id not in wanted:
                    continue
                if task_id not in current:
                    self._cells[task_id] = row_cells
                    self.add_row(*(row_cells[k] for k in self.column_keys), key=task_id)
                    current.add(task_id)
                    written += len(self.column_keys)
                    continue
                old = self._cells[task_id]
                for key in self.column_keys:
                    value = row_cells[key]
                    if old.get(key) != value:
                        self.update_cell(task_id, key, value)
                        written += 1
                self._cells[task_id] = row_cells
            if list(order) != self._current_order():
                self._reorder(order)
            self._order = list(order)
            self._restore_cursor(selected)
        return written

    def update_cells(self, changes: dict[str, dict[str, Text]]) -> None:
        """Write a few cells (the elapsed tick) without a full sync."""
        with self.app.batch_update():
            for task_id, row_changes in changes.items():
                old = self._cells.get(task_id)
                if old is None:
                    continue
                for key, value in row_changes.items():
                    if key in self.column_keys and old.get(key) != value:
                        self.update_cell(task_id, key, value)
                    old[key] = value

    def visible_keys(self) -> list[str]:
        """Row keys currently on screen (plus a row of margin)."""
        top = int(self.scroll_y)
        height = self.size.height
        return [self._order[i] for i in range(max(0, top - 1), min(len(self._order), top + height))]

    def _current_order(self) -> list[str]:
        return self._order

    def _remove(self, keys: list[str]) -> int:
        if len(keys) > 50 and len(keys) > len(self._order) // 4:
            # remove_row relayouts each time (textual#5273): rebuild once instead.
            for key in keys:
                self._cells.pop(key, None)
            keep = [key for key in self._order if key in self._cells]
            self._order = keep
            self.clear()
            for key in keep:
                self.add_row(*(self._cells[key][k] for k in self.column_keys), key=key)
            return len(keep)
        for key in keys:
            self._cells.pop(key, None)
            self.remove_row(key)
        self._order = [key for key in self._order if key in self._cells]
        return 0

    def _reorder(self, order: Sequence[str]) -> None:
        # DataTable has no "move row"; this is what its own sort() does with the locations.
        self._row_locations = TwoWayDict({RowKey(key): index for index, key in enumerate(order)})
        self._update_count += 1
        self.refresh()

    def _restore_cursor(self, task_id: str | None) -> None:
        if task_id is None or task_id not in self._cells:
            return
        index = self.get_row_index(task_id)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False, scroll=False)

    def select(self, task_id: str) -> None:
        if task_id in self._cells:
            self.move_cursor(row=self.get_row_index(task_id))
