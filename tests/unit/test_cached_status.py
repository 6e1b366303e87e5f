"""`mjdash status --cached`: counts from the cache alone, no request, nothing heavy imported."""

from __future__ import annotations

import json
import subprocess
import sys

from mjdash.store.watchlist import Watchlist
from tests.unit.test_cli import Runner, imagine, run, wait_finished  # noqa: F401 - `run` is a fixture

TEMPLATE = "{done}/{total} {failed}!"


def test_cached_status_makes_zero_requests_and_needs_no_key(sim, run: Runner):  # noqa: F811
    good = [imagine(sim, f"paper lantern {n}") for n in range(3)]
    bad = imagine(sim, "broken --fail")
    wait_finished(sim, [*good, bad])
    base = ["--base-url", sim.url]
    assert run("add", *good, bad).code == 0
    never_polled = "1773314942177000"
    assert run("status", *base).code == 0  # fills the cache
    assert run("add", never_polled).code == 0
    sim.reset_stats()

    done = run("status", "--cached", "--format", TEMPLATE, *base, COMETAPI_KEY=None)
    assert done.code == 0, done.err
    assert done.out == "3/5 1!\n"
    table = run("status", "--cached", *base, COMETAPI_KEY=None)
    assert table.code == 0 and table.out.count("SUCCESS") == 3 and "FAILURE" in table.out
    lines = run("status", "--cached", "--json", *base, COMETAPI_KEY=None).out.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [*good, bad, never_polled]
    assert json.loads(lines[-1]) == {"id": never_polled, "error": "not polled yet"}
    assert run("status", "--cached", "--exit-status", *base, COMETAPI_KEY=None).code == 1
    # The cache is per server: another base URL's --cached view knows none of these tasks.
    other = ["--base-url", "https://api.cometapi.com"]
    assert run("status", "--cached", "--format", TEMPLATE, *other).out == "0/5 0!\n"
    assert sim.stats()["total"] == 0


def test_cached_status_says_not_found_and_forgets_it_once_the_task_is_answered(
    sim,
    run: Runner,  # noqa: F811
):
    # A task of another account: for our key the server answers "not found" (the simulator's
    # tasks are visible to the key that submitted them); with the owner's key it is answered.
    owner = "sim-owner-key-7"
    answer = sim.engine.imagine("a lantern in fog", owner=owner)
    assert answer["code"] == 1
    theirs = answer["result"]
    ours = imagine(sim, "a lantern at dusk")
    never_polled = "1773314942177003"
    wait_finished(sim, [theirs, ours])
    run.env["MJDASH_BASE_URL"] = sim.url
    assert run("add", theirs, ours).code == 0
    live = run("status")
    assert live.code == 0, live.err
    assert any(line.startswith(theirs) and "not found" in line for line in live.lines())
    assert run("add", never_polled).code == 0
    sim.reset_stats()

    table = run("status", "--cached", COMETAPI_KEY=None)
    assert table.code == 0, table.err
    line_of = {line.split()[0]: line for line in table.lines()[1:]}
    assert "not found" in line_of[theirs] and "not polled yet" not in line_of[theirs]
    assert "not polled yet" in line_of[never_polled] and "SUCCESS" in line_of[ours]
    assert "unreadable" not in table.out
    rows = run("status", "--cached", "--json", COMETAPI_KEY=None).out.splitlines()
    assert {"id": theirs, "error": "not found"} in [json.loads(row) for row in rows]
    every = "{total} {done} {running} {queued} {failed} {modal} {missing} {unpolled} {other}"
    counts = run("status", "--cached", "--format", every, COMETAPI_KEY=None).out.split()
    total, done, *_, missing, unpolled, other = map(int, counts)
    assert (total, done, missing, unpolled, other) == (3, 1, 1, 1, 0)
    assert sum(map(int, counts[1:])) == total  # each id in exactly one bucket
    assert run("status", "--cached", "--exit-status", COMETAPI_KEY=None).code == 1
    assert sim.stats()["total"] == 0

    # The owner's key answers it: the mark goes, the task is what --cached shows.
    assert run("status", theirs, COMETAPI_KEY=owner).code == 0
    table = run("status", "--cached", COMETAPI_KEY=None)
    line = next(x for x in table.lines() if x.startswith(theirs))
    assert "SUCCESS" in line and "not found" not in line
    counts = run("status", "--cached", "--format", "{done} {missing} {unpolled}").out.split()
    assert counts == ["2", "0", "1"]


def test_the_watchlist_index_follows_every_change_of_the_file(sim, run: Runner):  # noqa: F811
    ids = [imagine(sim, f"bonsai {n}") for n in range(2)]
    wait_finished(sim, ids)
    run.env["MJDASH_BASE_URL"] = sim.url  # the cache answers for the server it came from
    assert run("add", ids[0]).code == 0
    assert run("status", "--base-url", sim.url, ids[1]).code == 0  # cached, not watched
    assert run("status", "--cached", "--format", TEMPLATE).out == "0/1 0!\n"  # not polled
    assert run("status", "--base-url", sim.url).code == 0
    assert run("status", "--cached", "--format", TEMPLATE).out == "1/1 0!\n"
    index = run.home / "cache" / "mjdash" / "status-ids.json"
    assert json.loads(index.read_text())["ids"] == [ids[0]]
    assert run("add", ids[1]).code == 0  # a new file: the index is rebuilt
    assert run("status", "--cached", "--format", TEMPLATE).out == "2/2 0!\n"
    # Every save replaces the file (a new inode): the index is rebuilt again.
    watchlist = Watchlist.load(run.watchlist)
    watchlist.remove([ids[0]])
    watchlist.save()
    assert run("status", "--cached", "--format", TEMPLATE).out == "1/1 0!\n"


def test_no_cache_yet_prints_zeros_and_creates_nothing(run: Runner):  # noqa: F811
    assert run("add", "1773314942177001", "1773314942177002").code == 0
    done = run("status", "--cached", "--format", TEMPLATE, COMETAPI_KEY=None)
    assert done.code == 0 and done.out == "0/2 0!\n"
    assert not run.cache.exists()
    assert run("status", "--cached", "--watch").code == 2


def test_cached_status_imports_no_http_client_no_asyncio_no_textual(run: Runner):  # noqa: F811
    assert run("add", "1773314942177001").code == 0
    probe = (
        "import sys; from mjdash.cli import main; "
        "code = main(['status', '--cached', '--format', '{total}']); "
        "print(sorted(m for m in ('httpx', 'asyncio', 'textual', 'mjdash.net.client') "
        "if m in sys.modules), code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=run.env, check=True
    )
    assert done.stdout.splitlines() == ["1", "[] 0"], done.stdout + done.stderr
