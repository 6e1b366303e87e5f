"""End to end in a real terminal: in `mjdash demo` inside tmux, mark three finished grids with
`t`, press U2 across them, confirm once, and watch three UPSCALE rows appear, each under the
grid it came from."""

from __future__ import annotations

import re

import pytest

from tests.support.tmuxterm import TmuxTerminal, have_tmux, mjdash_command, terminal_env

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(not have_tmux(), reason="tmux is not installed (.ci/run installs it)"),
]

TRACEBACK = re.compile(r"Traceback|Error:|EXITED-")
ID_START = re.compile(r"[…●]")  # a marked row shows ● where the id's … was


def table_rows(screen: str) -> list[str]:
    """The table's rows, top to bottom (at 120 columns the detail pane is under the table: the
    rows end at its top border; beside it they would end at its side border)."""
    lines = [line.split("│")[0] for line in screen.splitlines()]
    header = next((i for i, line in enumerate(lines) if line.lstrip().startswith("Task ")), None)
    if header is None:
        return []
    rows = []
    for line in lines[header + 1 :]:
        if not ID_START.search(line[:14]):
            break
        rows.append(line)
    return rows


def id_tail(row: str) -> str:
    start = ID_START.search(row).start()
    return row[start + 1 :].split()[0]


def depth(row: str) -> int:
    drawing = row[1 : ID_START.search(row).start()]
    if "├" not in drawing and "└" not in drawing:
        return 0
    return (len(drawing.rstrip()) + 1) // 2


def parent_row(rows: list[str], index: int) -> str | None:
    above = [r for r in rows[:index] if depth(r) == depth(rows[index]) - 1]
    return above[-1] if above else None


def grids(screen: str) -> list[int]:
    return [
        i
        for i, row in enumerate(table_rows(screen))
        if "IMAGINE" in row and "SUCCESS" in row and "●" not in row
    ]


def test_marking_three_grids_and_pressing_u2_adds_three_upscales_under_them(tmp_path):
    term = TmuxTerminal(
        mjdash_command("demo", "--speed", "4", "--interval", "1"),
        width=120,
        height=40,
        env=terminal_env(tmp_path),
    )
    try:
        # The demo's first grid (the paper boat) had U2 pressed before mjdash saw it: the
        # server answers with that upscale. Three other grids get new ones.
        screen = term.wait_for(lambda s: len(grids(s)) >= 4, what="four finished grids")
        rows = table_rows(screen)
        targets = grids(screen)[1:4]
        marked = {id_tail(rows[i]) for i in targets}
        known = {id_tail(row) for row in rows}
        cursor = 0
        for index in targets:  # the cursor starts on the first row; t marks and moves down
            term.keys(*(["j"] * (index - cursor)), "t", pause=0.15)
            cursor = index + 1
        screen = term.wait_for(lambda s: "3 marked" in s, what="three marks counted")
        assert {id_tail(r) for r in table_rows(screen) if "●" in r} == marked
        term.keys("2")
        screen = term.wait_for(lambda s: "(y)" in s, what="the move's confirm")
        assert "press U2: 3 jobs on 3 tasks" in screen, screen
        term.keys("y")

        def new_upscales(s: str) -> dict[str, str]:
            rows = table_rows(s)
            return {
                id_tail(row): id_tail(parent_row(rows, i) or row)
                for i, row in enumerate(rows)
                if "UPSCALE" in row and id_tail(row) not in known and depth(row)
            }

        screen = term.wait_for(
            lambda s: len(new_upscales(s)) == 3, timeout=30, what="three UPSCALE rows"
        )
        assert set(new_upscales(screen).values()) == marked, screen
        assert not TRACEBACK.search(screen), screen
    finally:
        term.close()
