"""K1 (docs/reliability.md): a crash with the key in scope; the key appears nowhere, and
mjdash's files are private.

The dashboard runs for real (the `mjdash` CLI in a pseudo-terminal, against the simulator) with
failures injected where the key is a local variable and part of the message. Afterwards the key
must not be in the bytes written to the terminal (the scrollback), in any log (Python logging at
DEBUG, Textual's TEXTUAL_LOG) or in any file under the XDG data/cache/state/config dirs.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mjdash.model.secret import Secret
from mjdash.sim.server import SimServer
from mjdash.ui.crash import AppCrash, crash_line, redacted, secrets_of
from tests.support.ptyterm import ROOT, PtyProcess, child_env

KEY = "sk-live-K1-7f3a9c2e5b8d4106"  # distinctive: any leak is easy to find

# The dashboard through the real CLI, with three failures injected, each holding the key:
# 1. the client's fetch_many raises (the poller turns it into "unexpected error"),
# 2. once the polls work, the poll worker itself raises (the app notifies "poll failed"),
# 3. when the test says so (a trigger file), the once-a-second tick raises: Textual's
#    unhandled-exception path, which by default prints a traceback with every local.
_DRIVER = r"""
import logging, os, sys
os.umask(0o002)  # a loose umask: mjdash's files must be private all the same
logging.basicConfig(filename=os.environ["K1_PYTHON_LOG"], level=logging.DEBUG)
from mjdash import cli
from mjdash.net.client import MidjourneyClient
from mjdash.net.poller import Poller
from mjdash.ui.app import MjdashApp

trigger = os.environ["K1_TRIGGER"]
state = {"fetches": 0, "polls": 0}
real_fetch_many = MidjourneyClient.fetch_many
real_poll_once = Poller.poll_once
real_tick = MjdashApp.tick

async def fetch_many(self, ids):
    state["fetches"] += 1
    key = self._key.reveal()
    headers = dict(self._auth_headers)
    if state["fetches"] <= 2:
        raise RuntimeError(f"fetch crashed holding {key} and {headers}")
    return await real_fetch_many(self, ids)

async def poll_once(self, force=False):
    result = await real_poll_once(self, force)
    state["polls"] += 1
    if state["fetches"] > 2 and state.get("worker") is None and result.tasks:
        state["worker"] = True
        key = self._client._key.reveal()
        raise RuntimeError(f"poll worker crashed holding {key}")
    return result

def tick(self):
    real_tick(self)
    if os.path.exists(trigger):
        key = self.client._key.reveal()
        secret_headers = self.client._auth_headers
        raise RuntimeError(f"tick crashed holding {key}")

MidjourneyClient.fetch_many = fetch_many
Poller.poll_once = poll_once
MjdashApp.tick = tick
raise SystemExit(cli.main(sys.argv[1:]))
"""


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _assert_private(home: Path) -> list[str]:
    """Every file mjdash made under the XDG dirs is 0600, every folder of its own 0700."""
    checked = []
    for name in ("data", "cache", "state", "config"):
        base = home / name / "mjdash"
        if not base.exists():
            continue
        assert stat.S_IMODE(base.stat().st_mode) == 0o700, base
        for path in _files_under(base):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path, oct(path.stat().st_mode))
            checked.append(path.name)
    return checked


def test_K1_crashes_in_a_real_terminal_never_show_the_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    state = home / "state"
    state.mkdir()
    python_log = state / "python.log"
    textual_log = state / "textual.log"
    trigger = tmp_path / "crash-now"
    env = child_env(
        home,
        COMETAPI_KEY=KEY,
        K1_PYTHON_LOG=str(python_log),
        K1_TRIGGER=str(trigger),
        TEXTUAL_LOG=str(textual_log),
    )
    with SimServer(demo=True, speed=50, fail_rate=0.0) as sim:
        ids = sim.seeded_ids
        argv = ["--base-url", sim.url, "--interval", "0.5", *ids]
        with PtyProcess.python(_DRIVER, *argv, env=env, size=(150, 40)) as app:
            app.wait_for("unexpected error")  # 1: the poller kept the app alive
            app.wait_for("poll failed: RuntimeError")  # 2: the worker failed, app still up
            assert app.process.poll() is None
            # While it runs, the files it writes exist (the cache's -wal and -shm included).
            private = _assert_private(home)
            assert {"watchlist.toml", "watchlist.toml.lock", "tasks.sqlite3"} <= set(private)
            assert {"tasks.sqlite3-wal", "tasks.sqlite3-shm"} <= set(private)
            mark = app.mark()
            trigger.touch()  # 3: an unhandled crash
            app.wait_for("mjdash crashed: RuntimeError", since=mark)
            assert app.wait() == 1
            terminal = app.output

    shown = app.text
    assert "tick crashed holding ***" in shown  # redacted, not dropped
    assert "Traceback" not in shown and "locals" not in shown
    assert KEY.encode() not in terminal
    assert python_log.exists() and textual_log.exists()  # the logs were really written
    everything = [p for p in _files_under(home)]
    assert any(p.name == "watchlist.toml" for p in everything)
    for path in everything:
        assert KEY.encode() not in path.read_bytes(), path
    # The ids survived the crash.
    watchlist = (home / "data" / "mjdash" / "watchlist.toml").read_text()
    assert all(task_id in watchlist for task_id in ids)


def test_K1_cli_internal_error_in_a_terminal_is_one_redacted_line(tmp_path: Path) -> None:
    driver = (
        "import sys\n"
        "from mjdash import cli\n"
        "import mjdash.ui.run as run\n"
        "def run_dashboard(app):\n"
        "    key = app.client._key.reveal()\n"
        "    raise RuntimeError(f'could not start with {key}')\n"
        "run.run_dashboard = run_dashboard\n"
        "raise SystemExit(cli.main(sys.argv[1:]))\n"
    )
    env = child_env(tmp_path, COMETAPI_KEY=KEY)
    with PtyProcess.python(driver, "--base-url", "http://127.0.0.1:9", env=env) as app:
        assert app.wait() == 1
    shown = app.text.strip()
    assert shown == "mjdash: internal error: RuntimeError: could not start with ***"
    assert KEY.encode() not in app.output


def test_K1_crash_line_is_one_redacted_line_without_locals() -> None:
    secret = Secret(KEY)

    def poll_with_the_key() -> None:
        key = secret.reveal()  # noqa: F841 - a local the old crash screen would print
        raise ValueError(f"bad answer for {KEY}\n\x1b[31m[bold]x[/]")

    with pytest.raises(ValueError) as caught:
        poll_with_the_key()
    error = caught.value
    line = crash_line(error, [secret])
    crash = redacted(error, [None, secret])
    assert line.startswith("mjdash crashed: ValueError: bad answer for ***")
    assert "\n" not in line and "\x1b" not in line and KEY not in line
    assert isinstance(crash, AppCrash) and crash.line == line and crash.__cause__ is error
    assert crash.__rich__().plain == line  # Text, not markup: "[bold]" stays literal
    assert "[bold]x[/]" in line

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert crash_line(Unprintable(), []) == "mjdash crashed: Unprintable"


def test_K1_secrets_of_finds_the_client_key_and_the_environment(monkeypatch) -> None:
    class Client:
        _key = Secret("from-the-client")

    monkeypatch.setenv("MY_KEY", "  from-the-env  ")
    found = secrets_of(Client(), "MY_KEY")
    assert [s.reveal() for s in found] == ["from-the-client", "from-the-env"]
    assert secrets_of(None, "") == []


def test_files_written_by_the_cli_are_private_whatever_the_umask(tmp_path: Path, sim) -> None:
    task_id = sim.engine.imagine("a private prompt")["result"]
    env = child_env(tmp_path, COMETAPI_KEY=KEY)
    code = "import os, sys; os.umask(0); from mjdash import cli; raise SystemExit(cli.main())"
    for args in (["add", task_id], ["status", "--base-url", sim.url]):
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        assert KEY not in done.stdout + done.stderr
    private = _assert_private(tmp_path)
    assert {"watchlist.toml", "watchlist.toml.lock", "tasks.sqlite3"} <= set(private)
    for path in _files_under(tmp_path):
        assert KEY.encode() not in path.read_bytes()
    assert not re.search(r"\.tmp-", " ".join(private))
    assert os.path.exists(tmp_path / "data" / "mjdash" / "watchlist.toml")
