"""End to end per server flavor: `mjdash demo --flavor X` in tmux at 160x40 (the detail beside
the table, tall enough for a describe's suggestions); rows appear, a describe task's detail
shows its four suggestions, and a MODAL continued is shown as moving on, not as waiting
(new-api: a Vary (Region) with two rows; trueai: a Custom Zoom sent with m, same id)."""

from __future__ import annotations

import re

import pytest

from tests.support.tmuxterm import TmuxTerminal, have_tmux, mjdash_command, terminal_env

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(not have_tmux(), reason="tmux is not installed (.ci/run installs it)"),
]

TRACEBACK = re.compile(r"Traceback|Error:|EXITED-")
SUGGESTION = re.compile(r"^ [1-4]  \S", re.MULTILINE)


def task_rows(screen: str) -> list[str]:
    return [line for line in screen.splitlines() if "…" in line and "%" in line]


def detail_side(screen: str) -> str:
    """The right-hand pane's text (the table is on the left at 160 columns)."""
    return "\n".join(line.split("│ ", 1)[1] for line in screen.splitlines() if "│ " in line)


@pytest.fixture
def flavor_terminal(tmp_path):
    terminals: list[TmuxTerminal] = []

    def start(flavor: str) -> TmuxTerminal:
        term = TmuxTerminal(
            mjdash_command("demo", "--flavor", flavor, "--speed", "4"),
            width=160,
            height=40,
            env=terminal_env(tmp_path),
        )
        terminals.append(term)
        return term

    yield start
    for term in terminals:
        term.close()


def filter_to(term: TmuxTerminal, word: str) -> None:
    term.keys("/")
    term.keys(*word, pause=0.05)
    term.keys("Enter")


@pytest.mark.parametrize("flavor", ["newapi", "trueai", "novicezk"])
def test_demo_rows_and_a_describe_tasks_suggestions(flavor_terminal, flavor):
    term = flavor_terminal(flavor)
    screen = term.wait_for(lambda s: len(task_rows(s)) >= 12, what="the demo's rows")
    assert "DESCRIBE" in screen and "BLEND" in screen
    term.keys("v")  # the preview off: the detail's text starts near the top
    filter_to(term, "describe")
    screen = term.wait_for(
        lambda s: "Suggested prompts" in s and "Action     DESCRIBE" in s,
        what="the describe task's suggestions",
    )
    side = detail_side(screen)
    assert len(SUGGESTION.findall(side)) == 4, side  # all four, numbered
    assert "1️⃣" not in side
    describe_row = next(line for line in task_rows(screen) if "DESCRIBE" in line)
    assert "describe" in describe_row.split("SUCCESS", 1)[1]  # the prompt cell
    assert not TRACEBACK.search(screen), screen


def test_new_api_region_continued_from_modal_is_shown_moving_on(flavor_terminal):
    term = flavor_terminal("newapi")
    term.wait_for(lambda s: len(task_rows(s)) >= 12, what="the demo's rows")
    term.keys("v")
    filter_to(term, "inpaint")
    screen = term.wait_for(
        lambda s: "Action     INPAINT" in s and "moved on" in s, what="the continued region task"
    )
    row = next(line for line in screen.splitlines() if "INPAINT" in line and "…" in line)
    assert "MODAL" not in row and ("SUCCESS" in row or "IN_PROGRESS" in row), row
    assert "needs you" not in screen
    assert not TRACEBACK.search(screen), screen


def test_trueai_custom_zoom_sent_from_modal_moves_on_under_the_same_id(flavor_terminal):
    """trueai: the MODAL task is action ZOOM with no customId; m opens the zoom dialog, and
    after the prompt is sent the same id goes on (no second row)."""
    term = flavor_terminal("trueai")
    term.wait_for(lambda s: len(task_rows(s)) >= 12, what="the demo's rows")
    term.keys("v")
    filter_to(term, "zoom")
    term.wait_for(lambda s: "Action     ZOOM" in s and "needs you" in s, what="the waiting zoom")
    term.keys("m")
    term.wait_for(lambda s: "Custom Zoom for task" in s and "--zoom" in s, what="the zoom dialog")
    term.keys("Enter")
    screen = term.wait_for(
        lambda s: "Action     ZOOM" in s and "moved on" in s, what="the zoom moving on"
    )
    row = next(line for line in screen.splitlines() if "ZOOM" in line and "…" in line)
    assert "MODAL" not in row, row
    assert "needs you" not in screen
    assert not TRACEBACK.search(screen), screen
