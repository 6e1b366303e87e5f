"""OneLine (the status and summary lines) draws what a Static would, cell for cell."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import Static

from mjdash.net.poller import PollerState
from mjdash.ui.one_line import OneLine
from mjdash.ui.status_line import PollView, render_status_line

CSS = """
Static { height: 1; background: $panel; color: $foreground; }
"""


class Pair(App):
    CSS = CSS

    def compose(self) -> ComposeResult:
        yield Static(id="static")
        yield OneLine(id="one")


def cells(widget, width: int) -> list[tuple[str, object]]:
    """(character, style) per cell: segments may be split differently, the cells may not."""
    out = []
    for strip in widget.render_lines(Region(0, 0, width, 1)):
        for segment in strip:
            out.extend((char, segment.style) for char in segment.text)
    return out


LINES = [
    Text("plain, shorter than the line"),
    Text.assemble((" mjdash ", "bold reverse"), " ", ("● ok", "green"), (" · polled", "grey62")),
    render_status_line(
        PollView(PollerState.RATE_LIMITED, "rate limited, retrying in 12s", 3.0, 2, 190),
        "COMETAPI_KEY",
        total=1000,
        missing=3,
        triage=37,
        marked=5,
        width=60,
    ),
    Text("wide ⚑ glyphs and 中文 prompts"),
    Text("x" * 200),  # longer than the widget: cut at its width
]


async def test_one_line_draws_the_cells_a_static_draws() -> None:
    app = Pair()
    async with app.run_test(size=(60, 4)) as pilot:
        static, one = app.query_one("#static", Static), app.query_one("#one", OneLine)
        for text in LINES:
            static.update(text, layout=False)
            one.update(text)
            await pilot.pause()
            assert cells(one, 60) == cells(static, 60), text.plain
            assert one.render().plain == text.plain


async def test_one_line_follows_a_resize() -> None:
    app = Pair()
    async with app.run_test(size=(60, 4)) as pilot:
        one = app.query_one("#one", OneLine)
        one.update(Text("x" * 100))
        await pilot.pause()
        assert len(cells(one, 60)) == 60
        await pilot.resize_terminal(80, 4)
        await pilot.pause()
        assert len(cells(one, 80)) == 80


async def test_one_line_takes_a_new_theme_without_a_new_text() -> None:
    """The summary's text can stay the same for minutes (a finished batch): a theme change
    must still repaint it in the new colours, as a Static does."""
    app = Pair()
    async with app.run_test(size=(60, 4)) as pilot:
        static, one = app.query_one("#static", Static), app.query_one("#one", OneLine)
        text = Text.assemble(("● ok", "green"), " · polled")
        static.update(text, layout=False)
        one.update(text)
        await pilot.pause()
        before = cells(one, 60)
        app.theme = "textual-light"
        await pilot.pause()
        assert cells(one, 60) == cells(static, 60)
        assert cells(one, 60) != before
