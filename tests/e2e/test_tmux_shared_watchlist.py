"""End to end, two processes on one watchlist file: the dashboard open in tmux against the
simulator, `mjdash add` / `submit` / `rm` run beside it; the dashboard shows what they did
within a poll interval. And the interval keys: `+` after `-` re-arms the waiting poll at
once, twelve `-` leave one toast, and nothing of it stays drawn once it has gone."""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from tests.support.tmuxterm import TmuxTerminal, have_tmux, mjdash_command, terminal_env

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(not have_tmux(), reason="tmux is not installed (.ci/run installs it)"),
]

TRACEBACK = re.compile(r"Traceback|Error:|EXITED-")


def imagine(sim, prompt: str) -> str:
    answer = sim.engine.imagine(prompt)
    assert answer["code"] == 1
    return answer["result"]


def tail(task_id: str) -> str:
    return task_id[-8:]  # the table shows "…" and the id's last digits


def table_rows(screen: str) -> str:
    """The table's rows only: below the two top lines and the header, above the detail pane
    (under the table at 120 columns, its top edge a line of "─"), each cut where the detail
    pane (beside it, wide) or a toast ("▌ 1 done: …<id>") starts."""
    rows = []
    for line in screen.splitlines()[3:]:
        if line.lstrip().startswith("─"):
            break
        rows.append(re.split("[│▌]", line)[0])
    return "\n".join(rows)


@pytest.fixture
def shared(sim, tmp_path):
    """(start the dashboard on these ids, run another mjdash command) on one watchlist file."""
    config = tmp_path / "config.toml"
    config.write_text("[api]\nallow_http = true\n\n[poll]\ninterval = 1\n")
    env = terminal_env(tmp_path)
    env.update(
        MJDASH_CONFIG=str(config),
        MJDASH_WATCHLIST=str(tmp_path / "watchlist.toml"),
        MJDASH_BASE_URL=sim.url,
        COMETAPI_KEY="test-key",
    )
    terminals: list[TmuxTerminal] = []

    def open_dashboard(*ids: str) -> TmuxTerminal:
        term = TmuxTerminal(mjdash_command(*ids), width=120, height=36, env=env)
        terminals.append(term)
        return term

    def run(*args: str) -> str:
        done = subprocess.run(
            mjdash_command(*args), env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    yield open_dashboard, run
    for term in terminals:
        term.close()


def test_ids_added_and_removed_in_another_shell_show_in_the_open_dashboard(sim, shared):
    open_dashboard, run = shared
    first = imagine(sim, "a kite over the dunes")
    term = open_dashboard(first)
    term.wait_for(lambda s: "● ok" in s and "│ 1 task " in s, what="the dashboard polling")
    second = imagine(sim, "a lantern in the fog")
    run("add", second)  # another process, the same watchlist file
    screen = term.wait_for(lambda s: tail(second) in s and "2 tasks" in s, what="the added id")
    assert tail(first) in screen
    out = run("submit", "a paper boat at dawn")
    third = re.search(r"\d{16,}", out)
    assert third, out
    term.wait_for(
        lambda s: tail(third.group()) in s and "3 tasks" in s, what="the submitted task's row"
    )
    run("rm", first)
    screen = term.wait_for(lambda s: "2 tasks" in s, what="the removed id to go")
    assert tail(first) not in table_rows(screen)
    assert not TRACEBACK.search(screen), screen


def test_speeding_up_polls_at_once_and_interval_toasts_leave_nothing_behind(sim, shared):
    open_dashboard, run = shared
    term = open_dashboard(imagine(sim, "a kite over the dunes"))
    term.wait_for(lambda s: "● ok" in s and "every 1s" in s, what="the dashboard polling")
    for _ in range(12):  # quickly, as in the issue: 1s -> 120s
        term.keys("-", pause=0.05)
    screen = term.wait_for(lambda s: "every 120s" in s, what="the slow interval")
    toast_lines = [line for line in screen.splitlines() if "Polling every" in line]
    assert len(toast_lines) <= 1, screen  # one toast that updates, not a column of twelve
    term.wait_for(lambda s: "polled 2s ago" in s, what="the last 1s-interval poll to pass")
    # The waiting poll is now armed for two minutes. Another shell adds an id: without the
    # re-arm it would wait those two minutes; `+` brings the next poll within a second.
    second = imagine(sim, "a lantern in the fog")
    run("add", second)
    time.sleep(3)
    assert tail(second) not in term.screen()  # polls every 120s: not seen yet
    for _ in range(8):
        term.keys("+", pause=0.05)
    term.wait_for(lambda s: tail(second) in s and "2 tasks" in s, timeout=10, what="a poll")
    term.wait_for(lambda s: "every 1s" in s, what="the interval back at 1 s")
    # 25 s later no toast and no piece of one is left on screen.
    time.sleep(25)
    screen = term.screen()
    assert "Polling every" not in screen, screen
    toast_edge = re.compile(r"▌ *$|▌ Polling|│ +\d+▌")
    assert not any(toast_edge.search(line) for line in screen.splitlines()), screen
    assert not TRACEBACK.search(screen), screen
