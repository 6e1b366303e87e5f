"""The contact sheet: the finished tasks in the current filter as a grid of thumbnails.

Each tile is a half-block thumbnail with the task's short id and status under it; the sheet
is sized to the pane (as many columns as fit; it works at 80x24). Keys: arrows / hjkl move,
`1`-`4` press U1-U4 on the selected grid (the app asks first, as for the table's 1-4: the
sheet posts `ContactSheet.PressButton`), `enter` opens the task's detail (the screen is
dismissed with its id), `n` jumps to the next task to triage, `D` downloads, `esc` closes.

Cost: the grid is a Line API ScrollView, so only the lines on screen are rendered, and only the
thumbnails of tiles on screen are fetched and decoded (at most `PARALLEL` at a time; a tile
scrolled past before its turn is never fetched). Thumbnails come from the disk cache
(mjdash.media.thumbs) when seen before; a 1,000-task sheet scrolls as fast as a short one.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from mjdash.media import images
from mjdash.media.images import Image, ImageError, decode, preview_links
from mjdash.media.thumbs import ThumbCache
from mjdash.model.task import Button, Status, Task
from mjdash.model.triage import next_to_triage
from mjdash.store.watchlist import Entry
from mjdash.ui.cells import STATUS_LOOK
from mjdash.ui.preview import half_block_rows

MIN_TILE = 14  # columns of the narrowest tile image
MAX_TILE = 24
GAP = 2
THUMB_SIDE = 64  # pixels kept per tile: plenty for 24 columns x 12 rows of half-blocks
THUMB_LABEL = f"sheet@{THUMB_SIDE}"
PARALLEL = 4
# Tiles whose segment rows are kept, the least recently drawn dropped first (rebuilt in a thread
# from the thumbnail kept in memory when scrolled back to). A tile's rows are ~1,700 objects the
# collector scans on each full pass: with every tile of a 1,000-task sheet kept, those passes
# took 0.4-0.7 s, each a frozen frame while scrolling (tests/perf/bench.py --images).
KEEP_TILES = 60
LABEL_STYLE = Style(color="white", bgcolor="black", bold=True)
BLANK = Style(bgcolor=Color.from_rgb(40, 40, 40))


def find_button(task: Task | None, name: str) -> Button | None:
    if task is None:
        return None
    return next((button for button in task.buttons if button.name == name), None)


def short_id(task_id: str) -> str:
    return task_id[-7:]


class SheetGrid(ScrollView, can_focus=True):
    """The tiles, drawn line by line (only what is on screen).

    The moving keys are bound here, on the focused widget: ScrollView's own bindings (arrows,
    PageUp/PageDown: scroll without moving the selection) would otherwise answer first and
    the screen's `right` would never run, while `l` (unbound by ScrollView) did."""

    BINDINGS = [
        Binding("left,h", "move(-1, 0)", "Left", show=False),
        Binding("right,l", "move(1, 0)", "Right", show=False),
        Binding("up,k", "move(0, -1)", "Up", show=False),
        Binding("down,j", "move(0, 1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "select(0)", "First", show=False),
        Binding("end", "select(-1)", "Last", show=False),
    ]

    DEFAULT_CSS = """
    SheetGrid { height: 1fr; }
    """

    def __init__(
        self,
        ids: Sequence[str],
        tasks: Mapping[str, Task],
        client: Any,
        thumbs: ThumbCache,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.ids = list(ids)
        self.tasks = tasks
        self.client = client  # has `async download_image(url) -> bytes` (MidjourneyClient)
        self.thumbs = thumbs
        self.selected = 0
        self.images: dict[str, Image] = {}
        self.problems: dict[str, str] = {}
        # Tiles being fetched / decoded / built. Not `loading`: that is Textual's flag for a busy
        # widget, which it treats as disabled (no scrolling, out of the focus chain).
        self.in_flight: set[str] = set()
        self.fetched = 0  # downloads started
        self.decoded = 0  # thumbnails decoded (downloaded or from the disk cache)
        self._tiles: OrderedDict[tuple[str, int, int], list[list[Segment]]] = OrderedDict()
        self.keep_tiles = KEEP_TILES  # at least 3 screens' worth are kept (`_keep_tile`)
        self._want_soon = False
        self.columns, self.tile_width, self.image_rows = 1, MIN_TILE, MIN_TILE // 2

    # --- geometry ---------------------------------------------------------------------------

    @property
    def tile_height(self) -> int:
        return self.image_rows + 2  # the image, the caption, a gap

    def _layout_tiles(self) -> None:
        width = max(MIN_TILE, self.size.width or 80)
        columns = max(1, (width + GAP) // (MIN_TILE + GAP))
        tile = min(MAX_TILE, (width + GAP) // columns - GAP)
        rows = max(3, round(tile / 2))  # a square image: each cell holds 1 x 2 pixels
        if self.size.height:
            rows = max(3, min(rows, self.size.height - 2))
        self.columns, self.tile_width, self.image_rows = columns, tile, rows
        lines = -(-len(self.ids) // columns) * self.tile_height
        self.virtual_size = Size(columns * (tile + GAP), lines)

    def on_resize(self, event: events.Resize) -> None:
        self._layout_tiles()
        self.scroll_to_selected()
        self.refresh()
        self.want_visible()

    def visible_indexes(self) -> range:
        first = int(self.scroll_offset.y) // self.tile_height
        last = (int(self.scroll_offset.y) + max(1, self.size.height) - 1) // self.tile_height
        return range(first * self.columns, min(len(self.ids), (last + 1) * self.columns))

    # --- selection --------------------------------------------------------------------------

    @property
    def selected_id(self) -> str | None:
        return self.ids[self.selected] if 0 <= self.selected < len(self.ids) else None

    def select(self, index: int) -> None:
        if not self.ids:
            return
        index = max(0, min(len(self.ids) - 1, index))
        if index != self.selected:
            self.selected = index
            self.refresh()
        self.scroll_to_selected()

    def scroll_to_selected(self) -> None:
        top = (self.selected // self.columns) * self.tile_height
        if top < self.scroll_offset.y:
            self.scroll_to(y=top, animate=False, immediate=True)
        elif top + self.tile_height > self.scroll_offset.y + self.size.height:
            self.scroll_to(
                y=top + self.tile_height - self.size.height, animate=False, immediate=True
            )

    def move(self, dx: int, dy: int) -> None:
        self.select(self.selected + dx + dy * self.columns)

    def action_move(self, dx: int, dy: int) -> None:
        self.move(dx, dy)

    def action_page(self, direction: int) -> None:
        self.move(0, direction * max(1, self.size.height // self.tile_height))

    def action_select(self, index: int) -> None:
        self.select(index if index >= 0 else len(self.ids) - 1)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.want_visible()

    # --- thumbnails -------------------------------------------------------------------------

    def want_visible(self) -> None:
        """Start loading tiles on screen that have no thumbnail yet (PARALLEL at most)."""
        if not self.is_mounted:
            return
        for index in self.visible_indexes():
            if len(self.in_flight) >= PARALLEL:
                return
            task_id = self.ids[index]
            if task_id in self.problems or task_id in self.in_flight or self._has_tile(task_id):
                continue
            url = ""  # a thumbnail in memory: only its rows are made again (dropped, resized)
            if task_id not in self.images:
                task = self.tasks.get(task_id)
                links = (
                    preview_links(task)
                    if task is not None and task.status is Status.SUCCESS
                    else []
                )
                if not links:
                    self.problems[task_id] = "no image"
                    continue
                url = links[0][1]
            self.in_flight.add(task_id)
            self.run_worker(self._load(task_id, url), group="sheet", exit_on_error=False)

    def _has_tile(self, task_id: str) -> bool:
        return (task_id, self.tile_width, self.image_rows) in self._tiles

    def _keep_tile(self, key: tuple[str, int, int], lines: list[list[Segment]]) -> None:
        self._tiles[key] = lines
        self._tiles.move_to_end(key)
        keep = max(self.keep_tiles, 3 * len(self.visible_indexes()))
        while len(self._tiles) > keep:
            self._tiles.popitem(last=False)

    @property
    def loading_count(self) -> int:
        """Tiles whose thumbnail or rows are being made now."""
        return len(self.in_flight)

    @property
    def kept_tiles(self) -> int:
        """How many tiles' rows are kept in memory (bounded: `keep_tiles`)."""
        return len(self._tiles)

    async def _load(self, task_id: str, url: str) -> None:
        try:
            image = self.images.get(task_id)
            if image is None:
                image = await asyncio.to_thread(self.thumbs.get, task_id, THUMB_LABEL)
                if image is None:
                    if self.client is None:
                        raise ImageError("no client")
                    self.fetched += 1
                    data = await self.client.download_image(url)
                    image = await asyncio.to_thread(decode, data, THUMB_SIDE)
                    await asyncio.to_thread(self.thumbs.put, task_id, THUMB_LABEL, image)
                self.images[task_id] = image
                self.decoded += 1
            size = (self.tile_width, self.image_rows)
            tile = await asyncio.to_thread(self._build_tile, task_id, image, *size)
            self._keep_tile((task_id, *size), tile)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one tile's bad image stays with that tile
            self.problems[task_id] = (str(exc).splitlines() or ["no image"])[0][:60] or "no image"
        finally:
            self.in_flight.discard(task_id)
        self.refresh_tile(task_id)
        self.want_visible()

    def refresh_tile(self, task_id: str) -> None:
        """Redraw the lines of one tile, if on screen (not the whole sheet per thumbnail)."""
        try:
            index = self.ids.index(task_id)
        except ValueError:
            return
        top = (index // self.columns) * self.tile_height - int(self.scroll_offset.y)
        if top + self.tile_height > 0 and top < self.size.height:
            self.refresh(Region(0, max(0, top), self.size.width, self.tile_height))

    # --- drawing ----------------------------------------------------------------------------

    def _tile_lines(self, task_id: str) -> list[list[Segment]]:
        """The tile's image rows as segments (kept per tile size, the least recently drawn
        dropped; always built in a loading thread, never here: "…" until then)."""
        key = (task_id, self.tile_width, self.image_rows)
        cached = self._tiles.get(key)
        if cached is not None:
            self._tiles.move_to_end(key)
            return cached
        width, rows = self.tile_width, self.image_rows
        words = self.problems.get(task_id, "…")
        lines = [[Segment(" " * width, BLANK)] for _ in range(rows)]
        lines[rows // 2] = [Segment(words[:width].center(width), BLANK + Style(color="grey62"))]
        if task_id in self.problems:
            self._keep_tile(key, lines)
        elif task_id not in self.in_flight and not self._want_soon:
            self._want_soon = True  # a tile on screen without its rows: have them made
            self.call_later(self._want_visible_soon)
        return lines

    def _want_visible_soon(self) -> None:
        self._want_soon = False
        self.want_visible()

    def _build_tile(self, task_id: str, image: Image, width: int, rows: int):
        task = self.tasks.get(task_id)
        grid = task is not None and images.is_grid(task)
        lines = half_block_rows(image, width, rows, grid=grid)
        for line in lines:  # a narrow image: pad to the tile's width
            used = sum(len(segment.text) for segment in line)
            if used < width:
                line.append(Segment(" " * (width - used)))
        while len(lines) < rows:
            lines.append([Segment(" " * width)])
        return lines

    def _caption(self, index: int) -> list[Segment]:
        task_id = self.ids[index]
        task = self.tasks.get(task_id)
        glyph, _word, color = STATUS_LOOK[task.status] if task else ("?", "?", "grey62")
        action = (task.action.lower()[:8] if task else "") or "?"
        text = f"{glyph} {short_id(task_id)} {action}"[: self.tile_width].ljust(self.tile_width)
        style = Style(color=color)
        if index == self.selected:
            style = Style(reverse=True, bold=True)
        return [Segment(text, style)]

    def render_line(self, y: int) -> Strip:
        line = int(self.scroll_offset.y) + y
        tile_row, within = divmod(line, self.tile_height)
        segments: list[Segment] = []
        start = tile_row * self.columns
        for index in range(start, min(start + self.columns, len(self.ids))):
            if within < self.image_rows:
                segments += self._tile_lines(self.ids[index])[within]
            elif within == self.image_rows:
                segments += self._caption(index)
            else:
                segments.append(Segment(" " * self.tile_width))
            segments.append(Segment(" " * GAP))
        return Strip(segments).crop_extend(0, self.size.width, None)


class ContactSheet(Screen[str | None]):
    """Pushed by the app (key V, ui/images.py); dismissed with the task id to open, or None."""

    BINDINGS = [
        Binding("1", "press(1)", "U1", show=False),
        Binding("2", "press(2)", "U2", show=False),
        Binding("3", "press(3)", "U3", show=False),
        Binding("4", "press(4)", "U4", show=False),
        Binding("enter", "open", "Open", show=False),
        Binding("n", "next_triage", "Next to triage", show=False),
        Binding("D", "download", "Download", show=False),
        Binding("escape,q,V", "close", "Close", show=False),
    ]

    DEFAULT_CSS = """
    ContactSheet { layout: vertical; }
    ContactSheet > #sheet-title { height: 1; background: $boost; }
    ContactSheet > #sheet-keys { height: 1; color: $text-muted; }
    """

    class PressButton(Message):
        """Press `name` (U1-U4) on `task_id`: the app confirms and sends it."""

        def __init__(self, task_id: str, name: str) -> None:
            super().__init__()
            self.task_id = task_id
            self.name = name

    def __init__(
        self,
        ids: Sequence[str],
        tasks: Mapping[str, Task],
        *,
        entries: Callable[[], Mapping[str, Entry]] | None = None,
        client: Any = None,
        download_dir: Path | None = None,
        thumbs: ThumbCache | None = None,
        selected: str | None = None,
    ) -> None:
        super().__init__()
        self.ids = list(ids)
        self.tasks = tasks
        self.entries = entries or (lambda: {})
        self.client = client
        self.download_dir = download_dir
        self.thumbs = thumbs or ThumbCache()
        self.initial = selected
        self.saved: list[Path] = []

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="sheet-title")
        yield SheetGrid(self.ids, self.tasks, self.client, self.thumbs, id="sheet")
        yield Static(
            Text(
                "←↓↑→/hjkl move · 1-4 U1-U4 · enter open · n next to triage · D download · "
                "esc close",
                no_wrap=True,
                overflow="ellipsis",
            ),
            id="sheet-keys",
        )

    def _title(self) -> Text:
        title = Text("Contact sheet", style="bold")
        title.append(f"  {len(self.ids)} finished tasks in view", style="grey62")
        return title

    @property
    def grid(self) -> SheetGrid:
        return self.query_one(SheetGrid)

    def on_mount(self) -> None:
        grid = self.grid
        if self.initial in self.ids:
            grid.selected = self.ids.index(self.initial)
        grid.focus()
        self.call_after_refresh(grid.want_visible)

    def say(self, words: str, severity: str = "information") -> None:
        self.app.notify(words, severity=severity, timeout=3)

    def action_press(self, number: int) -> None:
        task_id = self.grid.selected_id
        task = self.tasks.get(task_id) if task_id else None
        name = f"U{number}"
        if task_id is None or find_button(task, name) is None:
            self.say(f"This task has no {name} button (grids have U1-U4).", "warning")
            return
        self.post_message(self.PressButton(task_id, name))

    def action_open(self) -> None:
        self.dismiss(self.grid.selected_id)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_next_triage(self) -> None:
        grid = self.grid
        target = next_to_triage(self.ids, grid.selected_id, self.tasks, self.entries())
        if target is None:
            self.say("Nothing to triage in the sheet.")
            return
        grid.select(self.ids.index(target))

    def action_download(self) -> None:
        task_id = self.grid.selected_id
        task = self.tasks.get(task_id) if task_id else None
        if task is None or task.status is not Status.SUCCESS or self.client is None:
            self.say("No finished task with an image selected.", "warning")
            return
        self.run_worker(self._download(task), group="sheet-download", exit_on_error=False)

    async def _download(self, task: Task) -> None:
        folder = self.download_dir or Path.cwd()
        try:
            path = await images.download(self.client, task, folder)
        except Exception as exc:
            self.say(f"Not downloaded: {(str(exc).splitlines() or ['error'])[0][:200]}", "error")
            return
        self.saved.append(path)
        self.say(f"Saved {path}")
