"""The watchlist table: a DataTable updated by keyed diffs, never cleared on a poll.

It stays as cheap at 10,000 rows as at 100 (tests/perf/bench.py measures it): rows are lazy
(a row's cells are built only when it is on screen), the row order is cached apart from the cell
contents, and a changed cell is the only cell rendered again.

One of the two modules allowed to use Textual internals (the other is ui/terminal.py): it reads
DataTable's caches and copies its row renderer, pinned to the Textual minor in pyproject and
checked by tests/app/test_textual_seams.py and the segment-for-segment test in
tests/app/test_table_scale.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.renderables.styled import Styled
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, CellType, ColumnKey, Row, RowKey


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int


ID_WIDTH = 11
WIDE_ID_WIDTH = 16  # a wide table shows more of the id (ids differ in their tail)
# Rendered cells and rows kept (DataTable keeps 10,000 cells, ~1.5 KiB each with their Segments
# and Styles, and 1,000 rows and lines). Adding, removing or reordering a row bumps the
# table-wide count in every render cache key (and a cursor move changes the rows' keys), so on a
# busy watchlist these caches fill with entries no render can ask for again: the soak saw RSS
# climb ~20 MiB over the first minute in lockstep with them. Two screens of a 200-line terminal
# (7 columns) keep every hit.
CELL_CACHE_CELLS = 3000
ROW_CACHE_ROWS = 400
# Rendered cells by what they show (text, styles, width), whichever row they are on: the
# elapsed and progress cells that change every second repeat the same few values ("54s",
# "██▌··· 45%"), and rich's render of one costs ~150 us. Bounded like the caches above.
LOOK_CACHE_CELLS = 2000
COLUMNS = {
    "id": Column("id", "Task", ID_WIDTH),
    "action": Column("action", "Action", 9),
    "status": Column("status", "Status", 13),
    "progress": Column("progress", "Progress", 11),
    "elapsed": Column("elapsed", "Elapsed", 8),
    "label": Column("label", "Label", 14),
    "prompt": Column("prompt", "Prompt", 30),
}
# What goes first when the pane is narrow: prompt, then action (issue: never refuse to start).
COLUMN_ORDER = ("id", "action", "status", "progress", "elapsed", "prompt")
WIDE_ORDER = ("id", "action", "status", "progress", "elapsed", "label", "prompt")
DROP_ORDER = ("prompt", "action")
MIN_PROMPT = 10
WIDE_MIN_PROMPT = 28  # the label column and the longer id only when the prompt keeps this much

# The sort (model.view SORTS) -> the column whose header shows it, and its direction.
SORT_MARKS = {
    "status": ("status", "▲"),  # needs you first
    "progress": ("progress", "▲"),  # least first
    "elapsed": ("elapsed", "▼"),  # longest first
    "submitted": ("id", "▼"),  # newest first: ids start with the submit time
}

Cells = dict[str, Text]


def _fixed(keys: list[str], id_width: int) -> int:
    """Every column but the prompt, each with 2 cells of padding, plus 2 for the scrollbar."""
    return sum((id_width if k == "id" else COLUMNS[k].width) + 2 for k in keys if k != "prompt") + 2


# The fewest cells a table needs for its wide columns (the label, the longer id, a prompt of
# WIDE_MIN_PROMPT): the app keeps the detail pane under the table until both fit side by side.
WIDE_TABLE = _fixed(list(WIDE_ORDER), WIDE_ID_WIDTH) + 2 + WIDE_MIN_PROMPT


def columns_for_width(width: int) -> tuple[list[str], int]:
    """The column keys that fit `width` cells, and the prompt column's width.

    A wide table (at least WIDE_TABLE cells: the prompt keeps WIDE_MIN_PROMPT even so) adds the
    watchlist label column and shows more of the id (`id_width`)."""
    wide = list(WIDE_ORDER)
    if width >= WIDE_TABLE:
        return wide, width - _fixed(wide, WIDE_ID_WIDTH) - 2
    keys = list(COLUMN_ORDER)
    for drop in DROP_ORDER:
        room = width - _fixed(keys, ID_WIDTH)
        need = MIN_PROMPT + 2 if "prompt" in keys else 0
        if room >= need:
            break
        keys.remove(drop)
    prompt_width = max(MIN_PROMPT, width - _fixed(keys, ID_WIDTH) - 2) if "prompt" in keys else 0
    return keys, prompt_width


def id_width(keys: list[str]) -> int:
    """The id column's width for these columns (wider with the label column)."""
    return WIDE_ID_WIDTH if "label" in keys else ID_WIDTH


def header_label(key: str, sort: str) -> Text:
    """A column's header, with ▲/▼ when the rows are sorted by it."""
    label = COLUMNS[key].label
    column, arrow = SORT_MARKS.get(sort, ("", ""))
    return Text(f"{label}{arrow}" if column == key else label)


class TaskTable(DataTable, inherit_bindings=True):
    """One row per watched task, keyed by task id.

    Rows are lazy. The table holds every row's key, in order, but asks `cell_source(task_id)`
    for a row's cells only while the row is on screen: `show(order, changed)` marks the changed
    rows stale and rebuilds the few in view; the others are rebuilt when they scroll into view
    (or when read with `get_cell`/`get_row`). A poll that changes 10,000 rows costs about what
    one that changes 40 does.
    """

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="cursor_down"),
        Binding("k", "cursor_up", "Up", show=False, id="cursor_up"),
        Binding("g", "scroll_top", "Top", show=False, id="top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="bottom"),
    ]

    # DataTable rebuilds its row order (O(rows)) after every cell update; ours is cached on the
    # identity of the row-location map, which changes only when rows are added, removed or moved.
    _order_memo: tuple[object, int, list[Row]] | None = None
    _offsets_memo: tuple[list[Row], list[tuple[RowKey, int]]] | None = None
    # What every line of one render pass shares (render_lines): the widget's style (None when
    # not rendering), the header style, the column widths.
    _pass_style: Style | None = None
    _pass_header_style: Style | None = None
    _pass_widths: tuple[int, ...] = ()

    def __init__(self, *, cell_source: Callable[[str], Cells] | None = None, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._cell_render_cache.maxsize = CELL_CACHE_CELLS
        for cache in (self._row_render_cache, self._row_renderable_cache, self._line_cache):
            cache.maxsize = ROW_CACHE_ROWS
        self.cell_source = cell_source
        self._looks: LRUCache[tuple, list[list[Segment]]] = LRUCache(LOOK_CACHE_CELLS)
        self._column_spans: list[tuple[int, int]] = []
        self._cells: dict[str, Cells] = {}  # the cells each built row shows
        self._stale: set[str] = set()  # rows whose cells must be (re)built before being seen
        self._order: list[str] = []
        self._present: set[str] = set()
        self._changed_cells: set[tuple[RowKey, ColumnKey]] = set()  # render caches to drop
        self.column_keys: list[str] = []
        self.prompt_width = COLUMNS["prompt"].width
        self.id_width = ID_WIDTH
        self.sort = "added"  # the view's sort: its column's header gets ▲/▼

    # --- columns ------------------------------------------------------------------------

    def set_layout(self, keys: list[str], prompt_width: int) -> bool:
        """Use these columns; returns True when they changed (the rows were re-added)."""
        if keys == self.column_keys and prompt_width == self.prompt_width:
            return False
        selected = self.selected_key
        self.column_keys = keys
        self.prompt_width = prompt_width
        self.id_width = id_width(keys)
        self._column_spans = []
        with self.app.batch_update():
            order = self._order
            self._clear_rows()
            self.clear(columns=True)
            for key in keys:
                width = {"prompt": prompt_width, "id": self.id_width}.get(key, COLUMNS[key].width)
                self.add_column(header_label(key, self.sort), key=key, width=width)
            self._append(order)
            self._restore_cursor(selected, scroll=True)
            self._build_visible()
        return True

    def show_sort(self, sort: str) -> None:
        """Put the sort's ▲/▼ in its column's header (model.view SORTS)."""
        if sort == self.sort:
            return
        self.sort = sort
        for key, column in self.columns.items():
            if key.value in COLUMNS:
                column.label = header_label(key.value, sort)
        self._update_count += 1  # part of every cell's render cache key: the header redraws
        self.refresh()

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

    def show(self, order: Sequence[str], changed: Iterable[str] = ()) -> None:
        """Show the rows `order`, in that order. Rows in `changed` and new rows get fresh cells
        from `cell_source`: now if they are on screen, else when they come into view."""
        order = list(order)
        selected = self.selected_key
        with self.app.batch_update():
            if order != self._order:
                self._set_order(order)
            present = self._present
            self._stale |= present.intersection(changed)
            self._build_visible()
            self._restore_cursor(selected)

    def update_cells(self, changes: dict[str, dict[str, Text]]) -> None:
        """Write a few cells (the elapsed tick) without a full sync."""
        with self.app.batch_update():
            for task_id, row_changes in changes.items():
                old = self._cells.get(task_id)
                if old is None:
                    continue  # not built yet: it will be built whole
                for key, value in row_changes.items():
                    if key in self.column_keys and old.get(key) != value:
                        self.update_cell(task_id, key, value)
                    old[key] = value

    def visible_keys(self) -> list[str]:
        """Row keys currently on screen (plus a row of margin)."""
        top = int(self.scroll_y)
        height = self.size.height
        return [self._order[i] for i in range(max(0, top - 1), min(len(self._order), top + height))]

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: CellType,
        *,
        update_width: bool = False,
    ) -> None:
        """Like DataTable.update_cell, but only this cell is rendered again.

        DataTable bumps a table-wide count that is part of every render cache key, so one new
        elapsed time re-renders every visible cell; here the cell's own cache entries are dropped
        (just before the next render) and only the cell is repainted on the terminal.
        """
        if update_width:
            super().update_cell(row_key, column_key, value, update_width=True)
            return
        row_key = row_key if isinstance(row_key, RowKey) else RowKey(row_key)
        column_key = column_key if isinstance(column_key, ColumnKey) else ColumnKey(column_key)
        row = self._row_locations.get(row_key)
        column = self._column_locations.get(column_key)
        if row is None or column is None:
            raise CellDoesNotExist(
                f"No cell exists for row_key={row_key!r}, column_key={column_key!r}."
            )
        self._data[row_key][column_key] = value
        self._changed_cells.add((row_key, column_key))
        self._refresh_cell(row, column)

    def _refresh_cell(self, row: int, column: int) -> None:
        """Repaint one cell if it is on screen. DataTable.refresh_coordinate finds a cell's y
        by adding up the heights of every row above it (O(rows) per cell: a tick on row 9,000
        of a big watchlist summed 9,000 heights per cell); ours are one line high each."""
        scroll_x, scroll_y = self.scroll_offset
        header = self.header_height if self.show_header else 0
        y = row - scroll_y + header
        if row < scroll_y or y >= self.size.height:
            return  # scrolled out of view: rendered when it comes back
        spans = self._column_spans
        if len(spans) != len(self.columns):  # the columns changed (set_layout)
            spans = self._column_spans = self._spans_of_columns()
        x, width = spans[column]
        self.refresh(Region(x - scroll_x, y, width, 1))

    def _spans_of_columns(self) -> list[tuple[int, int]]:
        """(x, width) of each column, in order: fixed widths, so worked out once per layout."""
        spans, x = [], self._row_label_column_width
        for column in self.ordered_columns:
            width = column.get_render_width(self)
            spans.append((x, width))
            x += width
        return spans

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._changed_cells:
            self._forget_changed_cells()
        # DataTable.render_line works out the widget's style for every line, walking the DOM
        # up to the screen; the once-a-second tick redraws a few dozen lines: once is enough.
        self._pass_style = self.rich_style
        self._pass_header_style = self.get_component_styles("datatable--header").rich_style
        self._pass_widths = tuple(column.get_render_width(self) for column in self.ordered_columns)
        try:
            return super().render_lines(crop)
        finally:
            self._pass_style = None

    def render_line(self, y: int) -> Strip:
        style = self._pass_style
        if style is None or self.fixed_rows:
            return super().render_line(y)
        # DataTable.render_line, for a table with no fixed rows, with the style of this pass.
        scroll_x, scroll_y = self.scroll_offset
        if y >= (self.header_height if self.show_header else 0):
            y += scroll_y
        return self._render_line(y, scroll_x, scroll_x + self.size.width, style)

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[list, list]:
        """DataTable's, for the shape of this table (a row cursor, no fixed rows or columns, no
        row labels, no zebra) and with what is the same for every line worked out once per
        render pass: the header style, the column widths. Same segments (tested against it)."""
        if (
            self._pass_style is None
            or self.cursor_type != "row"
            or self.fixed_columns
            or self.fixed_rows
            or self.zebra_stripes
            or (self._labelled_row_exists and self.show_row_labels)
        ):
            return super()._render_line_in_row(
                row_key, line_no, base_style, cursor_location, hover_location
            )
        show_cursor, show_hover = self.show_cursor, self._show_hover_cursor
        cache_key = (
            row_key,
            line_no,
            base_style,
            cursor_location,
            hover_location,
            "row",
            show_cursor,
            show_hover,
            self._update_count,
            self._pseudo_class_state,
        )
        cache = self._row_render_cache
        if cache_key in cache:
            return cache[cache_key]
        locations = self._row_locations
        row_index = locations.get(row_key) if row_key in locations else -1
        row_style = self._pass_header_style if row_index == -1 else base_style
        cursor = cursor_location.row == row_index
        hover = hover_location.row == row_index
        render_cell = self._render_cell
        scrollable_row = [
            render_cell(row_index, column, row_style, width, cursor=cursor, hover=hover)[line_no]
            for column, width in enumerate(self._pass_widths)
        ]
        # The rest of the line, past the last column, in the row's style.
        table_width = sum(self._pass_widths) + self._row_label_column_width
        remaining_space = max(0, self.size.width - table_width)
        extend_style, _ = self._get_styles_to_render_cell(
            row_index == -1, False, False, hover, cursor, show_cursor, show_hover, False, False
        )
        extend_style = row_style + extend_style
        extend_style += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        scrollable_row.append([Segment(" " * remaining_space, extend_style)])
        row_pair = ([], scrollable_row)
        cache[cache_key] = row_pair
        return row_pair

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """DataTable's, with a second cache by the cell's look: a cell showing what another
        showed (same text, styles, width) reuses its render; only the row/column meta (for
        the mouse) differs, and it is added on top. Same segments (tested against it)."""
        row_key = self._row_locations.get_key(row_index) if row_index >= 0 else None
        column_key = self._column_locations.get_key(column_index)
        cache_key = (
            row_key or self._header_row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cache = self._cell_render_cache
        lines = cache.get(cache_key)
        if lines is not None:
            return lines  # DataTable's own key: whoever rendered it, it is the same
        cell = self._data.get(row_key, {}).get(column_key)
        if (
            row_key is None
            or column_index < 0
            or not isinstance(cell, Text)
            or self.fixed_rows
            or self.fixed_columns
            or self.rows[row_key].height != 1
        ):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        look = (
            cell.plain,
            cell.style,
            tuple(cell.spans),
            cell.justify,
            cell.overflow,
            cell.no_wrap,
            cell.end,
            base_style,
            component_style,
            post_style,
            width,
            self.cell_padding,
        )
        plain = self._looks.get(look)
        if plain is None:
            options = self.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
            plain = self.app.console.render_lines(
                Styled(
                    Padding(cell, (0, self.cell_padding)),
                    pre_style=base_style + component_style,
                    post_style=post_style,
                ),
                options,
            )
            self._looks[look] = plain
        meta = Style.from_meta({"row": row_index, "column": column_index})
        lines = [
            [
                Segment(text, None if style is None else style + meta, control)
                for text, style, control in line
            ]
            for line in plain
        ]
        cache[cache_key] = lines
        return lines

    def _forget_changed_cells(self) -> None:
        """Drop the render cache entries of the changed cells, their rows and lines."""
        cells, self._changed_cells = self._changed_cells, set()
        rows = {row_key for row_key, _ in cells}
        indexes = {self._row_locations.get(row_key) for row_key in rows}
        header = self.header_height if self.show_header else 0
        lines = {index + header for index in indexes if index is not None}  # rows are 1 high
        for cache, wanted in (
            (self._cell_render_cache, lambda key: (key[0], key[1]) in cells),
            (self._row_render_cache, lambda key: key[0] in rows),
            (self._row_renderable_cache, lambda key: key[1] in indexes),
            (self._line_cache, lambda key: key[0] in lines),
        ):
            for key in [key for key in cache.keys() if wanted(key)]:  # noqa: SIM118 (no __iter__)
                cache.discard(key)

    def get_cell(self, row_key: RowKey | str, column_key: ColumnKey | str) -> CellType:
        self._build_now(row_key)
        return super().get_cell(row_key, column_key)

    def get_row(self, row_key: RowKey | str) -> list[CellType]:
        self._build_now(row_key)
        return super().get_row(row_key)

    def get_column(self, column_key: ColumnKey | str) -> Iterable[CellType]:
        self._build_all()
        return super().get_column(column_key)

    def sort(self, *columns, **kwargs):  # type: ignore[override]
        self._build_all()  # sorting reads every row
        return super().sort(*columns, **kwargs)

    def _build_now(self, row_key: RowKey | str) -> None:
        key = row_key.value if isinstance(row_key, RowKey) else row_key
        if key in self._stale:
            self._build(key)

    def _build_all(self) -> None:
        for key in [k for k in self._order if k in self._stale]:
            self._build(key)

    def _build_visible(self) -> None:
        if self._stale and self.cell_source is not None:
            stale = self._stale
            for key in [k for k in self.visible_keys() if k in stale]:
                self._build(key)

    def _build(self, key: str) -> None:
        """Ask the source for the row's cells; write only the cells that differ."""
        self._stale.discard(key)
        if self.cell_source is None or key not in self._present:
            return
        cells = self.cell_source(key)
        old = self._cells.get(key)
        for column in self.column_keys:
            value = cells[column]
            if old is None or old.get(column) != value:
                self.update_cell(key, column, value)
        self._cells[key] = cells

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._build_visible()

    def on_resize(self, event: events.Resize) -> None:
        self._build_visible()

    def _set_order(self, order: list[str]) -> None:
        wanted = set(order)
        gone = [key for key in self._order if key not in wanted]
        if gone:
            self._remove(gone)
        new = [key for key in order if key not in self._present]
        if new:
            self._append(new)
        if order != self._order:
            self._reorder(order)

    def _append(self, keys: list[str]) -> None:
        """Add rows at the bottom, blank and stale (built when seen).

        DataTable.add_row costs tens of microseconds a row (cursor checks, and a width
        measurement of every cell on the next idle, useless with fixed-width columns): past the
        first row, which add_row adds (it highlights the cursor), rows go in directly.
        """
        if not keys:
            return
        blank = [_BLANK] * len(self.columns)
        rest = keys
        if not self.row_count:
            self.add_row(*blank, key=keys[0])
            rest = keys[1:]
        template = {column.key: _BLANK for column in self.ordered_columns}
        locations, data, rows = self._row_locations, self._data, self.rows
        index = len(rows)
        for key in rest:
            row_key = RowKey(key)
            locations[row_key] = index
            data[row_key] = template.copy()
            rows[row_key] = Row(row_key, 1)
            index += 1
        self._order.extend(keys)
        self._present.update(keys)
        self._stale.update(keys)
        self._update_count += 1
        self._require_update_dimensions = True
        self.check_idle()
        self.refresh()

    def _remove(self, keys: list[str]) -> None:
        doomed = set(keys)
        for key in keys:
            self._cells.pop(key, None)
        self._present -= doomed
        self._stale -= doomed
        keep = [key for key in self._order if key not in doomed]
        if len(keys) > 50 and len(keys) > len(self._order) // 4:
            # remove_row relayouts each time (textual#5273): rebuild once instead.
            self._clear_rows()
            self.clear()
            self._append(keep)
            return
        for key in keys:
            self.remove_row(key)
        self._order = keep

    def _clear_rows(self) -> None:
        self._order = []
        self._present = set()
        self._stale = set()
        self._cells = {}

    def _reorder(self, order: Sequence[str]) -> None:
        # DataTable has no "move row"; this is what its own sort() does with the locations.
        self._row_locations = TwoWayDict({RowKey(key): index for index, key in enumerate(order)})
        self._order = list(order)
        self._update_count += 1
        self.refresh()

    @property
    def ordered_rows(self) -> list[Row]:
        locations = self._row_locations
        count = len(locations)
        memo = self._order_memo
        if memo is not None and memo[0] is locations and memo[1] == count:
            return memo[2]
        rows = self.rows
        ordered = [rows[locations.get_key(index)] for index in range(count)]
        self._order_memo = (locations, count, ordered)
        return ordered

    @property
    def _y_offsets(self) -> list[tuple[RowKey, int]]:
        # Every row is one line high (add_row height=1, no auto height).
        ordered = self.ordered_rows
        memo = self._offsets_memo
        if memo is not None and memo[0] is ordered:
            return memo[1]
        offsets = [(row.key, y) for row in ordered for y in range(row.height)]
        self._offsets_memo = (ordered, offsets)
        return offsets

    def _restore_cursor(self, task_id: str | None, *, scroll: bool = False) -> None:
        if task_id is None or task_id not in self._present:
            return
        index = self.get_row_index(task_id)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False, scroll=scroll)

    def select(self, task_id: str) -> None:
        if task_id in self._present:
            self.move_cursor(row=self.get_row_index(task_id))


_BLANK = Text("")
