"""The image preview in the detail pane: the selected finished task's image.

Never in the table's way: the image is fetched only for the selected SUCCESS task, 300 ms after
the selection settles (scrolling through rows fetches nothing), in a worker of its own group
(a newer selection cancels the older fetch); decoding (Pillow) and scaling run in a thread.
Decoded images are kept in memory (a few) and on disk (mjdash.media.thumbs) so going back to
a task, or restarting, draws at once without downloading again.

What is shown (mjdash.media.images.preview_links): a grid with U1-U4 over its quadrants (`i`
cycles through its four images when the server lists them), an upscale's image, a video's
first thumbnail labelled as a video, a DESCRIBE task's source image.

How it is drawn ([ui] preview, mjdash.media.terminal): half-blocks (styled text, any terminal,
tmux), or Kitty / Sixel graphics through textual-image (see docs/images.md). The graphics
widget is told to forget its image whenever the selection changes or the preview hides, and
the Kitty placement is made of Unicode placeholder cells that Textual repaints like text, so no
pixels stay behind a dialog or after a resize.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from typing import Any

from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.containers import Vertical
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from mjdash.media import terminal
from mjdash.media.images import Image, ImageError, decode, half_blocks, is_grid, preview_links
from mjdash.media.thumbs import ThumbCache
from mjdash.model.task import Status, Task

MAX_ROWS = 16
MAX_COLUMNS = 48
CACHE_SIZE = 12
LABEL_STYLE = Style(color="white", bgcolor="black", bold=True)
GRAPHICS_SIDE = 768  # pixels kept for Kitty / Sixel (half-blocks need 256 at most)

_graphics: dict[str, Any] = {}  # "kitty"/"sixel" -> textual-image widget class, once imported


def prepare_graphics(setting: str, env: Any = None) -> str:
    """Resolve [ui] preview and import textual-image when graphics will be drawn.

    Call it before the app starts: textual-image asks the terminal about its cell size and
    protocols when imported, which only works before Textual reads the keyboard. Returns the
    mode; "halfblocks" when textual-image cannot be loaded."""
    mode = terminal.resolve(setting, os.environ if env is None else env)
    if mode in ("kitty", "sixel") and graphics_widget(mode) is None:
        return "halfblocks"
    return mode


def graphics_widget(mode: str) -> Any:
    """textual-image's widget class for "kitty" (TGP) or "sixel"; None if it cannot load."""
    if mode not in _graphics:
        # Its warnings (a terminal that does not answer the cell-size query) would print a
        # traceback over the screen through logging's last-resort handler.
        logging.getLogger("textual_image").addHandler(logging.NullHandler())
        try:
            from textual_image.widget import SixelImage, TGPImage
            from textual_image.widget import get_cell_size as cell_pixels
        except Exception:  # not installed, or the terminal query failed: half-blocks it is
            _graphics[mode] = None
        else:
            _graphics.update(kitty=TGPImage, sixel=SixelImage, cell_pixels=cell_pixels)
    return _graphics.get(mode)


def cell_pixels() -> tuple[int, int]:
    """The terminal's cell size in pixels, as textual-image measured it (asked once, before the
    app started); (10, 20) when unknown."""
    try:
        size = _graphics["cell_pixels"]()
        return max(1, int(size.width)), max(1, int(size.height))
    except Exception:  # not loaded, or stdout closed
        return 10, 20


def graphic_pixels(image: Image, columns: int, rows: int) -> Any:
    """The image as a PIL image of exactly the pixels textual-image draws `columns` x `rows`
    cells with (cells x cell size). Made in the worker: textual-image's own resize in `render`
    is then a copy, leaving only its encoding (Kitty: PNG + base64; Sixel: the sixel bytes) on
    the UI thread. Run in a thread."""
    cell_width, cell_height = cell_pixels()
    size = (columns * cell_width, rows * cell_height)
    pil = image.to_pil()
    return pil if pil.size == size else pil.resize(size)


def prepare(data: bytes, side: int = 256) -> Image:
    """Decode and shrink (run in a thread)."""
    return decode(data, max_side=side)


def quadrant_labels(rows: int, columns: int) -> dict[tuple[int, int], str]:
    """(row, column) -> character of "U1".."U4" at the top-left corner of each quadrant."""
    labels: dict[tuple[int, int], str] = {}
    if rows >= 2 and columns >= 6:
        corners = ((0, 0), (0, columns // 2), (rows // 2, 0), (rows // 2, columns // 2))
        for number, (row, column) in enumerate(corners, start=1):
            labels[(row, column)] = "U"
            labels[(row, column + 1)] = str(number)
    return labels


def _color(rgb: tuple[int, int, int]) -> Color:
    # What Color.from_rgb makes, without its checks and conversions (tens of thousands a page).
    name = f"#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x}"
    return Color(name, ColorType.TRUECOLOR, triplet=ColorTriplet(*rgb))


def half_block_style(upper: tuple[int, int, int], lower: tuple[int, int, int]) -> Style:
    return Style(color=_color(upper), bgcolor=_color(lower))


def half_block_rows(image: Image, columns: int, rows: int, *, grid: bool) -> list[list[Segment]]:
    """The image fitted to `columns` x `rows` cells as segment rows: "▀" runs (upper pixel as
    foreground, lower as background; equal neighbours joined), U1-U4 over a grid's quadrants.
    Pure: the contact sheet builds its tiles in a thread with it."""
    cells = half_blocks(image, columns, rows)
    labels = quadrant_labels(len(cells), len(cells[0]) if cells else 0) if grid else {}
    styles: dict[tuple, Style] = {}
    out: list[list[Segment]] = []
    for y, line in enumerate(cells):
        segments: list[Segment] = []
        run_pair, run = None, 0
        for x, pair in enumerate(line):
            label = labels.get((y, x))
            if label is None and pair == run_pair:
                run += 1
                continue
            if run:
                segments.append(Segment("▀" * run, styles[run_pair]))
            if label is not None:
                segments.append(Segment(label, LABEL_STYLE))
                run_pair, run = None, 0
                continue
            if pair not in styles:
                styles[pair] = half_block_style(*pair)
            run_pair, run = pair, 1
        if run:
            segments.append(Segment("▀" * run, styles[run_pair]))
        out.append(segments)
    return out


def render_image(image: Image, width: int, *, grid: bool = False, max_rows: int = MAX_ROWS) -> Text:
    """The image as lines of "▀" (upper pixel as foreground, lower as background)."""
    return rows_text(half_block_rows(image, min(width, MAX_COLUMNS), max_rows, grid=grid))


def rows_text(rows: list[list[Segment]]) -> Text:
    """Segment rows (made in a thread by `half_block_rows`) as one Text: the UI thread's share."""
    out = Text(no_wrap=True, overflow="crop")
    for y, segments in enumerate(rows):
        if y:
            out.append("\n")
        for segment in segments:
            out.append(segment.text, style=segment.style)
    return out


def prepare_drawing(mode: str, image: Image, width: int, grid: bool, rows: int = MAX_ROWS) -> Any:
    """What the UI thread will draw, made in the worker: half-block rows as Strips, or for
    Kitty / Sixel the image at the exact pixel size (see `graphic_pixels`); for Sixel also
    quantized to 256 colours (textual-image's own method, fast octree), since its encoder skips
    quantizing a palette image of at most 256 colours. At most `width` x `rows` cells (and
    MAX_COLUMNS x MAX_ROWS). Run in a thread."""
    width, rows = min(width, MAX_COLUMNS), min(rows, MAX_ROWS)
    if mode in ("kitty", "sixel"):
        from mjdash.media.images import cell_size

        pixels = graphic_pixels(image, *cell_size(image, width, rows))
        if mode == "sixel":
            from PIL import Image as PILImage

            pixels = pixels.quantize(256, method=PILImage.Quantize.FASTOCTREE)
        return pixels
    return block_strips(half_block_rows(image, width, rows, grid=grid))


def block_strips(rows: list[list[Segment]]) -> list[Strip]:
    """Segment rows as Strips, with their cell length: what BlockImage draws line by line."""
    return [Strip(row, sum(len(segment.text) for segment in row)) for row in rows]


class BlockImage(Widget):
    """The half-block image, drawn with the Line API from Strips made in the worker.

    A Static holding the same picture as Text costs the UI thread 20-30 ms to lay out and far
    more to render (a photograph has a style per cell, ~500 spans); Strips are drawn as they
    are, so a new preview costs the UI thread about a millisecond (tests/perf/bench.py)."""

    DEFAULT_CSS = """
    BlockImage { height: auto; width: 100%; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.strips: list[Strip] = []

    def show(self, strips: list[Strip]) -> None:
        same_height = len(strips) == len(self.strips)
        self.strips = strips
        self.display = bool(strips)
        self.refresh(layout=not same_height)

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return len(self.strips)

    def render_line(self, y: int) -> Strip:
        return self.strips[y] if 0 <= y < len(self.strips) else Strip.blank(self.size.width)


def label_line(columns: int, left: str, right: str) -> Text:
    """A line with `left` over the left half and `right` over the right half (graphics modes:
    the labels sit on the image's edges, since pixels cannot carry text)."""
    line = Text(no_wrap=True, overflow="crop")
    line.append(left, style=LABEL_STYLE)
    line.append(" " * max(1, columns // 2 - len(left)))
    line.append(right, style=LABEL_STYLE)
    return line


class ImagePreview(Vertical):
    """Near the top of the detail pane; hidden when there is nothing to draw."""

    DEFAULT_CSS = """
    ImagePreview {
        height: auto;
        margin-bottom: 1;
        display: none;
    }
    ImagePreview.-shown {
        display: block;
    }
    ImagePreview > Static {
        height: auto;
    }
    ImagePreview > .preview-graphics {
        width: 48;
        height: 16;
    }
    """

    delay = 0.3  # seconds the selection must stay before a fetch

    def __init__(self, *, thumbs: ThumbCache | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self._enabled = True
        self.mode = "halfblocks"
        self.current: Task | None = None
        self.links: list[tuple[str, str]] = []  # (label, URL) the current task can show
        self.index = 0  # which of `links` is shown (i cycles)
        self.images: OrderedDict[tuple[str, str], Image] = OrderedDict()
        self.problems: dict[tuple[str, str], str] = {}
        self.fetches = 0  # downloads started (tests count them)
        self.disk_hits = 0  # images drawn from the thumbnail cache
        self.drawn_strips: list[Strip] | None = None  # the half-block image as last drawn
        self.thumbs = thumbs
        self._timer: Timer | None = None
        self._drawn: tuple | None = None
        self._graphic: Any = None  # the textual-image widget, in kitty / sixel modes
        # The image's rows at most: fewer when the preview has a column of its own beside the
        # detail's text, as tall as the pane (ui/detail.py DetailPane.set_columns).
        self.max_rows = MAX_ROWS
        # (task id, label, (width, rows), mode) -> what `prepare_drawing` made in the worker
        self.prepared: OrderedDict[tuple, Any] = OrderedDict()

    def compose(self):
        yield Static(Text(""), id="preview-caption")
        yield BlockImage(id="preview-image")
        yield Static(Text(""), id="preview-blocks")
        yield Static(Text(""), id="preview-under")

    # --- settings -------------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool | str) -> None:
        """True/False (v toggles), or a [ui] preview setting: "off" turns it off, any other
        picks the drawing."""
        if isinstance(value, str):
            self.set_mode(value)
            value = value.strip().lower() != "off"
        self._enabled = bool(value)

    def set_mode(self, setting: str) -> None:
        mode = terminal.resolve(setting, os.environ)
        if mode in ("kitty", "sixel") and graphics_widget(mode) is None:
            mode = "halfblocks"
        if mode != "off":
            self.mode = mode
            self._drawn = None

    def set_enabled(self, enabled: bool) -> None:
        self._enabled = enabled
        self.show_task(self.current)

    # --- what to show -------------------------------------------------------------------

    def wants(self, task: Task | None) -> bool:
        return (
            self._enabled
            and task is not None
            and task.status is Status.SUCCESS
            and bool(preview_links(task))
        )

    @property
    def key(self) -> tuple[str, str] | None:
        if self.current is None or not self.links:
            return None
        return self.current.id, self.links[self.index][0]

    def show_task(self, task: Task | None) -> None:
        """The selection changed (or its task did)."""
        same = task is not None and self.current is not None and task.id == self.current.id
        self.current = task
        if not same:
            self.index = 0
            self._forget_graphic()
        if not self.wants(task):
            self._cancel()
            self._set_shown(False)
            self._forget_graphic()
            self._drawn = None
            return
        assert task is not None
        self.links = preview_links(task)
        self.index = min(self.index, len(self.links) - 1)
        self._set_shown(True)
        key = self.key
        if key in self.images:
            self._cancel()
            self._draw()
            return
        if key in self.problems:
            self._cancel()
            self._say(f"no preview: {self.problems[key]}")
            return
        if same and self._timer is not None:
            return  # already waiting for this one
        self._say(f"{self._caption()}: loading…")
        self._cancel()
        self._timer = self.set_timer(self.delay, self._fetch, name="preview")

    class Shown(Message):
        """The preview appeared or went (the detail's columns make room for it)."""

    def _set_shown(self, shown: bool) -> None:
        if shown != self.has_class("-shown"):
            self.set_class(shown, "-shown")
            self.post_message(self.Shown())

    def cycle(self) -> bool:
        """Show the next of the task's images (grid, U1..U4); False when there is only one."""
        if self.current is None or len(self.links) < 2:
            return False
        self.index = (self.index + 1) % len(self.links)
        self._forget_graphic()
        self.show_task(self.current)
        return True

    def on_click(self) -> None:
        self.cycle()

    def _caption(self) -> str:
        if not self.links:
            return "image"
        label = self.links[self.index][0]
        if label == "video":
            return "▶ video (first thumbnail)"
        if label == "grid" and len(self.links) > 1:
            return "grid · i shows U1-U4 large"
        if label.startswith("U"):
            return f"{label} of the grid ({self.index}/{len(self.links) - 1}) · i next"
        return label

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    @property
    def drawn(self) -> Text | None:
        """The half-block image as last drawn, as Text (made on demand: tests read it)."""
        strips = self.drawn_strips
        return None if strips is None else rows_text([list(strip) for strip in strips])

    def _show_strips(self, strips: list[Strip] | None) -> None:
        self.drawn_strips = strips
        try:
            self.query_one(BlockImage).show(strips or [])
        except Exception:  # not composed yet
            return

    def _say(self, words: str) -> None:
        self._drawn = None
        self._show_strips(None)
        self._forget_graphic()
        self._set("#preview-caption", Text(words, style="grey62"))
        self._set("#preview-blocks", Text(""))
        self._set("#preview-under", Text(""))

    def _set(self, selector: str, text: Text) -> None:
        try:
            static = self.query_one(selector, Static)
        except Exception:  # not composed yet
            return
        static.update(text)
        static.display = bool(text.plain)

    # --- fetching -------------------------------------------------------------------------

    def _fetch(self) -> None:
        self._timer = None
        task = self.current
        if not self.wants(task) or self.key is None:
            return
        assert task is not None
        label, url = self.links[self.index]
        self.run_worker(
            self._load(task, label, url), group="preview", exclusive=True, exit_on_error=False
        )

    def _thumbs(self) -> ThumbCache:
        if self.thumbs is None:
            self.thumbs = ThumbCache()
        return self.thumbs

    async def _load(self, task: Task, label: str, url: str) -> None:
        key = (task.id, label)
        side = GRAPHICS_SIDE if self.mode in ("kitty", "sixel") else 256
        thumbs = self._thumbs()
        try:
            sized = f"{label}@{side}"  # half-blocks and graphics keep their own sizes
            image = await asyncio.to_thread(thumbs.get, task.id, sized)
            if image is None:
                self.fetches += 1
                data = await self.app.client.download_image(url)
                image = await asyncio.to_thread(prepare, data, side)
                await asyncio.to_thread(thumbs.put, task.id, sized, image)
            else:
                self.disk_hits += 1
        except asyncio.CancelledError:
            raise
        except ImageError as exc:
            self.problems[key] = str(exc)
        except Exception as exc:  # MjError (HTTP, refused URL) and anything else: one line
            self.problems[key] = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        else:
            # The drawing for the pane's width is made here too, off the UI thread (the
            # half-block rows; the graphics modes' exact-size pixels).
            box, mode = self._box(), self.mode
            grid = is_grid(task) and label == "grid"
            drawing = await asyncio.to_thread(prepare_drawing, mode, image, box[0], grid, box[1])
            self._keep_drawing((*key, box, mode), drawing)
            self.images[key] = image
            while len(self.images) > CACHE_SIZE:
                self.images.popitem(last=False)
        if self.current is not None and self.current.id == task.id:
            self.show_task(self.current)

    # --- drawing --------------------------------------------------------------------------

    def _box(self) -> tuple[int, int]:
        """The cells (columns, rows) the image may take."""
        width = self.size.width
        if width <= 0 and self.parent is not None:
            width = self.parent.size.width - 2
        return max(8, width), max(2, self.max_rows)

    def set_max_rows(self, rows: int) -> None:
        """At most `rows` rows of image (drawn again when that changes)."""
        if rows != self.max_rows:
            self.max_rows = rows
            if self.key in self.images:
                self._draw()

    def _draw(self) -> None:
        key = self.key
        task = self.current
        if task is None or key not in self.images:
            return
        self.images.move_to_end(key)
        box = self._box()
        if self._drawn == (key, box, self.mode):
            return
        image = self.images[key]
        grid = is_grid(task) and key[1] == "grid"
        prepared = self.prepared.get((*key, box, self.mode))
        if prepared is None:
            # The pane's width changed since the worker made the drawing (a resize, the pane's
            # scrollbar), or it was dropped from memory: made again off the UI thread. A resize
            # keeps the image on screen until then; another image is not left showing.
            if self._drawn is None or self._drawn[0] != key:
                self._say(f"{self._caption()}: loading…")
            self.run_worker(
                self._prepare(image, key, box, grid),
                group="preview-draw",
                exclusive=True,
                exit_on_error=False,
            )
            return
        self._drawn = (key, box, self.mode)
        self._set("#preview-caption", Text(self._caption(), style="grey62"))
        # The drawing pushes what is under it down: a focused sibling (the button list the
        # user just entered) is kept in view once the new layout is made.
        self.call_after_refresh(self._keep_focused_sibling_visible)
        if self.mode in ("kitty", "sixel"):
            self._draw_graphic(image, box, grid, prepared)
            return
        self._forget_graphic()
        self._show_strips(prepared)
        self._set("#preview-blocks", Text(""))
        self._set("#preview-under", Text(""))

    def _keep_focused_sibling_visible(self) -> None:
        if self.styles.is_split:  # a column of its own (the detail's columns): pushes nothing
            return
        focused = self.screen.focused if self.is_attached else None
        if focused is not None and focused.parent is self.parent:
            focused.scroll_visible(animate=False)

    async def _prepare(
        self, image: Image, key: tuple[str, str], box: tuple[int, int], grid: bool
    ) -> None:
        mode = self.mode
        drawing = await asyncio.to_thread(prepare_drawing, mode, image, box[0], grid, box[1])
        self._keep_drawing((*key, box, mode), drawing)
        if self.key == key:
            self._draw()

    def _keep_drawing(self, key: tuple, drawing: Any) -> None:
        self.prepared[key] = drawing
        while len(self.prepared) > CACHE_SIZE:
            self.prepared.popitem(last=False)

    def _draw_graphic(self, image: Image, box: tuple[int, int], grid: bool, prepared: Any) -> None:
        from mjdash.media.images import cell_size

        columns, rows = cell_size(image, min(box[0], MAX_COLUMNS), min(box[1], MAX_ROWS))
        widget_class = graphics_widget(self.mode)
        if self._graphic is None or not isinstance(self._graphic, widget_class):
            self._forget_graphic(remove=True)
            self._graphic = widget_class(classes="preview-graphics")
            self.mount(self._graphic, before="#preview-under")
        self._graphic.styles.width = columns
        self._graphic.styles.height = rows
        self._graphic.display = True
        self._graphic.image = prepared
        self._show_strips(None)
        self._set("#preview-blocks", label_line(columns, "U1", "U2") if grid else Text(""))
        self._set("#preview-under", label_line(columns, "U3", "U4") if grid else Text(""))

    def _forget_graphic(self, *, remove: bool = False) -> None:
        """Drop the terminal image (textual-image deletes a Kitty image when it is replaced)."""
        graphic = self._graphic
        if graphic is None:
            return
        if graphic.image is not None:
            graphic.image = None
        graphic.display = False
        if remove:
            graphic.remove()
            self._graphic = None

    def on_resize(self) -> None:
        if self.key in self.images:
            self._draw()

    def on_mount(self) -> None:
        self.app.screen_change_signal.subscribe(self, self._screen_changed)

    def _screen_changed(self, screen: Any) -> None:
        """A dialog or another screen on top: terminal graphics are not text Textual can dim
        or cover, so the image goes while it is not ours, and comes back after."""
        if self._graphic is None:
            return
        if screen is not self.screen:
            self._forget_graphic()
        else:
            self._drawn = None
            self.show_task(self.current)

    def on_unmount(self) -> None:
        self._forget_graphic()
