"""Fault-matrix rows through the whole dashboard (docs/reliability.md), driven by Pilot.

The client, poller and watchlist have their own row tests; these check what the user sees and
what the app sends while a fault lasts, and that it recovers by itself when the server does:
P5 hostile text, P6 hostile URLs, K1 a crash with the key in scope, H4 a rejected key, H2 a
long rate limit, N1 an unreachable server's countdown, S2 a watchlist that cannot be saved,
S4 another mjdash changing the same watchlist.
"""

from __future__ import annotations

import errno
import os
import re
import webbrowser
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from textual.pilot import Pilot
from textual.worker import WorkerFailed

from mjdash.model.secret import Secret
from mjdash.model.task import MAX_TEXT
from mjdash.net.backoff import Backoff
from mjdash.sim.server import SimServer
from mjdash.store.watchlist import Watchlist
from mjdash.ui.app import MjdashApp
from mjdash.ui.crash import AppCrash
from tests.support.faultserver import FaultServer, closed_port, respond, task_api
from tests.support.harness import make_app

WIDE = (160, 40)
KEY = "sk-matrix-app-3c1d9e7f"


def status_line(app: MjdashApp) -> str:
    return app.query_one("#status-line").render().plain


def record_notifications(app: MjdashApp) -> list[str]:
    """Every notification's title and message, from now on."""
    seen: list[str] = []
    real = app.notify

    def notify(message: str, *args, **kwargs):
        seen.append(f"{kwargs.get('title', '')}: {message}")
        return real(message, *args, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return seen


async def wait_until(pilot: Pilot, check, what: str, timeout: float = 10.0) -> None:
    waited = 0.0
    while not check():
        if waited > timeout:
            raise AssertionError(f"not within {timeout}s: {what}; status: {status_line(pilot.app)}")
        await pilot.pause(0.05)
        waited += 0.05


async def poll(app: MjdashApp, pilot: Pilot) -> None:
    worker = app.poll(force=True)
    assert worker is not None
    await worker.wait()
    await pilot.pause()


def cell(app: MjdashApp, task_id: str, column: str) -> str:
    return app.table.get_cell(task_id, column).plain


# --- P5, P6: hostile server text and URLs ------------------------------------------------------


async def test_P5_hostile_tasks_show_inert_and_the_app_keeps_running(sim_factory, tmp_path):
    sim = sim_factory(hostile=True, speed=50)
    grid, failed, huge, odd = sim.seeded_ids[:4]
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        prompt = cell(app, grid, "prompt")
        assert prompt.startswith("[2J[31mred text[0m ]52;c;")  # the escapes' bytes, inert
        assert len(prompt) <= app.table.prompt_width
        app.table.select(grid)
        await pilot.pause()
        # The detail wraps long values under themselves: read them back as one line.
        detail = " ".join(line.strip() for line in app.detail.info_text.plain.splitlines())
        # Markup in server text is shown as typed, never applied: "[@click=app.quit]" stays text.
        assert "[bold]bold[/bold] [@click=app.quit]quit[/] --v 6.1" in detail
        assert "gnp.exe" in detail and "\u202e" not in detail
        app.table.select(failed)
        await pilot.pause()
        detail = " ".join(line.strip() for line in app.detail.info_text.plain.splitlines())
        assert "[/] [@click=app.quit]x[/] deliaf" in detail
        # The 1 MB prompt was cut on the way in; its cell is one short line.
        assert len(app.tasks[huge].prompt) <= MAX_TEXT
        assert len(cell(app, huge, "prompt")) <= app.table.prompt_width
        assert "SHORTEN" in cell(app, odd, "action")
        for _ in sim.seeded_ids:  # walk every row, detail and buttons included
            await pilot.press("j")
        await pilot.press("enter", "j", "j", "tab")
        await pilot.pause()
        assert app.is_running
        for text in (status_line(app), detail):
            assert "\x1b" not in text and "\x07" not in text and "\x00" not in text


async def test_P6_opening_a_hostile_image_url_is_refused_with_a_reason(
    sim_factory, tmp_path, monkeypatch
):
    # A graphical browser is "found" (this machine has none; `o` would say so instead).
    monkeypatch.setattr(webbrowser, "get", lambda using=None: webbrowser.GenericBrowser("firefox"))
    sim = sim_factory(hostile=True, speed=50)
    url_tasks = sim.seeded_ids[4:]
    assert len(url_tasks) == 4
    app = make_app(sim, tmp_path, sim.seeded_ids, auto_poll=False)
    opened: list[str] = []
    async with app.run_test(size=WIDE) as pilot:
        app.open_url = lambda url, **kwargs: opened.append(url)  # type: ignore[method-assign]
        notes = record_notifications(app)
        await poll(app, pilot)
        for task_id in url_tasks:
            app.table.select(task_id)
            await pilot.press("o")
        await pilot.pause()
        refusals = [n for n in notes if "Not opened: " in n]
        assert len(refusals) == 4, notes
        for note in refusals:
            assert note.split("Not opened: ", 1)[1].strip()  # each with a reason
        assert opened == []
        # A plain http(s) image URL from the same server is opened.
        app.table.select(sim.seeded_ids[0])
        await pilot.press("o")
        await pilot.pause()
        assert opened == [app.tasks[sim.seeded_ids[0]].image_url]


# --- K1: a crash with the key in scope -------------------------------------------------------


def _app_with_key(sim: SimServer, folder: Path, ids: list[str]) -> MjdashApp:
    app = make_app(sim, folder, ids, auto_poll=False)
    app.client._key = Secret(KEY)  # as the CLI would give it
    app.client._auth_headers = app.client._build_auth_headers()
    return app


async def test_K1_crashes_inside_a_poll_never_show_the_key(sim, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COMETAPI_KEY", KEY)
    ids = [sim.engine.imagine("k1")["result"]]
    app = _app_with_key(sim, tmp_path, ids)

    async def fetch_many(task_ids):
        key = app.client._key.reveal()
        raise RuntimeError(f"fetch failed with {key}")

    with pytest.raises(AppCrash) as caught:
        async with app.run_test(size=WIDE) as pilot:
            notes = record_notifications(app)
            real_fetch_many = app.client.fetch_many
            app.client.fetch_many = fetch_many
            await poll(app, pilot)  # the poller catches it: a state, not a crash
            assert "unexpected error (RuntimeError)" in status_line(app)
            assert app.is_running
            app.client.fetch_many = real_fetch_many

            async def poll_once(force=False):
                key = app.client._key.reveal()  # noqa: F841
                raise RuntimeError(f"poll_once failed with {KEY}")

            app.poller.poll_once = poll_once  # the worker itself fails: a notification
            worker = app.poll(force=True)
            assert worker is not None
            with pytest.raises(WorkerFailed):
                await worker.wait()
            await pilot.pause(0.1)
            assert any(note == ": poll failed: RuntimeError" for note in notes), notes
            assert app.is_running
            seen = "\n".join([status_line(app), *notes])
            assert KEY not in seen

            def tick_with_the_key() -> None:
                key = app.client._key.reveal()
                raise ValueError(f"tick failed with {key}")

            app.call_later(tick_with_the_key)  # an unhandled error: the app exits
            await pilot.pause(0.2)
    crash = caught.value
    assert crash.line.startswith("mjdash crashed: ValueError: tick failed with ***")
    assert isinstance(crash.__cause__, ValueError)
    out = capsys.readouterr()
    assert KEY not in out.out + out.err


# --- H4: a rejected key -------------------------------------------------------------------------


async def test_H4_rejected_key_stops_polling_until_r_then_recovers(sim_factory, tmp_path):
    sim = sim_factory(key="the-right-key")  # the app sends "test-key"
    ids = [sim.engine.imagine("h4")["result"]]  # visible to every key
    app = make_app(sim, tmp_path, ids, interval=0.5)
    async with app.run_test(size=WIDE) as pilot:
        notes = record_notifications(app)
        await wait_until(pilot, lambda: "key rejected" in status_line(app), "key rejected")
        assert "✘ key rejected: check COMETAPI_KEY, then press r" in status_line(app)
        assert "COMETAPI_KEY" in (app.poller.error or "")
        sent = sim.stats()["total"]
        await pilot.pause(1.6)  # three intervals
        sim.state.key = "test-key"  # the user fixed the key on the server's side
        await pilot.pause(0.6)
        assert sim.stats()["total"] == sent, "requests while the key is rejected"
        assert not notes  # one message: the status line, not a notification per poll
        await pilot.press("r")
        await wait_until(pilot, lambda: "● ok" in status_line(app), "ok after r")
        assert sim.stats()["total"] > sent
        await wait_until(pilot, lambda: ids[0] in app.tasks, "the task shown")


# --- H2: rate limited ----------------------------------------------------------------------------


def _app_on(url: str, folder: Path, ids: list[str], interval: float = 0.5) -> MjdashApp:
    return make_app(SimpleNamespace(url=url), folder, ids, interval=interval)  # type: ignore[arg-type]


IDS = ["1773314942177684", "1773314942177685"]


async def test_H2_long_rate_limit_says_until_when_and_waits(tmp_path):
    async with FaultServer() as server:
        server.script(respond(429, {"description": "slow down"}, {"Retry-After": "86400"}))
        app = _app_on(server.url, tmp_path, IDS)
        async with app.run_test(size=WIDE) as pilot:
            await wait_until(pilot, lambda: "rate limited" in status_line(app), "rate limited")
            shown = re.search(r"rate limited until (\d\d:\d\d:\d\d)", status_line(app))
            assert shown, status_line(app)
            # 86400 s is clamped to 300 s (rule 3).
            until = datetime.strptime(shown.group(1), "%H:%M:%S").time()
            expected = datetime.now() + timedelta(seconds=300)
            gap = abs(
                datetime.combine(expected.date(), until) - expected.replace(microsecond=0)
            ).total_seconds()
            assert min(gap, 86400 - gap) <= 5, (shown.group(1), expected)
            sent = len(server.requests)
            await pilot.pause(1.5)
            assert len(server.requests) == sent == 1


async def test_H2_short_rate_limit_counts_down_and_recovers_by_itself(tmp_path):
    async with FaultServer() as server:
        server.script(respond(429, {"description": "slow down"}, {"Retry-After": "2"}), task_api())
        app = _app_on(server.url, tmp_path, IDS)
        async with app.run_test(size=WIDE) as pilot:
            await wait_until(pilot, lambda: "rate limited" in status_line(app), "rate limited")
            assert re.search(r"rate limited, retrying in [12]s", status_line(app))
            await wait_until(pilot, lambda: "● ok" in status_line(app), "recovered", 6)
            assert set(IDS) <= set(app.tasks)


# --- N1: unreachable ------------------------------------------------------------------------------


async def test_N1_unreachable_counts_down_and_recovers_when_the_server_starts(tmp_path):
    port = closed_port()
    server = SimServer(port=port, speed=100, fail_rate=0.0)  # built, not started yet
    ids = [server.engine.imagine("n1")["result"]]
    app = make_app(server, tmp_path, ids, interval=0.5)
    # A fixed draw instead of full jitter: delays 0.4, 0.8, 1.6, 3.2 s.
    app.poller.backoff = Backoff(clock=app.poller.clock, rng=lambda: 0.5)
    try:
        async with app.run_test(size=WIDE) as pilot:
            await wait_until(pilot, lambda: "unreachable" in status_line(app), "unreachable")
            assert re.search(r"server unreachable, retrying in \ds", status_line(app))
            assert ids[0] not in app.tasks
            server.start()
            await wait_until(pilot, lambda: "● ok" in status_line(app), "recovered", 8)
            await wait_until(pilot, lambda: ids[0] in app.tasks, "the task shown")
    finally:
        server.stop()


# --- S2, S4: the watchlist file ------------------------------------------------------------------


async def test_S2_unsaved_watchlist_is_shown_and_the_ids_kept(sim, tmp_path, monkeypatch):
    first, second, third = (sim.engine.imagine(f"s2 {n}")["result"] for n in range(3))
    app = make_app(sim, tmp_path, [first], auto_poll=False)
    path = tmp_path / "watchlist.toml"
    before = path.read_bytes()
    folder = str(tmp_path)
    temp_fds: set[int] = set()
    real_open, real_write = os.open, os.write

    def read_only(target, flags, *rest):
        if str(target).startswith(folder) and flags & (os.O_CREAT | os.O_WRONLY):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_open(target, flags, *rest)

    def tracking_open(target, flags, *rest):
        fd = real_open(target, flags, *rest)
        if ".tmp-" in str(target):
            temp_fds.add(fd)
        return fd

    def full_disk(fd, data):
        if fd in temp_fds:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    async with app.run_test(size=WIDE) as pilot:
        notes = record_notifications(app)
        monkeypatch.setattr(os, "open", read_only)
        app.add_ids([second])
        assert app.save_watchlist() is False
        await pilot.pause()
        assert "not saved:" in status_line(app) and "read-only" in status_line(app)
        assert any(n.startswith("Watchlist not saved:") for n in notes), notes
        assert path.read_bytes() == before  # the original is intact
        assert app.table.get_row_index(second) == 1  # and the id is on screen

        monkeypatch.setattr(os, "open", tracking_open)
        monkeypatch.setattr(os, "write", full_disk)
        app.add_ids([third])
        assert app.save_watchlist() is False
        await pilot.pause()
        assert "disk is full" in status_line(app)
        assert path.read_bytes() == before
        assert app.watchlist.ids == [first, second, third]
        assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]

        monkeypatch.undo()  # the disk has room again: the next save succeeds
        assert app.save_watchlist() is True
        await pilot.pause()
        assert "not saved" not in status_line(app)
    assert Watchlist.load(path).ids == [first, second, third]


async def test_S4_another_mjdash_changing_the_watchlist_loses_no_update(sim, tmp_path):
    a, b, c, d = (sim.engine.imagine(f"s4 {n}")["result"] for n in range(4))
    app = make_app(sim, tmp_path, [a, b], auto_poll=False)
    path = tmp_path / "watchlist.toml"
    async with app.run_test(size=WIDE) as pilot:
        other = Watchlist.load(path)  # a second mjdash (`mjdash add` / `rm`, another pane)
        other.add([c])
        other.remove([a])
        other.save()
        app.add_ids([d])
        assert app.save_watchlist() is True
        await pilot.pause()
        assert app.watchlist.ids == [b, c, d]
        assert set(app.table.visible_keys()) | {app.selected_id} >= {b, c, d}
        assert app.table.row_count == 3
        assert c in app.poller  # the other's id is polled too
    assert Watchlist.load(path).ids == [b, c, d]
