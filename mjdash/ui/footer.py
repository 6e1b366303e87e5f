"""The footer, fitted to the terminal: a key that does not fit is left out whole, never cut in
the middle of its word (issue 16: the footer at 60x20).

Textual's Footer scrolls what does not fit off the right edge, cutting a description in two.
This one keeps the keys in the order the app lists them (the most used first) while they fit,
goes compact (less padding) on narrow screens and leaves out the command palette's key there
(ctrl+p still opens it). Every key still works; `?` lists them all.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.widgets import Footer

COMPACT_BELOW = 100  # columns: below this, keys lose their padding
PALETTE_FROM = 80  # columns: the command palette's key is shown from this width
PALETTE_WIDTH = 13  # "▏^p palette " with its border


def key_width(key_display: str, description: str, *, compact: bool) -> int:
    """The cells one footer key takes (FooterKey's padding: key 0 1, description 0 1 0 0;
    compact: key 0, description 0 0 0 1, and the compact footer's 1-cell gutter)."""
    if not description:
        return cell_len(key_display)
    if compact:
        return cell_len(key_display) + 1 + cell_len(description) + 1
    return cell_len(key_display) + 2 + cell_len(description) + 1


def keys_that_fit(widths: list[int], room: int) -> int:
    """How many keys, first ones first, fit `room` cells whole."""
    used = 0
    for count, width in enumerate(widths):
        if used + width > room:
            return count
        used += width
    return len(widths)


class FittedFooter(Footer):
    """Footer showing only whole keys (see the module's docstring)."""

    def compose(self) -> ComposeResult:
        width = self.app.size.width
        compact = width < COMPACT_BELOW
        keys: list = []
        palette: list = []
        others: list = []
        for item in super().compose():
            # A key has key_display and description (Textual's FooterKey, not public).
            is_key = hasattr(item, "key_display") and hasattr(item, "description")
            if is_key and item.has_class("-command-palette"):
                palette.append(item)
            elif is_key:
                keys.append(item)
            else:  # a key group (none today): kept as Textual draws it
                others.append(item)
        show_palette = width >= PALETTE_FROM
        room = width - (PALETTE_WIDTH if show_palette and palette else 0)
        widths = [key_width(k.key_display, k.description, compact=compact) for k in keys]
        yield from keys[: keys_that_fit(widths, room)]
        yield from others
        if show_palette:
            yield from palette

    def on_resize(self) -> None:
        compact = self.app.size.width < COMPACT_BELOW
        if compact != self.compact:
            self.compact = compact
        self.call_after_refresh(self.recompose)
