"""End to end in a real terminal: `mjdash demo` inside tmux, driven by send-keys."""

from __future__ import annotations

import re

import pytest

from tests.support.tmuxterm import TmuxTerminal, have_tmux, mjdash_command, terminal_env

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(not have_tmux(), reason="tmux is not installed (.ci/run installs it)"),
]

TRACEBACK = re.compile(r"Traceback|Error:|EXITED-")


def task_rows(screen: str) -> list[str]:
    return [line for line in screen.splitlines() if "…" in line and "%" in line]


@pytest.fixture
def demo_terminal(tmp_path):
    terminals = []

    def start(width: int, height: int) -> TmuxTerminal:
        term = TmuxTerminal(
            mjdash_command("demo", "--speed", "4"),
            width=width,
            height=height,
            env=terminal_env(tmp_path),
        )
        terminals.append(term)
        return term

    yield start
    for term in terminals:
        term.close()


def test_demo_copies_u1_of_a_finished_grid_into_tmux_buffer(demo_terminal):
    term = demo_terminal(100, 30)
    screen = term.wait_for(
        lambda s: " Task 1" in s and len(task_rows(s)) >= 14, what="rows and the detail"
    )
    assert "20 tasks" in screen
    first_row = task_rows(screen)[0]
    assert "IMAGINE" in first_row and "SUCCESS" in first_row, first_row  # a finished grid
    term.keys("Enter")  # focus the grid's buttons: the pane scrolls to them
    screen = term.wait_for(lambda s: "MJ::JOB::upsample::1::" in s, what="the U1 customId")
    term.keys("c")
    screen = term.wait_for(lambda s: "Copied U1 customId" in s, what="the copy toast")
    assert "tmux buffer" in screen
    assert re.fullmatch(r"MJ::JOB::upsample::1::[0-9a-f-]{36}", term.buffer().strip())
    # Back to the table (tab), down to the running PAN task: its detail replaces the grid's.
    term.keys("Tab", "j", "j", "j")
    screen = term.wait_for(lambda s: "Action     PAN" in s, what="the PAN task's detail")
    assert "Task 1" in screen and "Prompt" in screen
    assert not TRACEBACK.search(screen)


def test_demo_in_a_narrow_pane_shows_rows_without_error(demo_terminal):
    term = demo_terminal(60, 20)
    screen = term.wait_for(lambda s: len(task_rows(s)) >= 8, what="eight task rows")
    assert "SUCCESS" in screen and "IN_PROGRESS" in screen
    assert all(len(line) <= 60 for line in screen.splitlines())
    term.keys("j", "j", "Enter")
    screen = term.screen()
    assert not TRACEBACK.search(screen), screen
    term.keys("q")
    screen = term.wait_for(lambda s: "EXITED-" in s, what="mjdash to exit")
    assert "EXITED-0" in screen, screen
    assert "Traceback" not in screen
