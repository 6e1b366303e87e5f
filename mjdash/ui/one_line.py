"""A one-row Static drawn from a Rich Text's own segments: the status and summary lines.

Both lines change every second (the poll clock, the ETA) and come already fitted to the width
(`fit_parts`). A Static turns each new Text into Content and lays it out again: ~0.4 ms a line
alone, 1.5 ms inside a busy frame, on every tick. Rich renders the fitted line in ~50 us; the
segments are the same (the snapshots are unchanged).
"""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.strip import Strip
from textual.widgets import Static


class OneLine(Static):
    """`update(text)` with a Text that fits one row; the widget's CSS colours lie beneath it."""

    DEFAULT_CSS = "OneLine { height: 1; }"

    def __init__(self, text: Text | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self._line = text if text is not None else Text()
        self._strip: Strip | None = None
        self._drawn_for: tuple[int, object] = (0, None)  # (width, base style) of `_strip`

    @property
    def line(self) -> Text:
        return self._line

    def update(self, content: object = "", *, layout: bool = False) -> None:  # type: ignore[override]
        text = content if isinstance(content, Text) else Text(str(content))
        self._line = text
        self._strip = None
        self.refresh(layout=layout)

    def render(self) -> Text:
        return self._line

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.visual_style.rich_style
        if y != 0:
            return Strip.blank(width, base)
        strip = self._strip
        # Drawn again for a new width or new colours (a theme change: the text may not change).
        if strip is None or self._drawn_for != (width, base):
            segments = Segment.apply_style(self._line.render(self.app.console, end=""), base)
            # Offsets, as a Static's: the text can be selected with the mouse. A short line is
            # padded by Textual, in the background's style, as a Static's is.
            strip = Strip(list(segments)).apply_offsets(0, 0).crop(0, width)
            self._strip, self._drawn_for = strip, (width, base)
        return strip
