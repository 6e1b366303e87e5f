"""The second hardening round (issue 13): one test per attack, named `test_A<item>_...` after
its row in docs/hardening.md's "Fault matrix (second round)".

Servers are tests/support/faultserver.py on 127.0.0.1 (port 0) in the test's own loop; the CLI
and the dashboard's client run in child processes, so that their peak memory can be measured
(ru_maxrss of the child) and a hang is a timeout, not a stuck test run.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from mjdash.model import export
from mjdash.model.report import TemplateError, check_template
from mjdash.model.secret import Secret
from mjdash.model.task import Task, is_task_id
from mjdash.net.client import (
    BadResponse,
    MidjourneyClient,
    TaskNotFound,
    TransientError,
)
from mjdash.net.poller import Poller, PollerState
from mjdash.sim.faults import FAULT_NAMES, parse_spec
from mjdash.store import atomic, paths
from mjdash.store.cache import TaskCache
from mjdash.store.journal import Journal, Record
from mjdash.store.watchlist import Watchlist, WatchlistError
from tests.support.faultserver import (
    FaultServer,
    Request,
    bomb,
    echo_key,
    gzip_wrap,
    html,
    redirect,
    respond,
    task_json,
)

KEY = "sk-harden-Q7w8E9r0T1y2U3i4O5p6A7s8D9f0"  # 40 characters, easy to spot in a leak
ID1 = "1773314942177684"
ID2 = "1773314942177685"
ID3 = "1773314942177686"
RSS_LIMIT_MIB = 150
# A child is also capped in address space, so that a regression cannot take the machine down
# while it fails (the first attack took the dashboard to 4 GB).
CHILD_ADDRESS_LIMIT = 3 * 1024**3

_MEASURE = textwrap.dedent(
    """
    import json, resource, subprocess, sys

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1])))

    try:
        done = subprocess.run(
            sys.argv[3:], capture_output=True, text=True, timeout=float(sys.argv[2]),
            preexec_fn=limit,
        )
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = "timeout", str(exc.stdout or ""), str(exc.stderr or "")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"code": code, "out": out, "err": err, "peak_kib": peak}))
    """
)


def fragments(secret: str, size: int = 8) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def assert_no_key(text: str, secret: str = KEY) -> None:
    assert secret not in text
    leaked = [f for f in fragments(secret) if f in text]
    assert not leaked, f"fragments of the key leaked: {leaked[:3]}"


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MJDASH_") and k not in ("COMETAPI_KEY", "NO_COLOR")
    }
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        env[f"XDG_{name}_HOME"] = str(home / name.lower())
    env["COMETAPI_KEY"] = KEY
    env["COLUMNS"] = "160"
    env.update(extra)
    return env


def measured(argv: list[str], env: dict[str, str], timeout: float = 60) -> dict[str, Any]:
    """Run argv in a child; its exit code, output and peak RSS (KiB)."""
    wrapper = [sys.executable, "-c", _MEASURE, str(CHILD_ADDRESS_LIMIT), str(timeout)]
    done = subprocess.run(
        [*wrapper, *argv], capture_output=True, text=True, env=env, timeout=timeout + 30
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def mjdash(*args: str) -> list[str]:
    return [sys.executable, "-m", "mjdash", *args]


def run_cli(
    home: Path, *args: str, timeout: float = 30, umask: int | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        mjdash(*args),
        capture_output=True,
        text=True,
        env=cli_env(home, **env),
        timeout=timeout,
        umask=-1 if umask is None else umask,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


# --- A1: answers that inflate without bound -------------------------------------------------

_DASHBOARD_CLIENT = textwrap.dedent(
    """
    import asyncio, json, sys
    from mjdash.model.secret import Secret
    from mjdash.net.client import MidjourneyClient
    from mjdash.net.poller import Poller

    async def main(url, ids):
        client = MidjourneyClient(url, Secret("sk-dashboard-client-key"), timeout=5.0)
        poller = Poller(client, interval=1.0)
        poller.track(ids)
        results = [await poller.poll_once(force=True) for _ in range(2)]
        await client.aclose()
        print(json.dumps([
            {"state": r.state.value, "bad": r.bad, "tasks": sorted(r.tasks),
             "headline": r.headline, "error": r.error}
            for r in results
        ]))

    asyncio.run(main(sys.argv[1], sys.argv[2:]))
    """
)

BOMBS = [pytest.param(1, id="gzip"), pytest.param(2, id="gzip-inside-gzip")]


@pytest.mark.parametrize("layers", BOMBS)
async def test_A1_a_gzip_bomb_keeps_status_under_150_mb_and_says_unusable(
    tmp_path: Path, layers: int
) -> None:
    async with FaultServer() as server:
        server.script(bomb(1024**3, layers))
        result = await asyncio.to_thread(
            measured,
            mjdash("status", "--base-url", server.url, "--timeout", "3", ID1),
            cli_env(tmp_path),
        )
    assert result["peak_kib"] < RSS_LIMIT_MIB * 1024, result
    assert result["code"] == 5, result  # an unusable answer, never "ok", never "unreachable"
    said = result["out"] + result["err"]
    assert "Traceback" not in said
    if layers == 1:
        assert ID1 in result["out"] and "too large" in said
    else:
        assert "encoded 2 times" in said


@pytest.mark.parametrize("layers", BOMBS)
async def test_A1_a_gzip_bomb_keeps_the_dashboard_client_under_150_mb_and_marks_it_unusable(
    layers: int,
) -> None:
    async with FaultServer() as server:
        server.script(bomb(1024**3, layers))
        env = dict(os.environ)
        result = await asyncio.to_thread(
            measured, [sys.executable, "-c", _DASHBOARD_CLIENT, server.url, ID1, ID2], env
        )
    assert result["code"] == 0, result
    assert result["peak_kib"] < RSS_LIMIT_MIB * 1024, result
    for poll in json.loads(result["out"]):
        assert poll["tasks"] == []
        if layers == 1:  # each id's answer alone is too large: said on each id
            assert set(poll["bad"]) == {ID1, ID2}
            assert all("too large" in reason for reason in poll["bad"].values())
        else:  # the whole answer is refused: the poll is not "ok"
            assert poll["state"] != PollerState.OK.value
            assert "bad answer" in poll["headline"] and "encoded 2 times" in poll["error"]


async def test_A1_an_image_that_inflates_is_refused_at_the_cap() -> None:
    async with FaultServer() as server:
        server.script(bomb(64 * 1024**2, 1))
        client = MidjourneyClient(server.url, Secret(KEY), timeout=5.0)
        try:
            with pytest.raises(BadResponse, match="compression bomb"):
                await client.download_image(f"{server.url}/image.png")
            server.script(bomb(64 * 1024**2, 2))
            with pytest.raises(BadResponse, match="encoded 2 times"):
                await client.download_image(f"{server.url}/image.png")
        finally:
            await client.aclose()


async def test_A1_an_ordinary_gzipped_answer_is_still_read() -> None:
    body = gzip_wrap(json.dumps(task_json(ID1)).encode())
    async with FaultServer() as server:
        server.script(respond(200, body, {"Content-Encoding": "gzip"}))
        client = MidjourneyClient(server.url, Secret(KEY), timeout=5.0)
        try:
            task = await client.fetch(ID1)
        finally:
            await client.aclose()
        assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"
    assert isinstance(task, Task) and task.id == ID1


def test_A1_the_decoder_counts_while_inflating_and_refuses_stacked_encodings() -> None:
    import zlib

    from mjdash.net.bounded import BoundedDecoder, DecodedTooLarge, DecodeRefused

    decoder = BoundedDecoder("gzip", 1000)
    with pytest.raises(DecodedTooLarge):
        decoder.feed(gzip_wrap(bytes(10**6)))
    assert decoder.size <= 1001  # never more than the cap + 1 byte was produced
    for header in ("gzip, gzip", "gzip,deflate", "deflate, gzip"):
        with pytest.raises(DecodeRefused, match="encoded 2 times"):
            BoundedDecoder(header, 1000)
    with pytest.raises(DecodeRefused, match="does not read"):
        BoundedDecoder("br", 1000)
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    decoder = BoundedDecoder("deflate", 1000)
    decoder.feed(raw.compress(b"[1, 2]") + raw.flush())
    assert decoder.finish() == b"[1, 2]"
    bombed = BoundedDecoder("gzip", 20 * 1024**2)  # an image's cap: stopped at ~1 MiB anyway
    with pytest.raises(DecodeRefused, match="compression bomb"):
        bombed.feed(gzip_wrap(bytes(30 * 1024**2)))
    assert bombed.size <= 1024**2 + 64 * 1024
    identity = BoundedDecoder("identity", 4)
    with pytest.raises(DecodedTooLarge):
        identity.feed(b"12345")


# --- A2: paths that are not regular files ---------------------------------------------------


def _fifo(tmp_path: Path, name: str = "fifo") -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


def _char_device(tmp_path: Path, name: str, minor: int) -> Path:
    """A copy of /dev/null (minor 3) or /dev/zero (minor 5) in tmp: the real ones stay alone."""
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    path = tmp_path / name
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    return path


@pytest.mark.parametrize("how", ["flag", "env", "config"])
def test_A2_a_fifo_watchlist_is_refused_without_hanging(tmp_path: Path, how: str) -> None:
    fifo = _fifo(tmp_path)
    args: list[str] = ["add", ID1]
    env: dict[str, str] = {}
    if how == "flag":
        args = ["--watchlist", str(fifo), *args]
    elif how == "env":
        env["MJDASH_WATCHLIST"] = str(fifo)
    else:
        config = tmp_path / "config.toml"
        config.write_text(f'[watchlist]\npath = "{fifo}"\n')
        env["MJDASH_CONFIG"] = str(config)
    done = run_cli(tmp_path, *args, timeout=20, **env)
    assert done.returncode == 2, done
    assert str(fifo) in done.stderr and "FIFO" in done.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.parametrize(("name", "minor"), [("null", 3), ("zero", 5)])
def test_A2_a_character_device_watchlist_is_refused_and_stays_a_device(
    tmp_path: Path, name: str, minor: int
) -> None:
    device = _char_device(tmp_path, name, minor)
    for args in (["ls"], ["add", ID1], ["rm", ID1]):
        done = run_cli(tmp_path, "--watchlist", str(device), *args, timeout=20)
        assert done.returncode == 2, done
        assert str(device) in done.stderr and "character device" in done.stderr
    assert stat.S_ISCHR(os.stat(device).st_mode)
    assert os.stat(device).st_rdev == os.makedev(1, minor)


def test_A2_writing_never_replaces_a_device_a_fifo_or_a_folder(tmp_path: Path) -> None:
    targets = [_fifo(tmp_path), tmp_path / "folder"]
    targets[1].mkdir()
    if os.geteuid() == 0:
        targets.append(_char_device(tmp_path, "null", 3))
    for target in targets:
        kind = stat.S_IFMT(os.stat(target).st_mode)
        with pytest.raises(OSError, match="not a regular file"):
            atomic.write_atomic(target, b"x")
        assert stat.S_IFMT(os.stat(target).st_mode) == kind
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_A2_a_symlink_to_a_regular_file_is_followed_one_to_a_fifo_refused(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real.toml"
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    assert run_cli(tmp_path, "--watchlist", str(link), "add", ID1).returncode == 0
    assert link.is_symlink() and ID1 in real.read_text()
    bad = tmp_path / "bad.toml"
    bad.symlink_to(_fifo(tmp_path))
    done = run_cli(tmp_path, "--watchlist", str(bad), "ls", timeout=20)
    assert done.returncode == 2 and "FIFO" in done.stderr and str(bad) in done.stderr


def test_A2_a_watchlist_past_the_size_cap_is_refused_not_read(tmp_path: Path) -> None:
    from mjdash.store.watchlist import MAX_FILE_BYTES

    huge = tmp_path / "huge.toml"
    with open(huge, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    with pytest.raises(WatchlistError, match="larger than"):
        Watchlist.load(huge)


def test_A2_config_key_file_journal_and_cache_refuse_a_fifo_without_hanging(
    tmp_path: Path,
) -> None:
    fifo = _fifo(tmp_path)
    done = run_cli(tmp_path, "ls", timeout=20, MJDASH_CONFIG=str(fifo))
    assert done.returncode == 2 and "FIFO" in done.stderr and str(fifo) in done.stderr
    done = run_cli(tmp_path, "status", ID1, timeout=20, MJDASH_KEY_FILE=str(fifo))
    assert done.returncode == 3 and "FIFO" in done.stderr and str(fifo) in done.stderr
    script = textwrap.dedent(
        f"""
        from mjdash.store.cache import TaskCache
        from mjdash.store.journal import Journal, Record
        journal = Journal({str(fifo)!r})
        print(journal.append([Record(1.0e9, {ID1!r}, None, "SUBMITTED", None)]))
        print(journal.error)
        print(journal.read())
        cache = TaskCache({str(fifo)!r})
        print(cache.error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 0, done.stderr
    appended, journal_error, records, cache_error = done.stdout.splitlines()
    assert appended == "False" and "FIFO" in journal_error and str(fifo) in journal_error
    assert records == "[]"
    assert "FIFO" in cache_error and "in memory" in cache_error
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_A2_journal_and_cache_leave_a_device_alone(tmp_path: Path) -> None:
    device = _char_device(tmp_path, "null", 3)
    journal = Journal(device)
    assert journal.append([Record(1.0e9, ID1, None, "SUBMITTED", None)]) is False
    assert "character device" in (journal.error or "")
    cache = TaskCache(device)
    assert cache.error and "character device" in cache.error
    cache.close()
    assert stat.S_ISCHR(os.stat(device).st_mode)


# --- A3: one task's error stays with that task ----------------------------------------------


def _one_bad_per_id(request: Request) -> Any:
    """The batch answer leaves ID2 and ID3 out; confirming them one by one: a 500 for ID2, an
    HTML page for ID3. ID1 is answered."""
    if request.path.endswith("/list-by-condition"):
        return respond(200, [task_json(ID1)])
    if ID2 in request.path:
        return respond(500, {"description": "get_channel_failed", "code": 9})
    if ID3 in request.path:
        return html(200)
    return respond(200, task_json(ID1))


def _routed(choose) -> Any:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        return await choose(request)(request, writer)

    return handler


async def test_A3_one_ids_500_and_anothers_html_stay_with_those_ids() -> None:
    async with FaultServer() as server:
        server.script(_routed(_one_bad_per_id))
        client = MidjourneyClient(server.url, Secret(KEY), timeout=5.0)
        clock = [1000.0]
        poller = Poller(client, interval=5.0, clock=lambda: clock[0])
        poller.track([ID1, ID2, ID3])
        try:
            result = await poller.poll_once(force=True)
        finally:
            await client.aclose()
    assert result.state is PollerState.OK
    assert set(result.tasks) == {ID1}  # the answered task is delivered
    assert set(result.bad) == {ID2, ID3}
    assert "HTTP 500" in result.bad[ID2] and "HTML" in result.bad[ID3]


async def test_A3_a_bad_id_is_retried_on_its_own_backoff() -> None:
    async with FaultServer() as server:
        server.script(_routed(_one_bad_per_id))
        client = MidjourneyClient(server.url, Secret(KEY), timeout=5.0)
        clock = [1000.0]
        poller = Poller(client, interval=5.0, clock=lambda: clock[0], rng=lambda: 0.5)
        poller.track([ID1, ID2])
        try:
            waits = []
            for _ in range(3):
                await poller.poll_once(force=True)
                start = clock[0]
                while ID2 not in poller.due_ids():
                    clock[0] += 1.0
                waits.append(clock[0] - start)
        finally:
            await client.aclose()
    assert waits == [5.0, 10.0, 20.0]  # one interval, then doubling for this id alone


async def test_A3_every_request_failing_is_poll_wide() -> None:
    async with FaultServer() as server:
        server.script(respond(500, {"description": "get_channel_failed"}))
        client = MidjourneyClient(server.url, Secret(KEY), timeout=5.0)
        client.batch_route = False
        try:
            with pytest.raises(TransientError, match="HTTP 500"):
                await client.fetch_many([ID1, ID2])
            poller = Poller(client, interval=5.0)
            poller.track([ID1, ID2])
            result = await poller.poll_once(force=True)
        finally:
            await client.aclose()
    assert result.state is PollerState.RETRYING and not result.tasks


async def test_A3_status_prints_the_good_tasks_and_marks_the_bad_ones(tmp_path: Path) -> None:
    async with FaultServer() as server:
        server.script(_routed(_one_bad_per_id))
        done = await asyncio.to_thread(
            run_cli, tmp_path, "status", "--json", "--base-url", server.url, ID1, ID2, ID3
        )
    lines = {row["id"]: row for row in map(json.loads, done.stdout.splitlines())}
    assert lines[ID1]["status"] and "error" not in lines[ID1]
    assert "HTTP 500" in lines[ID2]["error"] and "HTML" in lines[ID3]["error"]
    assert done.returncode == 5  # documented: printed, but some answers were unusable


# --- A4: the key echoed back ----------------------------------------------------------------


def test_A4_any_eight_character_fragment_of_the_key_is_redacted() -> None:
    secret = Secret(KEY)
    text = f"cut here {KEY[:41]}| tail {KEY[10:18]} and {KEY[-9:]} end, not {KEY[:7]}"
    redacted = secret.redact(text)
    assert_no_key(redacted)
    assert redacted.startswith("cut here ***| tail *** and *** end") and KEY[:7] in redacted
    assert secret.redact_all({"a": [f"x{KEY}y"], KEY: 1}) == {"a": ["x***y"], "***": 1}
    assert Secret("short").redact("a short b") == "a *** b"
    split = "\x00".join(KEY[i : i + 5] for i in range(0, len(KEY), 5))  # no 8 chars in a row
    assert secret.redact_all({"failReason": f"token {split}"}) == {"failReason": "token ***"}


async def test_A4_a_key_spelled_with_json_escapes_is_still_redacted() -> None:
    task = json.dumps(task_json(ID1, "FAILURE", "0%"))
    escaped = "".join(f"\\u{ord(c):04x}" for c in KEY)
    body = task.replace('"failReason": ""', f'"failReason": "bad token {escaped}"').encode()
    assert b"sk-harden" not in body
    async with FaultServer() as server:
        server.script(respond(200, body))
        client = MidjourneyClient(server.url, Secret(KEY), timeout=5.0)
        try:
            task = await client.fetch(ID1)
        finally:
            await client.aclose()
    assert task.fail_reason == "bad token ***"


@pytest.mark.parametrize("hider", ["\u200b", "\x7f", "\u00ad"], ids=["zwsp", "del", "shy"])
async def test_A4_a_key_split_by_invisible_characters_in_an_answer_is_redacted(hider) -> None:
    # Two characters, then an invisible one: no run of the key survives in the raw bytes, yet
    # the shown text (cleaned of invisible characters) would join it up again.
    split = hider.join(KEY[i : i + 2] for i in range(0, len(KEY), 2))
    answer = {**task_json(ID1, "FAILURE", "0%"), "failReason": f"bad token {split}"}
    async with FaultServer() as server:
        server.script(respond(200, json.dumps(answer, ensure_ascii=False).encode()))
        client = MidjourneyClient(server.url, Secret(KEY), timeout=5.0)
        try:
            task = await client.fetch(ID1)
        finally:
            await client.aclose()
    assert_no_key("".join(ch for ch in task.fail_reason if ch.isprintable()))
    assert task.fail_reason.startswith("bad token ***")


def test_A4_the_raw_answer_look_is_definitive_not_only_a_prefilter() -> None:
    # A prompt sharing a few characters with the key is not a reason to walk the whole answer;
    # a real fragment (8 characters) is, and so is one spelled with escapes.
    secret = Secret(KEY)
    body = json.dumps([{"prompt": f"{KEY[:4]} and {KEY[4:8]} apart {n}"} for n in range(50)])
    assert not secret.may_appear_in(body.encode())
    assert secret.may_appear_in(f'{{"p": "x{KEY[5:13]}y"}}'.encode())
    assert secret.may_appear_in(json.dumps({"p": KEY[9:17]}, ensure_ascii=True).encode())
    assert secret.may_appear_in(('{"p": "\\u0073' + KEY[1:8] + '"}').encode())  # s, escaped


def test_A4_the_raw_answer_look_never_misses_what_the_full_walk_redacts() -> None:
    # Seeded random answers: pieces of the key (some long enough), split by invisible
    # characters or not, among text that shares short runs with it. Whenever walking the
    # parsed answer would redact something, the look at the raw bytes must have said so.
    import random

    rng = random.Random(7)
    hiders = ["", "", "\u200b", "\x7f", "\u00ad", "\n", "é"]
    redacted = 0
    for _ in range(1500):
        key = rng.choice([KEY, "bench-key", "abab-abab-abab", "sk-" + "x1" * rng.randint(3, 20)])
        secret = Secret(key)
        words = []
        for _ in range(rng.randint(1, 6)):
            start = rng.randrange(len(key))
            piece = key[start : start + rng.randint(2, 12)]
            hider = rng.choice(hiders)
            words.append(
                hider.join(piece[i : i + rng.randint(1, 4)] for i in range(0, len(piece), 4))
            )
            words.append(rng.choice(["bench", "a boat", "", "sk-", "abab"]))
        answer = {"prompt": " ".join(words), "id": "1"}
        for ascii_only in (True, False):
            body = json.dumps(answer, ensure_ascii=ascii_only).encode()
            walked = secret.redact_all(json.loads(body))
            if walked != json.loads(body):
                redacted += 1
                assert secret.may_appear_in(body), (key, answer)
    assert redacted > 50  # the answers did hold the key, often


async def test_A4_a_key_after_160_characters_of_error_is_redacted_before_the_cut() -> None:
    async with FaultServer() as server:
        server.script(echo_key(lambda task_id: None, pad=160))
        client = MidjourneyClient(server.url, Secret(KEY), timeout=5.0)
        try:
            with pytest.raises((BadResponse, TaskNotFound)) as caught:
                await client.fetch(ID1)
        finally:
            await client.aclose()
    assert_no_key(str(caught.value))
    assert "***" in str(caught.value) or "not found" in str(caught.value)


async def test_A4_an_echoed_key_never_reaches_the_screen_cache_or_export(tmp_path: Path) -> None:
    async with FaultServer() as server:
        server.script(echo_key())
        shown = await asyncio.to_thread(
            run_cli, tmp_path, "status", "--base-url", server.url, ID1, ID2
        )
        as_json = await asyncio.to_thread(
            run_cli, tmp_path, "status", "--json", "--base-url", server.url, ID1
        )
        assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"  # it was sent
        base_url = server.url  # the cache is kept per server: export reads this one's
    assert ID1 in shown.stdout and "***" in as_json.stdout
    exported = run_cli(tmp_path, "export", "--format", "json", "--base-url", base_url, ID1, ID2)
    assert exported.returncode == 0 and ID1 in exported.stdout
    assert "***" in exported.stdout  # the echoed text is there, the key is not
    cache_bytes = b"".join(
        path.read_bytes() for path in (tmp_path / "cache").rglob("*") if path.is_file()
    )
    assert cache_bytes
    for text in (
        shown.stdout,
        shown.stderr,
        as_json.stdout,
        exported.stdout,
        cache_bytes.decode("utf-8", "replace"),
    ):
        assert_no_key(text)


async def test_A4_submit_answers_and_batch_errors_are_redacted_at_parse_time() -> None:
    async with FaultServer() as server:
        long = f"{'z' * 170} {KEY}"
        server.script(
            respond(200, {"code": 1, "description": long, "result": ID1, "properties": {}}),
            respond(200, {"description": long, "code": 4}),
        )
        client = MidjourneyClient(server.url, Secret(KEY), timeout=5.0)
        try:
            submitted = await client.submit_imagine("a boat")
            with pytest.raises(BadResponse) as caught:
                await client.fetch_many([ID1])
        finally:
            await client.aclose()
    assert_no_key(submitted.description)
    assert_no_key(str(caught.value))
    records = export.render(export.records_for([ID1], {}), "json")
    assert_no_key(records)


def block_the_lock(watchlist: Path) -> None:
    """A folder where the lock file goes: the save fails (even as root), the load works."""
    lock = watchlist.with_name(watchlist.name + ".lock")
    lock.unlink(missing_ok=True)
    lock.mkdir()


# --- A5 (core of item 5): ids that could not be saved are kept beside the watchlist --------


def test_A5_ids_a_failed_save_could_not_write_are_kept_beside_the_watchlist(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.toml"
    watchlist = Watchlist.load(path)
    watchlist.add([ID1])
    watchlist.save()
    block_the_lock(tmp_path / "w.toml")  # the next save cannot take its lock
    watchlist.add([ID2, ID3])
    watchlist.remove([ID1])
    with pytest.raises(WatchlistError, match="could not save"):
        watchlist.save()
    assert watchlist.unsaved_changes() == ([ID2, ID3], [ID1], 0)
    kept = watchlist.write_unsaved()
    assert kept == tmp_path / "w.toml.unsaved"
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    assert [line for line in kept.read_text().splitlines() if is_task_id(line)] == [ID2, ID3]
    watchlist.add([ID1])
    watchlist.write_unsaved()  # merged with what the first failure kept
    assert [line for line in kept.read_text().splitlines() if is_task_id(line)] == [
        ID2,
        ID3,
        ID1,
    ]


# --- A9: owner-only folders and files -------------------------------------------------------


def _modes(root: Path) -> dict[str, int]:
    return {
        str(path.relative_to(root)): stat.S_IMODE(os.lstat(path).st_mode)
        for path in [root, *root.rglob("*")]
        if not path.is_symlink()
    }


async def test_A9_every_folder_and_file_mjdash_creates_is_owner_only_under_umask_0(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    async with FaultServer() as server:
        server.script(respond(200, [task_json(ID1, "SUCCESS", "100%")]))
        assert (await asyncio.to_thread(run_cli, home, "add", ID1, umask=0)).returncode == 0
        status = await asyncio.to_thread(run_cli, home, "status", "--base-url", server.url, umask=0)
        assert status.returncode == 0, status.stderr
    out = home / "exports" / "deep"
    assert run_cli(home, "export", "--output", str(out / "x.csv"), umask=0).returncode == 0
    old = os.umask(0)
    try:
        from mjdash.media.images import save_image

        task = Task(id=ID1, action="IMAGINE")
        save_image(home / "downloads" / "images", task, b"\x89PNG\r\n\x1a\n")
        paths.ensure_private_dir(home / "state" / "mjdash" / "more")
    finally:
        os.umask(old)
    modes = _modes(home)
    assert any(name.endswith("watchlist.toml") for name in modes)
    assert any(name.endswith(".sqlite3") for name in modes)
    for name, mode in modes.items():
        full = home / name if name != "." else home
        expected = 0o700 if full.is_dir() else 0o600
        assert mode == expected, f"{name}: {mode:04o}"


def test_A9_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "Downloads"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    paths.ensure_private_dir(shared / "mjdash")
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(shared / "mjdash").st_mode) == 0o700


# --- A10: format specs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "template", ["{total:>999999999}", "{done:.100000f}", "{total:0300}", "{total:{done}}"]
)
def test_A10_a_huge_width_or_precision_is_refused_before_formatting(template: str) -> None:
    with pytest.raises(TemplateError, match=r"too large|nested"):
        check_template(template)


def test_A10_status_refuses_a_huge_format_width_with_exit_2(tmp_path: Path) -> None:
    done = measured(
        mjdash("status", "--cached", "--format", "{total:>999999999}", ID1), cli_env(tmp_path)
    )
    assert done["code"] == 2 and "too large" in done["err"], done
    assert done["peak_kib"] < RSS_LIMIT_MIB * 1024
    check_template("{done:>3}/{total:<200} {failed:.2f}")  # small ones still work


# --- A12: smaller ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "handler",
    [
        pytest.param(
            lambda: respond(200, b"{not json", content_type="application/json"), id="json"
        ),
        pytest.param(lambda: redirect("http://127.0.0.1:9/elsewhere"), id="redirect"),
        pytest.param(lambda: bomb(64 * 1024**2, 2), id="inflating"),
    ],
)
async def test_A12_a_bad_answer_exits_5_not_4(tmp_path: Path, handler) -> None:
    async with FaultServer() as server:
        server.script(handler())
        done = await asyncio.to_thread(
            run_cli, tmp_path, "status", "--timeout", "2", "--base-url", server.url, ID1
        )
    assert done.returncode == 5, done
    assert "no usable answer" in done.stderr


def test_A12_an_unreachable_server_still_exits_4(tmp_path: Path) -> None:
    from tests.support.faultserver import closed_port

    url = f"http://127.0.0.1:{closed_port()}"
    done = run_cli(tmp_path, "status", "--timeout", "1", "--base-url", url, ID1)
    assert done.returncode == 4 and "unreachable" in done.stderr


def test_A12_a_failed_save_says_what_was_not_saved_and_where_it_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    assert run_cli(tmp_path, "--watchlist", str(path), "add", ID1).returncode == 0
    block_the_lock(path)
    done = run_cli(tmp_path, "--watchlist", str(path), "add", ID2, ID3)
    assert done.returncode == 2
    assert "next try" not in done.stderr
    assert "nothing was changed on disk" in done.stderr
    assert f"not saved: 2 added ({ID2}, {ID3})" in done.stderr
    kept = tmp_path / "w.toml.unsaved"
    assert str(kept) in done.stderr and ID2 in kept.read_text()
    assert ID2 not in path.read_text()


def test_A12_the_simulator_warns_when_it_serves_beyond_loopback() -> None:
    from mjdash.sim.server import exposure_warning

    for host in ("0.0.0.0", "::"):
        warning = exposure_warning(host, None)
        assert warning and "every network interface" in warning and "ANY" in warning
    assert "192.168.1.5" in (exposure_warning("192.168.1.5", "k") or "")
    for host in ("127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"):
        assert exposure_warning(host, None) is None


def test_A12_an_all_zero_id_is_refused(tmp_path: Path) -> None:
    assert not is_task_id("0000000000000000")
    done = run_cli(tmp_path, "add", "0000000000000000")
    assert done.returncode == 2 and "not a task id" in done.stderr
    with pytest.raises(ValueError, match="not a task id"):
        Watchlist.load(tmp_path / "w.toml").add(["0000000000000000"])


# --- the soak's new faults work in the simulator's switches --------------------------------


def test_A1_A4_the_simulator_serves_inflate_and_echo_key(sim_factory) -> None:
    assert {"inflate", "echo_key"} <= set(FAULT_NAMES)
    assert parse_spec("inflate=0.5,echo_key=0.5") == {"inflate": 0.5, "echo_key": 0.5}
    sim = sim_factory(faults="inflate=1")
    task_id = sim.engine.imagine("a boat")["result"]
    with httpx.Client() as plain:
        raw = plain.send(
            plain.build_request(
                "GET",
                f"{sim.url}/mj/task/{task_id}/fetch",
                headers={"Authorization": f"Bearer {KEY}"},
            ),
            stream=True,
        )
        assert "gzip" in raw.headers["content-encoding"]
        assert int(raw.headers["content-length"]) < 1024 * 1024
        raw.close()
        sim.set_faults("echo_key=1")
        echoed = plain.get(
            f"{sim.url}/mj/task/{task_id}/fetch", headers={"Authorization": f"Bearer {KEY}"}
        ).json()
    assert echoed["id"] == task_id and KEY in echoed["failReason"] and KEY in echoed["prompt"]
    assert echoed["description"].index(KEY) >= 160


# --- A6 (core of item 6): a held lock is waited for off the UI thread -----------------------


def test_A6_a_save_waiting_for_the_lock_does_not_block_adding_ids(tmp_path: Path) -> None:
    import fcntl
    import threading

    path = tmp_path / "w.toml"
    watchlist = Watchlist.load(path)
    watchlist.add([ID1])
    waiting = threading.Event()
    errors: list[BaseException] = []
    holder = os.open(tmp_path / "w.toml.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another process's save, holding the lock

    def save() -> None:
        try:
            watchlist.save(on_wait=waiting.set)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    worker = threading.Thread(target=save)
    worker.start()
    try:
        assert waiting.wait(10), "the save never said it was waiting"
        added: list[str] = []
        adder = threading.Thread(target=lambda: added.extend(watchlist.add([ID2])))
        adder.start()
        adder.join(5)
        assert not adder.is_alive() and added == [ID2]  # the "UI thread" was not held
    finally:
        os.close(holder)  # the other process is done
        worker.join(15)
    assert not worker.is_alive() and errors == []
    watchlist.save()
    assert Watchlist.load(path).ids == [ID1, ID2]


async def test_A3_one_batch_chunk_failing_stays_with_its_ids() -> None:
    ids = [f"17733149421{n:05d}" for n in range(8)]

    def choose(request: Request) -> Any:
        if request.path.endswith("/list-by-condition"):
            asked = request.json()["ids"]
            if ids[4] in asked:  # the third chunk's answer is an HTML page, the fourth a 502
                return respond(200, b"<html>oops</html>", content_type="text/html")
            if ids[6] in asked:
                return respond(502, {"description": "bad gateway"})
            return respond(200, [task_json(i) for i in asked])
        return respond(400, {"description": "task_no_found", "code": 4})

    async with FaultServer() as server:
        server.script(_routed(choose))
        client = MidjourneyClient(server.url, Secret(KEY), timeout=5.0, batch_size=2)
        try:
            first = await client.fetch_many(ids)  # the first chunk probes the route
            again = await client.fetch_many(ids)  # the route is known now: no probe
        finally:
            await client.aclose()
    for found in (first, again):
        assert all(isinstance(found[i], Task) for i in ids[:4])
        assert all("HTML" in found[i].reason for i in ids[4:6])  # type: ignore[union-attr]
        assert all("HTTP 502" in found[i].reason for i in ids[6:])  # type: ignore[union-attr]
