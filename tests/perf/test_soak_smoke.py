"""The soak (tests/perf/soak.py) for 30 seconds: no lost id, no leak of fds or tasks.

The full soak runs 5 minutes and allows memory to grow by 10% after its warm-up. Here the run
is 30 s with a 15 s warm-up; the first quarter-minute is when the process reaches its high-water
mark (1,000 tasks parsed, cached and laid out; sqlite's page cache; httpx's pool), so the memory
bound is generous (25%): it catches a leak that grows with every poll, not allocator noise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SOAK = Path(__file__).resolve().parent / "soak.py"
SECONDS = 30
MEMORY_BOUND = 0.25


def test_soak_for_thirty_seconds_loses_no_id_and_leaks_nothing() -> None:
    done = subprocess.run(
        [sys.executable, str(SOAK), "--seconds", str(SECONDS), "--warmup", "15", "--json"],
        capture_output=True,
        text=True,
        timeout=SECONDS + 60,
        cwd=SOAK.parents[2],
    )
    assert done.stdout, done.stderr[-3000:]
    report = json.loads(done.stdout.splitlines()[-1])
    print(json.dumps({k: v for k, v in report.items() if k != "problems"}, indent=1))
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert not report["crashed"]
    # Every id is still watched, in memory and on disk, and nothing else is.
    assert report["lost_in_memory"] == []
    assert report["lost_on_disk"] == []
    assert report["unexpected_on_disk"] == []
    assert report["key_leaks"] == []  # the echo_key fault sent it back: nothing kept it
    assert report["watched"] >= 1000 + report["added"] - report["removed"] > 0
    assert report["added"] > 0 and report["removed"] > 0
    # It really polled, through faults, and came back from them.
    assert report["requests"] > 20
    assert sum(report["faults"].values()) > 0
    assert report["poll_outcomes"].get("ok", 0) > 0
    assert set(report["poll_outcomes"]) - {"ok"}, "no poll met a fault"
    start, end = report["start"], report["end"]
    assert end["fds"] - start["fds"] <= 10, (start, end)
    assert end["tasks"] - start["tasks"] <= 12, (start, end)
    # A reconnect after a cut resolves the host in one of anyio's worker threads, which stays
    # idle for 10 s before it ends: one or two may be alive at the end. A leak grows with time
    # (`tests/perf/soak.py --seconds 300` reports the count too).
    assert end["threads"] - start["threads"] <= 2, (start, end)
    assert report["memory_growth"] < MEMORY_BOUND, report["memory_growth"]
