"""End to end in a real terminal: press U1 on a finished grid of `mjdash demo` inside tmux,
confirm, and watch the UPSCALE child appear under its grid and finish."""

from __future__ import annotations

import re

import pytest

from tests.support.tmuxterm import TmuxTerminal, have_tmux, mjdash_command, terminal_env

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(not have_tmux(), reason="tmux is not installed (.ci/run installs it)"),
]

TRACEBACK = re.compile(r"Traceback|Error:|EXITED-")


def table_lines(screen: str) -> list[str]:
    """The table's part of the screen: above the detail pane's top border (at 120 columns the
    detail is under the table), left of its side border when it is beside the table."""
    lines = []
    for line in screen.splitlines():
        if line.startswith("───"):
            break
        lines.append(line.split("│")[0])
    return lines


def depth(row: str) -> int:
    """How deep a table row sits in the lineage tree, read from its branch glyphs."""
    drawing = row[1 : row.index("…")] if "…" in row else ""
    if "├" not in drawing and "└" not in drawing:
        return 0
    return (len(drawing.rstrip()) + 1) // 2


def child_and_parent(screen: str, known: set[str]) -> tuple[str, str] | None:
    """A new UPSCALE row (an id not in `known`) and the row of the task it hangs under."""
    rows = [row for row in table_lines(screen) if "…" in row]
    for index, line in enumerate(rows):
        if "UPSCALE" in line and row_id(line) not in known and depth(line):
            above = [r for r in rows[:index] if depth(r) == depth(line) - 1]
            return (line, above[-1]) if above else None
    return None


def row_id(row: str) -> str:
    return row[row.index("…") :].split()[0]


def test_pressing_1_on_a_finished_grid_adds_the_upscale_under_it(tmp_path):
    term = TmuxTerminal(
        mjdash_command("demo", "--speed", "4", "--interval", "1"),
        width=120,
        height=36,
        env=terminal_env(tmp_path),
    )
    try:
        screen = term.wait_for(lambda s: "Buttons (9)" in s, what="the demo and a grid's buttons")
        first = next(line for line in table_lines(screen) if "IMAGINE" in line)
        assert "SUCCESS" in first, first  # the demo's first row: a finished grid
        known = {row_id(line) for line in table_lines(screen) if "…" in line}
        term.keys("1")
        screen = term.wait_for(lambda s: "Press U1" in s or "(y)" in s, what="the confirm")
        assert "credits" in screen
        term.keys("y")
        screen = term.wait_for(
            lambda s: child_and_parent(s, known) is not None, what="the UPSCALE child"
        )
        screen = term.wait_for(
            lambda s: "SUCCESS" in (child_and_parent(s, known) or ("",))[0],
            timeout=15,
            what="the upscale to finish",
        )
        _child, parent = child_and_parent(screen, known)
        assert "IMAGINE" in parent and "SUCCESS ✓" in parent, screen  # U1 used: handled
        assert row_id(parent) == row_id(first), "the child sits under the grid pressed"
        assert not TRACEBACK.search(screen), screen
    finally:
        term.close()
