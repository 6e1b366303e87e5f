"""The image preview in the detail pane: the selected finished task's image, in half-blocks.

Never in the table's way: the image is fetched only for the selected SUCCESS task, 300 ms after
the selection settles (scrolling through rows fetches nothing), in a worker of its own group
(a newer selection cancels the older fetch), and decoded in a thread. A few decoded images are
kept (shrunk to 128 px) so going back to a task draws at once. Half-blocks work in every
terminal and inside tmux; kitty and sixel graphics are not used (Textual draws cells, and tmux
drops them without extra settings).

Grids (IMAGINE, VARIATION, REROLL, BLEND with U1-U4 buttons) get U1-U4 labels over their
quadrants, matching the buttons below.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

from mjdash.media.images import Image, ImageError, decode_png, half_blocks, is_grid, shrink
from mjdash.model.task import Status, Task

MAX_ROWS = 16
MAX_COLUMNS = 48
CACHE_SIZE = 6
LABEL_STYLE = Style(color="white", bgcolor="black", bold=True)


def prepare(data: bytes) -> Image:
    """Decode and shrink (run in a thread)."""
    return shrink(decode_png(data))


def render_image(image: Image, width: int, *, grid: bool = False, max_rows: int = MAX_ROWS) -> Text:
    """The image as lines of "▀" (upper pixel as foreground, lower as background)."""
    cells = half_blocks(image, min(width, MAX_COLUMNS), max_rows)
    rows = len(cells)
    columns = len(cells[0]) if cells else 0
    labels: dict[tuple[int, int], str] = {}
    if grid and rows >= 2 and columns >= 6:
        for number, (row, column) in enumerate(
            ((0, 0), (0, columns // 2), (rows // 2, 0), (rows // 2, columns // 2)), start=1
        ):
            labels[(row, column)] = "U"
            labels[(row, column + 1)] = str(number)
    styles: dict[tuple, Style] = {}
    out = Text(no_wrap=True, overflow="crop")
    for y, line in enumerate(cells):
        if y:
            out.append("\n")
        for x, (upper, lower) in enumerate(line):
            label = labels.get((y, x))
            if label is not None:
                out.append(label, style=LABEL_STYLE)
                continue
            style = styles.get((upper, lower))
            if style is None:
                style = styles[(upper, lower)] = Style(
                    color=Color.from_rgb(*upper), bgcolor=Color.from_rgb(*lower)
                )
            out.append("▀", style=style)
    return out


class ImagePreview(Static):
    """Shown under the task's facts, above its buttons; hidden when there is nothing to draw."""

    DEFAULT_CSS = """
    ImagePreview {
        height: auto;
        margin-top: 1;
        display: none;
    }
    ImagePreview.-shown {
        display: block;
    }
    """

    delay = 0.3  # seconds the selection must stay before a fetch

    def __init__(self, **kwargs) -> None:
        super().__init__(Text(""), **kwargs)
        self.enabled = True
        self.current: Task | None = None
        self.images: OrderedDict[str, Image] = OrderedDict()
        self.problems: dict[str, str] = {}
        self.fetches = 0  # downloads started (tests count them)
        self.drawn: Text | None = None  # the image as last drawn
        self._timer: Timer | None = None
        self._drawn: tuple[str, int] | None = None

    # --- what to show -------------------------------------------------------------------

    def wants(self, task: Task | None) -> bool:
        return (
            self.enabled
            and task is not None
            and task.status is Status.SUCCESS
            and bool(task.image_url)
        )

    def show_task(self, task: Task | None) -> None:
        """The selection changed (or its task did)."""
        same = task is not None and self.current is not None and task.id == self.current.id
        self.current = task
        if not self.wants(task):
            self._cancel()
            self.set_class(False, "-shown")
            self._drawn = None
            return
        assert task is not None
        self.set_class(True, "-shown")
        if task.id in self.images:
            self._cancel()
            self._draw()
            return
        if task.id in self.problems:
            self._cancel()
            self._say(f"no preview: {self.problems[task.id]}")
            return
        if same and self._timer is not None:
            return  # already waiting for this one
        self._say("image: loading…")
        self._cancel()
        self._timer = self.set_timer(self.delay, self._fetch, name="preview")

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self.show_task(self.current)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _say(self, words: str) -> None:
        self._drawn = None
        self.update(Text(words, style="grey62"))

    # --- fetching -------------------------------------------------------------------------

    def _fetch(self) -> None:
        self._timer = None
        task = self.current
        if not self.wants(task):
            return
        self.fetches += 1
        self.run_worker(self._load(task), group="preview", exclusive=True, exit_on_error=False)

    async def _load(self, task: Task) -> None:
        try:
            data = await self.app.client.download_image(task.image_url)
            image = await asyncio.to_thread(prepare, data)
        except asyncio.CancelledError:
            raise
        except ImageError as exc:
            self.problems[task.id] = str(exc)
        except Exception as exc:  # MjError (HTTP, refused URL) and anything else: one line
            self.problems[task.id] = str(exc).splitlines()[0][:200] or type(exc).__name__
        else:
            self.images[task.id] = image
            while len(self.images) > CACHE_SIZE:
                self.images.popitem(last=False)
        if self.current is not None and self.current.id == task.id:
            self.show_task(self.current)

    # --- drawing --------------------------------------------------------------------------

    def _width(self) -> int:
        width = self.size.width
        if width <= 0 and self.parent is not None:
            width = self.parent.size.width - 2
        return max(8, width)

    def _draw(self) -> None:
        task = self.current
        if task is None or task.id not in self.images:
            return
        self.images.move_to_end(task.id)
        width = self._width()
        if self._drawn == (task.id, width):
            return
        self._drawn = (task.id, width)
        self.drawn = render_image(self.images[task.id], width, grid=is_grid(task))
        self.update(self.drawn)

    def on_resize(self) -> None:
        if self.current is not None and self.current.id in self.images:
            self._draw()
