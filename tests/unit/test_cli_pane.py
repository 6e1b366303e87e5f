"""The command line after a newcomer's afternoon (issue 16): typo'd commands, help that says
each thing once, submit --file comments, status words and buckets, the --watch summary, a name
that does not resolve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mjdash.model.report import FORMAT_FIELDS
from mjdash.store.watchlist import Watchlist
from tests.unit.test_cli import Runner, imagine, wait_finished

ALL_FIELDS = " ".join(f"{name}={{{name}}}" for name in FORMAT_FIELDS)
UNKNOWN_ID = "1773314942177999"  # the simulator never made it: "not found"


@pytest.fixture
def run(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


def fields(line: str) -> dict[str, int]:
    return {k: int(v) for k, v in (pair.split("=") for pair in line.split())}


def test_a_misspelt_command_suggests_the_right_one(run: Runner) -> None:
    result = run("stauts")
    assert result.code == 2
    assert result.err.strip() == (
        "mjdash: unknown command 'stauts'; did you mean `mjdash status`? (see `mjdash --help`)"
    )
    assert "did you mean `mjdash submit`" in run("--watchlist", "w.toml", "sumbit").err
    plain = run("1773314942177684x")  # not close to any command: the id check speaks
    assert plain.code == 2 and "not a task id" in plain.err


def test_common_options_are_described_once_in_the_top_help(run: Runner) -> None:
    top = run("--help").out
    config_default = run.home / "config" / "mjdash" / "config.toml"
    watchlist_default = run.home / "data" / "mjdash" / "watchlist.toml"
    flat = "".join(top.split())  # argparse may break a long path anywhere
    assert f"else{config_default})" in flat
    assert f"else{watchlist_default})" in flat
    for command in ("status", "add", "rm", "ls", "submit", "export", "demo"):
        sub = run(command, "--help")
        assert sub.code == 0
        options = [line.split()[0] for line in sub.lines() if line.startswith("  -")]
        assert "--version" in options
        for common in ("--config", "--watchlist", "--base-url", "--interval"):
            assert common not in options and f"[{common}" not in sub.out  # nor in usage
        assert "COMETAPI_KEY" not in sub.out and "0 ok, 1 a task" not in sub.out
        assert "see `mjdash --help`" in sub.out
        assert len(sub.out.splitlines()) < len(top.splitlines()) + 30
    sim = run("sim", "--help").out
    for option in ("--config", "--watchlist", "--base-url", "--interval", "--json"):
        assert option not in sim
    # The common options still work after any command but sim.
    assert run("ls", "--watchlist", str(run.home / "w.toml")).code == 0
    assert run("sim", "--watchlist", "w.toml").code == 2


def test_submit_file_skips_blank_lines_and_comments(run: Runner, sim) -> None:
    prompts = run.home / "prompts.txt"
    prompts.write_text("# tonight's batch\n\n   \na red fox in snow\n  # not this either\n")
    result = run("submit", "--file", str(prompts), "--pace", "0", "--base-url", sim.url)
    assert result.code == 0, result.err
    assert [line.split("  ", 1)[1] for line in result.lines()] == ["a red fox in snow"]
    assert sim.stats()["routes"]["imagine"] == 1
    assert "1 task submitted; watching it in" in result.err


def test_status_words_and_buckets_that_add_up(run: Runner, sim) -> None:
    done = imagine(sim, "a calm lake")
    failed = imagine(sim, "this one breaks --fail")
    wait_finished(sim, [done, failed])
    assert run("add", done, failed, UNKNOWN_ID).code == 0
    live = run("status", "--format", ALL_FIELDS, "--base-url", sim.url)
    assert live.code == 0, live.err
    counts = fields(live.out)
    assert counts["total"] == 3 and (counts["done"], counts["failed"], counts["missing"]) == (
        1,
        1,
        1,
    )
    assert sum(v for k, v in counts.items() if k != "total") == counts["total"]

    never = "1773314942177001"
    assert run("add", never).code == 0
    server = ("--base-url", sim.url)  # the cache answers for the server it came from
    cached = run("status", "--cached", "--format", ALL_FIELDS, *server, COMETAPI_KEY=None)
    counts = fields(cached.out)
    # The cache kept the server's "not found": the same buckets as the live answer, plus the
    # id never polled.
    assert counts["total"] == 4 and (counts["unpolled"], counts["missing"]) == (1, 1)
    assert sum(v for k, v in counts.items() if k != "total") == counts["total"]
    table = run("status", "--cached", *server, COMETAPI_KEY=None)
    line = next(x for x in table.lines() if x.startswith(never))
    assert "not polled yet" in line and "unreadable" not in table.out
    assert any(x.startswith(UNKNOWN_ID) and "not found" in x for x in table.lines())
    live_table = run("status", "--base-url", sim.url)
    assert any(x.startswith(UNKNOWN_ID) and "not found" in x for x in live_table.lines())
    assert "unreadable" not in live_table.out
    help_text = " ".join(run("status", "--help").out.split())
    for name in FORMAT_FIELDS:
        assert "{" + name + "}" in help_text
    assert "exactly one" in help_text


def test_status_watch_ends_with_a_summary_line(run: Runner, sim) -> None:
    good = imagine(sim, "a quiet forest")
    bad = imagine(sim, "this one breaks --fail")
    args = ("status", "--watch", "--interval", "0.5", "--base-url", sim.url, good, bad)
    table = run(*args, timeout=30)
    assert table.code == 0, table.err
    assert table.lines()[-1] == "2 tasks: 1 done, 1 failed"
    as_json = run(*args, "--json", timeout=30)
    assert all(json.loads(line) for line in as_json.lines())  # stdout stays JSON lines
    assert as_json.err.strip().splitlines()[-1] == "mjdash: 2 tasks: 1 done, 1 failed"


def test_a_name_that_does_not_resolve_fails_at_once(run: Runner) -> None:
    # .invalid never resolves (RFC 2606); the resolver answers without leaving the machine.
    # --timeout 600 with a 30 s limit on the run: retrying until the timeout cannot pass.
    url = "https://mjdash-test.invalid"
    result = run("status", "1773314942177684", "--timeout", "600", "--base-url", url, timeout=30)
    assert result.code == 4
    assert "mjdash-test.invalid does not resolve" in result.err
    assert Watchlist.load(run.watchlist).ids == []
