"""Issue 13's dashboard rows (docs/hardening.md): A5 quitting after a failed save, A6 a save
waiting for another process's lock, A7 additions on disk before the toast, A8 unusable answers
said on the row, in the detail pane and in the status line.

The saves fail for real: the watchlist file is replaced by a folder while the dashboard runs
(chmod does not stop root, a folder does), and the lock is held through the store's own
`exclusive_lock` from another thread (flock excludes another open file in the same process).
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from textual.pilot import Pilot

from mjdash.sim.server import SimServer
from mjdash.store.atomic import exclusive_lock
from mjdash.ui.app import MjdashApp
from mjdash.ui.screens import AddScreen, ConfirmScreen, HelpScreen, PasteArea
from tests.support.faultserver import FaultServer, Request, html, huge, respond, task_json
from tests.support.harness import make_app
from tests.support.ptyterm import PtyProcess, child_env

WIDE = (160, 40)
GOOD, HTML_ID, HUGE_ID = "1773314942177684", "1773314942177685", "1773314942177686"


def status_line(app: MjdashApp) -> str:
    return app.query_one("#status-line").render().plain


async def wait_until(pilot: Pilot, check: Callable[[], bool], what: str, timeout=8.0) -> None:
    waited = 0.0
    while not check():
        if waited > timeout:
            raise AssertionError(f"not within {timeout}s: {what}; status: {status_line(pilot.app)}")
        await pilot.pause(0.05)
        waited += 0.05


def record_toasts(app: MjdashApp, also: Callable[[str], Any] | None = None) -> list[str]:
    """Every toast's message from now on; `also(message)` runs the moment each is made."""
    seen: list[str] = []
    real = app.notify

    def notify(message: str, *args, **kwargs):
        seen.append(message)
        if also is not None:
            also(message)
        return real(message, *args, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return seen


async def add_with_a(app: MjdashApp, pilot: Pilot, *ids: str) -> None:
    """The user's way: `a`, paste the ids, enter."""
    await pilot.press("a")
    assert isinstance(app.screen, AddScreen)
    app.screen.query_one(PasteArea).load_text("\n".join(ids))
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


def break_the_watchlist(path: Path) -> None:
    """From now on every save fails: the watchlist's name is taken by a folder (the .unsaved
    file beside it can still be written)."""
    path.unlink()
    path.mkdir()


# --- A5: quitting after a failed save ----------------------------------------------------------


async def test_A5_quitting_after_a_failed_save_keeps_the_ids_and_cleans_up(sim, tmp_path):
    first, second = (sim.engine.imagine(f"a5 {n}")["result"] for n in range(2))
    app = make_app(sim, tmp_path, [first], auto_poll=False)
    path = tmp_path / "watchlist.toml"
    async with app.run_test(size=WIDE) as pilot:
        toasts = record_toasts(app)
        break_the_watchlist(path)
        await add_with_a(app, pilot, second)
        await wait_until(pilot, lambda: any("not saved yet" in t for t in toasts), "the toast")
        added = next(t for t in toasts if t.startswith("Added 1 task"))
        assert added.startswith("Added 1 task (not saved yet: ")
        assert "could not save the watchlist: it is a folder" in added, added
        assert "not saved:" in status_line(app)
        await pilot.press("q")  # used to crash: NoMatches '#status-line' after the screen went
        # The app quits by itself once the final save ended (it failed again).
        await wait_until(pilot, lambda: app.return_code is not None, "quit", 5)
    assert app.return_code == 0
    assert "it is a folder" in app.unsaved_problem
    kept = (tmp_path / "watchlist.toml.unsaved").read_text()
    assert second in kept.split() and first not in kept.split()  # first was saved long ago
    # The cleanup after the final save ran too: the HTTP client is closed.
    with pytest.raises(Exception, match="closed"):
        await app.client.fetch(first)


_CLI = "import sys\nfrom mjdash import cli\nraise SystemExit(cli.main(sys.argv[1:]))\n"


def test_A5_the_terminal_says_what_was_not_saved_after_the_dashboard_closes(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    path = tmp_path / "lists" / "watchlist.toml"
    with SimServer(speed=50, fail_rate=0.0) as sim:
        first, second = (sim.engine.imagine(f"a5 cli {n}")["result"] for n in range(2))
        argv = ["--base-url", sim.url, "--watchlist", str(path), first]
        env = child_env(home, COMETAPI_KEY="sk-a5-cli")
        with PtyProcess.python(_CLI, *argv, env=env, size=(150, 40)) as app:
            app.wait_for("1 task ")
            break_the_watchlist(path)
            app.send("a")
            app.wait_for("Add tasks")
            app.send(second + "\r")
            app.wait_for("not saved yet")
            app.send("q")
            code = app.wait()
            after = app.text
    assert code == 2, after[-2000:]
    assert "internal error" not in after and "NoMatches" not in after
    assert "Traceback" not in after
    assert "the dashboard closed with changes not saved" in after
    unsaved = path.with_name("watchlist.toml.unsaved")
    assert str(unsaved) in after.replace("\r\n", "").replace("\n", "")
    assert second in unsaved.read_text().split()
    shutil.rmtree(path)


# --- A6: a held lock does not freeze the screen ------------------------------------------------


class HeldLock:
    """Another process's lock on the watchlist, held from a thread until `release()`."""

    def __init__(self, lock_path: Path) -> None:
        self._held = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(lock_path,), daemon=True)
        self._thread.start()
        assert self._held.wait(5)

    def _hold(self, lock_path: Path) -> None:
        with exclusive_lock(lock_path):
            self._held.set()
            self._release.wait(30)

    def release(self) -> None:
        self._release.set()
        self._thread.join(5)


async def test_A6_keys_answer_while_a_save_waits_for_the_lock(sim, tmp_path):
    ids = [sim.engine.imagine(f"a6 {n}")["result"] for n in range(3)]
    app = make_app(sim, tmp_path, ids[:2], auto_poll=False)
    path = tmp_path / "watchlist.toml"
    async with app.run_test(size=WIDE) as pilot:
        toasts = record_toasts(app)
        lock = HeldLock(path.with_name("watchlist.toml.lock"))
        try:
            await add_with_a(app, pilot, ids[2])
            await wait_until(
                pilot,
                lambda: "waiting for the watchlist lock (another mjdash?)" in status_line(app),
                "the lock wait shown",
            )
            # The UI thread is free: keys are handled while the save waits.
            before = app.selected_id
            await pilot.press("k")
            assert app.selected_id != before  # the cursor moved (the new id was selected)
            await pilot.press("p")
            await pilot.pause()
            assert "paused" in status_line(app)
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            assert ids[2] not in path.read_text()  # still waiting: not written, no toast yet
            assert not any(t.startswith("Added") for t in toasts)
        finally:
            lock.release()
        await wait_until(pilot, lambda: any(t.startswith("Added") for t in toasts), "saved")
        assert ids[2] in path.read_text()
        assert "waiting for the watchlist lock" not in status_line(app)
        assert toasts[-1] == "Added 1 task"


async def test_A6_q_while_a_save_waits_keeps_the_screen_and_q_again_quits_truthfully(sim, tmp_path):
    ids = [sim.engine.imagine(f"a6 q {n}")["result"] for n in range(2)]
    app = make_app(sim, tmp_path, ids[:1], auto_poll=False)
    path = tmp_path / "watchlist.toml"
    async with app.run_test(size=WIDE) as pilot:
        lock = HeldLock(path.with_name("watchlist.toml.lock"))
        try:
            await add_with_a(app, pilot, ids[1])
            await pilot.press("q")  # the quit waits for the save, the screen stays
            await wait_until(
                pilot, lambda: "waiting for the watchlist lock" in status_line(app), "waiting"
            )
            await pilot.press("p")
            await pilot.pause()
            assert "paused" in status_line(app) and app.return_code is None
            # The other process lets go a moment after the second q: the unmount waits for
            # that save's outcome instead of reporting "not saved" too early.
            threading.Timer(0.5, lock.release).start()
            await pilot.press("q")
            await wait_until(pilot, lambda: app.return_code is not None, "quit", 5)
        finally:
            threading.Timer(5, lock.release).start()  # never left held if a check failed
    assert app.unsaved_problem == ""
    assert ids[1] in path.read_text()
    assert not path.with_name("watchlist.toml.unsaved").exists()


# --- A7: additions and removals are on disk before the toast -----------------------------------


async def test_A7_ids_added_with_a_and_removed_with_d_are_on_disk_when_the_toast_comes(
    sim, tmp_path
):
    first, second, third = (sim.engine.imagine(f"a7 {n}")["result"] for n in range(3))
    app = make_app(sim, tmp_path, [first], auto_poll=False)
    path = tmp_path / "watchlist.toml"
    on_disk_at_toast: dict[str, str] = {}

    def look(message: str) -> None:  # the moment the toast is made
        on_disk_at_toast[message] = path.read_text()

    async with app.run_test(size=WIDE) as pilot:
        toasts = record_toasts(app, also=look)
        await add_with_a(app, pilot, second, third)
        await wait_until(pilot, lambda: "Added 2 tasks" in toasts, "the toast")
        text = on_disk_at_toast["Added 2 tasks"]
        assert second in text and third in text

        app.table.select(third)
        await pilot.pause()
        await pilot.press("d")  # a running task: asked first
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        message = f"Removed {third}"
        await wait_until(pilot, lambda: message in toasts, "the removal toast")
        assert third not in on_disk_at_toast[message]
        assert second in on_disk_at_toast[message]


# --- A8: unusable answers are said, not hidden -------------------------------------------------


def _one_good_one_html_one_huge(request: Request):
    """The batch answer has GOOD only; confirming the others one by one: an HTML page for
    HTML_ID, a 2 MiB answer (past the 1 MiB cap) for HUGE_ID."""
    if request.path.endswith("/list-by-condition"):
        return respond(200, [task_json(GOOD)])
    if HTML_ID in request.path:
        return html(200)
    if HUGE_ID in request.path:
        return huge(2 * 1024 * 1024)
    return respond(200, task_json(GOOD))


async def _routed(request: Request, writer: asyncio.StreamWriter) -> bool:
    return await _one_good_one_html_one_huge(request)(request, writer)


async def test_A8_an_unusable_answer_says_why_on_its_row_in_the_detail_and_status_line(tmp_path):
    async with FaultServer() as server:
        server.script(_routed)
        app = make_app(
            SimpleNamespace(url=server.url),  # type: ignore[arg-type]
            tmp_path,
            [GOOD, HTML_ID, HUGE_ID],
            auto_poll=False,
        )
        async with app.run_test(size=WIDE) as pilot:
            worker = app.poll(force=True)
            assert worker is not None
            await worker.wait()
            await wait_until(pilot, lambda: len(app.stale) == 2, "both marked unusable")
            await pilot.pause()

            def cell(task_id: str) -> str:
                return app.table.get_cell(task_id, "status").plain

            assert "IN_PROGRESS" in cell(GOOD)  # the good task shows
            assert "unusable" in cell(HTML_ID) and "unusable" in cell(HUGE_ID)
            line = status_line(app)
            assert "● 2 answers unusable" in line and "● ok" not in line

            app.table.select(HTML_ID)
            await pilot.pause()
            shown = app.detail.info_text.plain
            assert "Waiting for the first answer" not in shown
            assert "No usable answer for this task yet" in shown and "HTML" in shown
            app.table.select(HUGE_ID)
            await pilot.pause()
            assert "too large" in app.detail.info_text.plain
            app.table.select(GOOD)
            await pilot.pause()
            assert "No usable answer" not in app.detail.info_text.plain
