"""The `mjdash` command, run as a subprocess against the simulator on a loopback port.

Every run goes through `Runner`, which also checks what must hold for any command: no
traceback on stderr, and the key's value nowhere in the output.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mjdash import __version__, cli
from mjdash.model.report import (
    Counts,
    Row,
    TemplateError,
    check_template,
    fit,
    render_table,
)
from mjdash.model.task import Status, Task
from mjdash.store.cache import TaskCache

KEY = "sk-test-9f8e7d6c5b4a"  # distinctive, so a leak is easy to spot
PYTHON = [sys.executable, "-m", "mjdash"]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def lines(self) -> list[str]:
        return self.out.splitlines()

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.lines()]


class Runner:
    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path
        self.env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("MJDASH_") and name not in ("COMETAPI_KEY", "NO_COLOR")
        }
        for name in ("CONFIG", "DATA", "CACHE", "STATE"):
            self.env[f"XDG_{name}_HOME"] = str(tmp_path / name.lower())
        self.env["COMETAPI_KEY"] = KEY
        self.env["COLUMNS"] = "160"
        self.secrets = [KEY]

    @property
    def watchlist(self) -> Path:
        return self.home / "data" / "mjdash" / "watchlist.toml"

    @property
    def cache(self) -> Path:
        return self.home / "cache" / "mjdash" / "tasks.sqlite3"

    def __call__(
        self, *args: str, stdin: str = "", timeout: float = 30, **env: str | None
    ) -> Result:
        run_env = dict(self.env)
        for name, value in env.items():
            if value is None:
                run_env.pop(name, None)
            else:
                run_env[name] = value
        done = subprocess.run(
            [*PYTHON, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=run_env,
            timeout=timeout,
        )
        result = Result(done.returncode, done.stdout, done.stderr)
        assert "Traceback" not in result.err, result.err
        for secret in self.secrets:
            assert secret not in result.out and secret not in result.err
        return result


@pytest.fixture
def run(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def imagine(sim, prompt: str) -> str:
    answer = sim.engine.imagine(prompt)
    assert answer["code"] == 1, answer
    return answer["result"]


def wait_finished(sim, ids: list[str], limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if all(sim.engine.status(i) in ("SUCCESS", "FAILURE") for i in ids):
            return
        time.sleep(0.05)
    raise AssertionError("the simulator did not finish the tasks")


# --- basics ---------------------------------------------------------------------------------


def test_version_and_help(run: Runner) -> None:
    assert run("--version").out.strip() == f"mjdash {__version__}"
    assert run("ls", "--version").out.strip() == f"mjdash {__version__}"
    top = run("--help")
    assert top.code == 0
    for word in ("demo", "status", "add", "rm", "ls", "sim", "COMETAPI_KEY", "exit status"):
        assert word in top.out
    status = run("status", "--help")
    assert status.code == 0 and "--exit-status" in status.out and "{done}" in status.out


@pytest.mark.parametrize(
    "args",
    [
        ("123",),
        ("add", "12345"),
        ("status", "abc"),
        ("rm", "1773314942177684x"),
        ("add", "--parent", "77", "1773314942177684"),
    ],
)
def test_bad_ids_are_usage_errors(run: Runner, args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.code == 2
    assert result.err.startswith("mjdash: ") and "not a task id" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_unknown_option_is_one_line_exit_2(run: Runner) -> None:
    result = run("status", "--colour")
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "mjdash: unrecognized arguments: --colour (see `mjdash status --help`)"
    ]


def test_missing_key_exits_3_naming_the_variable(run: Runner, sim) -> None:
    for args in (("status", "1773314942177684"), ("1773314942177684",)):
        result = run(*args, COMETAPI_KEY=None, MJDASH_BASE_URL=sim.url)
        assert result.code == 3
        assert "set COMETAPI_KEY" in result.err
    # The variable's name comes from the config.
    config = run.home / "config.toml"
    config.write_text('[api]\nkey_env = "MY_MJ_KEY"\n')
    result = run("--config", str(config), "status", "1773314942177684", MJDASH_BASE_URL=sim.url)
    assert result.code == 3 and "set MY_MJ_KEY" in result.err
    assert sim.stats()["total"] == 0  # no request without a key


def test_wrong_key_exits_3_at_once(run: Runner, sim_factory) -> None:
    sim = sim_factory(key="right-key-5a6b7c")
    task_id = imagine(sim, "a lighthouse")
    run.secrets.append("right-key-5a6b7c")
    result = run("status", task_id, "--base-url", sim.url, COMETAPI_KEY="wrong-key-0d1e2f")
    assert result.code == 3
    assert "COMETAPI_KEY" in result.err and "rejected" in result.err
    assert "wrong-key-0d1e2f" not in result.err + result.out
    # "At once": no retry of a rejected key but one try with the other header style (a first 401
    # may be a header mismatch); how soon: tests/perf/bench_components.py.
    assert sim.stats()["total"] == 2


def test_unreachable_server_exits_4_naming_the_url(run: Runner) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    # It gives up by itself (the runner's 30 s timeout fails a hang); how soon is measured in
    # tests/perf/bench_components.py.
    result = run("status", "1773314942177684", "--timeout", "1.5", "--base-url", url)
    assert result.code == 4
    assert f"server unreachable at {url}" in result.err


def test_bad_config_file_exits_2_with_file_and_line(run: Runner) -> None:
    config = run.home / "config.toml"
    config.write_text('[api]\nbase_url = "https://api.cometapi.com"\n\n[poll]\ninterval = "fast"\n')
    result = run("--config", str(config), "ls")
    assert result.code == 2
    assert f"{config}:5:" in result.err and "poll.interval" in result.err
    # MJDASH_CONFIG is read the same way; a TOML syntax error names its place too.
    config.write_text("[api\n")
    result = run("ls", MJDASH_CONFIG=str(config))
    assert result.code == 2 and f"{config}:1:" in result.err


def test_bad_interval_and_format_are_usage_errors(run: Runner) -> None:
    result = run("--interval", "0", "ls")
    assert result.code == 2 and "--interval" in result.err
    result = run("status", "--format", "{done}/{totl}", "1773314942177684")
    assert result.code == 2
    assert "{totl}" in result.err and "{total}" in result.err and "{modal}" in result.err


def test_dashboard_and_demo_need_a_terminal(run: Runner) -> None:
    for args in (("demo",), ("1773314942177684",)):
        result = run(*args)
        assert result.code == 2 and "needs a terminal" in result.err
    assert not run.watchlist.exists()  # nothing was added for a dashboard that did not open


# --- the watchlist --------------------------------------------------------------------------


def test_add_rm_ls_round_trip_with_options_on_either_side(run: Runner, tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    a, b, c = "1773314942177684", "1773314942177685", "17733149421776860000"
    assert run("--watchlist", str(path), "add", a, b).code == 0
    added = run("add", b, c, "--label", "hero shot", "--watchlist", str(path))
    assert added.code == 0 and "added 1 (1 already watched)" in added.out
    listed = run("ls", "--json", "--watchlist", str(path)).json_lines()
    assert [e["id"] for e in listed] == [a, b, c]
    assert listed[2]["label"] == "hero shot" and listed[0]["label"] == ""
    assert datetime.fromisoformat(listed[0]["added"]).tzinfo is not None
    table = run("--watchlist", str(path), "ls").lines()
    assert table[0].split()[:2] == ["ID", "ADDED"] and "hero shot" in table[3]

    removed = run("rm", a, "1773314942177699", "--watchlist", str(path))
    assert removed.code == 0 and "removed 1" in removed.out
    assert "not watched: 1773314942177699" in removed.err
    none = run("rm", a, "--watchlist", str(path))
    assert none.code == 2 and "none of the ids" in none.err
    assert [e["id"] for e in run("ls", "--json", MJDASH_WATCHLIST=str(path)).json_lines()] == [
        b,
        c,
    ]
    assert not run.watchlist.exists()  # the default file was never touched


def test_add_from_stdin_finds_every_id(run: Runner) -> None:
    ids = ["1773314942177684", "1773314950123456", "1773315000654321"]
    text = (
        f'{{"code":1,"description":"Submit success","result":"{ids[0]}","properties":{{}}}}\n'
        f"preview: https://api.cometapi.com/mj/image/{ids[1]}?rand=1773314999999999\n"
        f"2026-03-12 10:11:12 INFO task {ids[2]} finished (SUCCESS)\n"
    )
    result = run("add", "-", stdin=text)
    assert result.code == 0
    assert "found 3 task ids; added 3" in result.out
    assert [e["id"] for e in run("ls", "--json").json_lines()] == ids
    again = run("add", "-", stdin=text)
    assert "added 0 (3 already watched)" in again.out

    nothing = run("add", "-", stdin="no ids here, only 12345 and rand=1773314999999999")
    assert nothing.code == 2 and "no task ids found" in nothing.err


def test_corrupt_watchlist_is_reported_not_overwritten(run: Runner) -> None:
    run.watchlist.parent.mkdir(parents=True)
    run.watchlist.write_text("version = 1\n[[tasks]\n")
    result = run("add", "1773314942177684")
    assert result.code == 2 and f"{run.watchlist}:2:" in result.err
    assert run.watchlist.read_text() == "version = 1\n[[tasks]\n"


# --- status ---------------------------------------------------------------------------------


def test_status_table_json_and_format(run: Runner, sim) -> None:
    done = imagine(sim, "a red fox in snow")
    failed = imagine(sim, "broken --fail")
    wait_finished(sim, [done, failed])
    running = sim.engine.seed_tasks(1)[0]
    missing = "1773314942177684"
    run("add", done, failed, missing)
    run.env["MJDASH_BASE_URL"] = sim.url

    table = run("status")
    assert table.code == 0
    lines = table.lines()
    assert lines[0].split() == ["ID", "ACTION", "STATUS", "PROG", "ELAPSED", "PROMPT"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert list(rows) == [done, failed, missing]
    assert "SUCCESS" in rows[done] and "a red fox in snow" in rows[done]
    assert "FAILURE" in rows[failed] and "Invalid parameter" in rows[failed]
    assert "not found" in rows[missing]
    assert "\x1b" not in table.out  # no colours into a pipe

    objects = {o["id"]: o for o in run("status", "--json").json_lines()}
    assert objects[done]["status"] == "SUCCESS" and objects[done]["progress"] == 100
    assert objects[done]["action"] == "IMAGINE" and objects[done]["prompt"] == "a red fox in snow"
    assert datetime.fromisoformat(objects[done]["finishTime"]) <= datetime.now(UTC)
    assert {"name": "U1"}.items() <= objects[done]["buttons"][0].items()
    assert objects[done]["buttons"][0]["customId"].startswith("MJ::JOB::upsample::1::")
    assert objects[failed]["failReason"] == "[Invalid parameter] Invalid value"
    assert objects[missing] == {"id": missing, "error": "not found"}

    assert run("status", "--format", "{done}/{total} failed:{failed}").out == "1/3 failed:1\n"
    assert run("status", "--exit-status").code == 1

    # Ids given are polled but not added; the watchlist stays as it was.
    given = run("status", "--json", running)
    assert [o["id"] for o in given.json_lines()] == [running]
    assert [e["id"] for e in run("ls", "--json").json_lines()] == [done, failed, missing]

    # The fetched tasks are in the cache the dashboard starts from.
    with TaskCache(run.cache, server=sim.url) as cache:
        cached = cache.load([done, failed, running])
    assert cached[done].status is Status.SUCCESS and cached[failed].status is Status.FAILURE
    assert running in cached


def test_status_watch_exit_status(run: Runner, sim) -> None:
    good = [imagine(sim, "a calm lake"), imagine(sim, "a quiet forest")]
    bad = imagine(sim, "this one breaks --fail")
    run.env["MJDASH_BASE_URL"] = sim.url
    common = ("status", "--watch", "--exit-status", "--interval", "0.5")

    ok = run(*common, *good, "--json", timeout=20)
    assert ok.code == 0
    final = {}
    for obj in ok.json_lines():  # a line each time a task changed; the last one is final
        final[obj["id"]] = obj
    assert set(final) == set(good)
    assert all(o["status"] == "SUCCESS" for o in final.values())

    failing = run(*common, *good, bad, timeout=20)
    assert failing.code == 1
    last_table = failing.out.strip().split("\n\n")[-1].splitlines()
    assert any(bad in line and "FAILURE" in line for line in last_table)


def test_status_empty_watchlist(run: Runner) -> None:
    result = run("status", "--format", "{done}/{total}", COMETAPI_KEY=None)
    assert result.code == 0 and result.out == "0/0\n"
    assert "watchlist is empty" in result.err


def test_status_prints_hostile_server_text_inert(run: Runner, sim_factory) -> None:
    sim = sim_factory(hostile=True)
    ids = sim.seeded_ids
    result = run("status", *ids, "--base-url", sim.url)
    assert result.code == 0
    assert len(result.lines()) == len(ids) + 1
    for bad in ("\x1b", "\x07", "\x00", "\r", "\u202e"):
        assert bad not in result.out
    assert all(len(line) <= 160 for line in result.lines())
    as_json = run("status", "--json", *ids, "--base-url", sim.url)
    assert as_json.out.isascii() and len(as_json.json_lines()) == len(ids)


# --- the simulator command ------------------------------------------------------------------


def test_sim_command_serves_and_stops_quietly_on_ctrl_c(run: Runner) -> None:
    process = subprocess.Popen(
        [*PYTHON, "sim", "--port", "0", "--speed", "50", "--demo", "--key", "sim-key-42"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=run.env,
    )
    try:
        first = process.stdout.readline()
        assert first.startswith("mjdash simulator on http://127.0.0.1:")
        url = first.split()[-1]
        while "Ctrl+C" not in process.stdout.readline():
            pass
        result = run("status", "--format", "{total}", "--base-url", url, COMETAPI_KEY="sim-key-42")
        assert result.code == 0  # the demo batch is there, in the watchlist or not
        seeded = json.loads(urllib.request.urlopen(url + "/_sim/tasks").read())
        table = run("status", "--json", *seeded[:3], "--base-url", url, COMETAPI_KEY="sim-key-42")
        assert table.code == 0 and len(table.json_lines()) == 3
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Traceback" not in err


def test_sim_command_refuses_a_bad_fault_spec(run: Runner) -> None:
    result = run("sim", "--port", "0", "--faults", "429=2")
    assert result.code == 2 and "--faults" in result.err


# --- in-process: the error wrapper and the formatting ---------------------------------------


def test_unexpected_errors_are_one_line_with_the_key_redacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COMETAPI_KEY", KEY)

    def explode(args, session) -> int:
        raise RuntimeError(f"boom near {KEY}")

    monkeypatch.setitem(cli._HANDLERS, "ls", explode)
    assert cli.main(["ls"]) == 1
    err = capsys.readouterr().err
    assert err == "mjdash: internal error: RuntimeError: boom near ***\n"

    def interrupt(args, session) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(cli._HANDLERS, "ls", interrupt)
    assert cli.main(["ls"]) == 130
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("argv", "command", "rest"),
    [
        (["ls"], "ls", []),
        (["--watchlist", "ls", "ls"], "ls", ["--watchlist", "ls"]),
        (["--interval=2", "status", "--json"], "status", ["--interval=2", "--json"]),
        (["1773314942177684", "status"], None, ["1773314942177684", "status"]),
        (["--", "ls"], None, ["--", "ls"]),
        ([], None, []),
    ],
)
def test_split_command(argv: list[str], command: str | None, rest: list[str]) -> None:
    assert cli.split_command(argv) == (command, rest)


def test_template_check() -> None:
    check_template("{done}/{total} {failed:>3}")
    for bad in ("{}", "{0}", "{done.real}", "{done", "{nope}", "{total:q}"):
        with pytest.raises(TemplateError):
            check_template(bad)


def test_fit_counts_wide_characters() -> None:
    assert fit("short", 10) == "short"
    assert fit("a\nb\tc", 10) == "a b c"
    assert fit("上游任务超时", 7) == "上游任…"
    assert fit("abcdefghij", 5) == "abcd…"


def test_table_stays_within_the_width() -> None:
    now = datetime.now(UTC)
    rows = [
        Row("1773314942177684", Task("1773314942177684", Status.IN_PROGRESS, "IN_PROGRESS",
            "IMAGINE", 58, prompt="猫" * 300)),
        Row("1773314942177685", None, "not found"),
    ]  # fmt: skip
    for width in (60, 100, 200):
        lines = render_table(rows, width=width, now=now, color=False)
        assert all(sum(2 if ch == "猫" else 1 for ch in line) <= width for line in lines)
    colored = render_table(rows, width=100, now=now, color=True)
    assert "\x1b[34m" in colored[1] and "\x1b" not in colored[2]
    assert Counts.of(rows) == Counts(total=2, running=1, missing=1)


def test_counts_group_like_the_dashboard() -> None:
    def row(status: Status) -> Row:
        return Row("1773314942177684", Task("1773314942177684", status, status.value))

    statuses = [Status.SUCCESS, Status.FAILURE, Status.CANCEL, Status.MODAL, Status.SUBMITTED]
    counts = Counts.of([row(s) for s in statuses])
    assert counts == Counts(total=5, done=1, failed=2, modal=1, queued=1)
