"""`mjdash press` and `mjdash retry` from a script: real `python -m mjdash` runs against the
simulator on 127.0.0.1 (a manual clock: its grids are finished, failures failed), checking
the lines, JSON lines, dry runs, the confirm rules, refusals and exit codes, the watchlist.
A real pseudo-terminal checks the question asked when stdin is a terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mjdash.sim.engine import ManualClock
from mjdash.store.watchlist import Watchlist
from tests.support.ptyterm import PtyProcess, child_env

KEY = "sk-press-cli-test-777"


@pytest.fixture
def world(sim_factory, tmp_path):
    """(server, clock, env for the child, watchlist path)."""
    clock = ManualClock()
    server = sim_factory(clock=clock)
    watchlist = tmp_path / "watchlist.toml"
    env = child_env(
        tmp_path / "home",
        COMETAPI_KEY=KEY,
        MJDASH_BASE_URL=server.url,
        MJDASH_WATCHLIST=str(watchlist),
    )
    return server, clock, env, watchlist


def mjdash(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mjdash", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def grids(server, clock, count: int) -> list[str]:
    ids = [server.engine.imagine(f"a lantern {n} --ar 3:2")["result"] for n in range(count)]
    clock.advance(600)
    return ids


def failed(server, clock, prompts: list[str]) -> list[str]:
    ids = [server.engine.imagine(f"{p} --fail")["result"] for p in prompts]
    clock.advance(600)
    return ids


def watch(path: Path, ids: list[str]) -> None:
    watchlist = Watchlist(path)
    watchlist.add(ids)
    watchlist.save()


def test_dry_run_prints_the_requests_sends_nothing_and_never_the_key(world):
    server, clock, env, watchlist = world
    ids = grids(server, clock, 3)
    before = len(server.engine)
    done = mjdash(env, "press", *ids, "--button", "U1", "--dry-run")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    for line, task_id in zip(lines, ids, strict=True):
        assert line.startswith(f"POST {server.url}/mj/submit/action ")
        body = json.loads(line.split(" ", 2)[2])
        assert body["taskId"] == task_id and body["customId"].startswith("MJ::JOB::upsample::1::")
    as_json = mjdash(env, "press", *ids, "--button", "U1", "--dry-run", "--json")
    requests = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r["method"] for r in requests] == ["POST"] * 3
    assert [r["body"]["taskId"] for r in requests] == ids
    for output in (done.stdout + done.stderr, as_json.stdout + as_json.stderr):
        assert KEY not in output
    assert len(server.engine) == before  # nothing was submitted
    assert not watchlist.exists()


def test_without_yes_and_no_terminal_nothing_is_sent(world):
    server, clock, env, _watchlist = world
    ids = grids(server, clock, 2)
    before = len(server.engine)
    done = mjdash(env, "press", *ids, "--button", "U1")
    assert done.returncode == 2
    assert "--yes" in done.stderr and "not sent" in done.stderr
    assert done.stdout == ""
    assert len(server.engine) == before


def test_press_with_yes_prints_one_line_per_task_and_watches_the_children(world):
    server, clock, env, watchlist = world
    ids = grids(server, clock, 3)
    done = mjdash(env, "press", *ids, "--button", "Upscale (Subtle)", "--yes", "--pace", "0")
    # A grid has no "Upscale (Subtle)": each is reported lacking, nothing to press.
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("no such button") == 3
    done = mjdash(env, "press", *ids, "--button", "U2", "--yes", "--pace", "0")
    assert done.returncode == 0, done.stderr
    rows = [line.split("  ") for line in done.stdout.splitlines()]
    assert [(parent, button) for _new, parent, button in rows] == [(i, "U2") for i in ids]
    saved = Watchlist.load(watchlist)
    for new, parent, _button in rows:
        assert server.engine.parent_of(new) == parent
        assert saved.get(new).parent == parent
        assert server.engine.task_json(new)["action"] == "UPSCALE"
    assert "3 jobs submitted" in done.stderr


def test_already_pressed_is_skipped_unless_again(world):
    server, clock, env, _watchlist = world
    ids = grids(server, clock, 2)
    first = mjdash(env, "press", *ids, "--button", "U1", "--yes", "--pace", "0", "--json")
    assert first.returncode == 0, first.stderr
    made = [json.loads(line) for line in first.stdout.splitlines()]
    assert [m["parent"] for m in made] == ids and all(m["ok"] for m in made)
    assert all(m["code"] == 1 and m["button"] == "U1" for m in made)
    count = len(server.engine)
    second = mjdash(env, "press", *ids, "--button", "U1", "--yes", "--pace", "0")
    assert second.returncode == 0 and second.stdout == ""
    assert second.stderr.count("already pressed") == 2 and "--again" in second.stderr
    assert len(server.engine) == count
    again = mjdash(env, "press", *ids, "--button", "U1", "--yes", "--pace", "0", "--again")
    assert again.returncode == 0, again.stderr
    assert len(again.stdout.splitlines()) == 2  # sent again (the server says it exists: 21)


def test_refusals_are_printed_with_their_code_and_exit_1(world):
    server, clock, env, _watchlist = world
    ids = grids(server, clock, 2)
    server.engine.force_code = 23
    done = mjdash(env, "press", *ids, "--button", "U4", "--yes", "--pace", "0")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"error (23 queue full, try again later)  {task_id}  U4" for task_id in ids
    ]
    assert "2 refused" in done.stderr
    server.engine.force_code = 24
    as_json = mjdash(env, "press", ids[0], "--button", "U4", "--yes", "--json")
    (line,) = [json.loads(text) for text in as_json.stdout.splitlines()]
    assert as_json.returncode == 1
    assert (line["ok"], line["code"], line["task_id"]) == (False, 24, None)
    assert line["error"].startswith("24 banned")


def test_all_grids_presses_only_the_finished_grids_of_the_watchlist(world):
    server, clock, env, watchlist = world
    grid_ids = grids(server, clock, 2)
    bad = failed(server, clock, ["a broken kite"])
    watch(watchlist, [*grid_ids, *bad])
    done = mjdash(env, "press", "--all-grids", "--button", "all four", "--yes", "--pace", "0")
    assert done.returncode == 0, done.stderr
    rows = [line.split("  ") for line in done.stdout.splitlines()]
    expected = [(g, f"U{n}") for g in grid_ids for n in range(1, 5)]
    assert [(parent, button) for _new, parent, button in rows] == expected
    assert bad[0] not in done.stdout + done.stderr


def test_all_grids_on_a_server_without_buttons_says_so_and_exits_1(sim_factory, tmp_path):
    # novicezk's midjourney-proxy v2 has no /submit/action and sends no buttons (docs/api.md).
    clock = ManualClock()
    server = sim_factory(clock=clock, flavor="novicezk")
    watchlist = tmp_path / "watchlist.toml"
    env = child_env(
        tmp_path / "home",
        COMETAPI_KEY=KEY,
        MJDASH_BASE_URL=server.url,
        MJDASH_WATCHLIST=str(watchlist),
    )
    config = tmp_path / "proxy.toml"
    config.write_text('[api]\nauth = "mj-api-secret"\n', encoding="utf-8")
    watch(watchlist, grids(server, clock, 2))
    done = mjdash(env, "--config", str(config), "press", "--all-grids", "--button", "U1", "--yes")
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert "no finished grid (a task with U1-U4) among the 2 watched tasks" in done.stderr
    assert "this server sends no buttons" in done.stderr
    assert server.stats()["routes"]["action"] == 0


def test_retry_failed_resubmits_the_prompts_linked_and_reports_a_refusal(world):
    server, clock, env, watchlist = world
    old = failed(server, clock, ["a paper crane --ar 2:3", "a forbidden zebra"])
    fine = grids(server, clock, 1)
    watch(watchlist, [*old, *fine])
    server.engine.banned_words.add("zebra")  # the second prompt is refused this time
    done = mjdash(env, "retry", "--failed", "--yes", "--pace", "0", "--json")
    assert done.returncode == 1, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert (first["ok"], first["retry_of"], first["button"]) == (True, old[0], "retry")
    assert first["prompt"] == "a paper crane --ar 2:3 --fail"
    new = server.engine.task_json(first["task_id"])
    assert (new["action"], new["prompt"]) == ("IMAGINE", "a paper crane --ar 2:3 --fail")
    assert (second["ok"], second["code"], second["parent"]) == (False, 24, old[1])
    saved = Watchlist.load(watchlist)
    entry = saved.get(first["task_id"])
    assert (entry.parent, entry.retry_of) == (old[0], old[0])
    assert saved.get(old[0]).dismissed and not saved.get(old[1]).dismissed
    # Retried once: a second sweep leaves it (the refused one is tried again).
    server.engine.banned_words.discard("zebra")
    again = mjdash(env, "retry", "--failed", "--yes", "--pace", "0")
    assert again.returncode == 0, again.stderr
    assert [line.split("  ")[1:] for line in again.stdout.splitlines()] == [[old[1], "retry"]]


def test_retry_by_id_says_why_a_finished_task_is_not_retried(world):
    server, clock, env, _watchlist = world
    (fine,) = grids(server, clock, 1)
    done = mjdash(env, "retry", fine, "--yes")
    assert done.returncode == 1
    assert "SUCCESS, not failed or stalled" in done.stderr and done.stdout == ""


def test_usage_errors_and_an_unreachable_server(world, tmp_path):
    server, clock, env, _watchlist = world
    (grid,) = grids(server, clock, 1)
    missing_button = mjdash(env, "press", grid)
    assert missing_button.returncode == 2 and "--button" in missing_button.stderr
    both = mjdash(env, "press", grid, "--all-grids", "--button", "U1")
    assert both.returncode == 2
    not_an_id = mjdash(env, "retry", "12ab", "--yes")
    assert not_an_id.returncode == 2 and "not a task id" in not_an_id.stderr
    nowhere = dict(env, MJDASH_BASE_URL="http://127.0.0.1:9")
    down = mjdash(nowhere, "press", grid, "--button", "U1", "--yes")
    assert down.returncode == 4 and down.stdout == ""


def test_a_terminal_is_asked_and_over_the_cap_the_number_must_be_typed(world, tmp_path):
    server, clock, env, watchlist = world
    ids = grids(server, clock, 3)
    config = tmp_path / "config.toml"
    config.write_text("[act]\nconfirm_over = 2\n")
    env = dict(env, MJDASH_CONFIG=str(config))
    argv = [sys.executable, "-m", "mjdash", "press", *ids, "--button", "U1", "--pace", "0"]
    before = len(server.engine)
    with PtyProcess(argv, env=env) as term:
        term.wait_for("type 3 to confirm")
        term.send("y\r")  # a "y" is not the number: refused
        term.wait_for("not confirmed")
        assert term.wait() == 2
    assert len(server.engine) == before
    with PtyProcess(argv, env=env) as term:
        term.wait_for("press U1: 3 jobs on 3 tasks")
        term.send("3\r")
        term.wait_for("3 jobs submitted")
        assert term.wait() == 0
    assert len(server.engine) == before + 3
    assert len(Watchlist.load(watchlist)) == 6
