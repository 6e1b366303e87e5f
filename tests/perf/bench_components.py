"""Component timings: the speed checks that once were asserts in tests/unit, measured here instead.

The unit tests assert what these operations do (inert text, capped fields, every id kept, the
request cut by the right timeout); how long they take is a figure, printed next to the bound
the old assert used (its "target") so a slowdown shows in the benchmark table, not as a flaky
test. Each figure is the median of `repeat` runs, in seconds of wall time.

    .venv/bin/python tests/perf/bench_components.py        # alone, a few seconds
    (tests/perf/bench.py prints the same table after its own)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TASK_ID = "1773314942177684"
KEY = "sk-bench-3c4d5e6f7a8b"


@dataclass(frozen=True)
class Timing:
    """One row: what was measured, the median seconds, and the window it should stay in."""

    name: str
    seconds: float
    at_most: float
    at_least: float = 0.0

    @property
    def met(self) -> bool:
        return self.at_least <= self.seconds <= self.at_most

    @property
    def target(self) -> str:
        if self.at_least:
            return f"{self.at_least:g}-{self.at_most:g} s"
        return f"<= {self.at_most * 1000:g} ms" if self.at_most < 1 else f"<= {self.at_most:g} s"


def _median(run: Callable[[], float], repeat: int) -> float:
    return statistics.median(run() for _ in range(repeat))


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


# --- model: cleaning and parsing hostile text ----------------------------------------------


def model_timings(repeat: int) -> list[Timing]:
    from mjdash.model.task import MAX_TEXT, clean, extract_task_ids, parse_task

    chunk = "\x1b[31m\x1b]52;c;QUJD\x07\u202e[@click=app.quit][/]\x00\x9b\r\nword "
    huge = (chunk * (1_000_000 // len(chunk) + 1))[:1_000_000]

    def clean_three_ways() -> None:
        clean(huge)
        clean(huge, MAX_TEXT, single_line=True)
        clean(huge, 2_000_000)

    answer = {
        "id": TASK_ID,
        "status": "IN_PROGRESS",
        "progress": "58%",
        "prompt": "p\x1b" * 500_000,
        "promptEn": "q" * 1_000_000,
    }
    text = (f"noise 1726667730879 {TASK_ID} ?rand=1773314975123456789 " * 20_000)[:1_000_000]
    return [
        Timing(
            "clean() 1 MB hostile text, 3 ways",
            _median(lambda: _timed(clean_three_ways), repeat),
            0.2,
        ),
        Timing(
            "parse_task, 1 MB prompt",
            _median(lambda: _timed(lambda: parse_task(answer)), repeat),
            0.2,
        ),
        Timing(
            "extract_task_ids, 1 MB text",
            _median(lambda: _timed(lambda: extract_task_ids(text)), repeat),
            0.5,
        ),
    ]


# --- store: the cache and the watchlist at 10,000 --------------------------------------------


def store_timings(repeat: int, work: Path) -> list[Timing]:
    from mjdash.model.task import Task, parse_task
    from mjdash.sim.engine import Engine, ManualClock
    from mjdash.store.cache import TaskCache
    from mjdash.store.watchlist import Watchlist

    engine = Engine(clock=ManualClock(), seed=3, fail_rate=0.0)
    templates = [parse_task(engine.task_json(i)) for i in engine.seed_tasks(200)]
    assert all(isinstance(t, Task) for t in templates)
    tasks = [
        replace(templates[i % 200], id=str(1_800_000_000_000_000 + i))  # type: ignore[type-var]
        for i in range(10_000)
    ]
    puts, loads = [], []
    for run in range(repeat):
        with TaskCache(work / f"tasks-{run}.sqlite3") as cache:
            puts.append(_timed(lambda cache=cache: cache.put_many(tasks)))
            loads.append(_timed(lambda cache=cache: cache.load([t.id for t in tasks])))

    ids = [str(1_700_000_000_000_000 + i) for i in range(10_000)]

    def watchlist_round(run: int) -> float:
        path = work / f"w-{run}.toml"
        start = time.perf_counter()
        watchlist = Watchlist.load(path)
        watchlist.add(ids, label="batch")
        for task_id in ids[::2]:
            watchlist.mark_used(task_id, "MJ::JOB::upsample::1::x")
        watchlist.save()
        again = Watchlist.load(path)
        again.remove(ids[:5000])
        again.save()
        return time.perf_counter() - start

    return [
        Timing("cache put_many, 10,000 tasks", statistics.median(puts), 2.0),
        Timing("cache load, 10,000 tasks", statistics.median(loads), 3.0),
        Timing(
            "watchlist 10,000: add, mark, save, remove",
            statistics.median(watchlist_round(r) for r in range(repeat)),
            4.0,
        ),
    ]


# --- the simulator: seeding, start and stop ---------------------------------------------------


def sim_timings(repeat: int) -> list[Timing]:
    from mjdash.sim.engine import ManualClock
    from mjdash.sim.server import SimServer

    seeds, starts, stops = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        server = SimServer(tasks=10_000, clock=ManualClock(), speed=1.0, fail_rate=0.0).start()
        seeds.append(time.perf_counter() - start)
        stops.append(_timed(server.stop))
        start = time.perf_counter()
        server = SimServer().start()
        starts.append(time.perf_counter() - start)
        server.stop()
    return [
        Timing("sim: seed 10,000 tasks and start", statistics.median(seeds), 2.0),
        Timing("sim: start, empty", statistics.median(starts), 1.0),
        Timing("sim: stop", statistics.median(stops), 2.0),
    ]


# --- the client: how long a fault takes to be given up on -------------------------------------


async def _client_fault(handler: object, timeout: float) -> float:
    from mjdash.model.secret import Secret
    from mjdash.net.client import MidjourneyClient, MjError
    from tests.support.faultserver import FaultServer

    async with FaultServer() as server:
        server.script(handler)  # type: ignore[arg-type]
        async with MidjourneyClient(server.url, Secret(KEY), timeout=timeout) as client:
            start = time.perf_counter()
            with contextlib.suppress(MjError):
                await client.fetch(TASK_ID)
            return time.perf_counter() - start


def client_timings(repeat: int) -> list[Timing]:
    from tests.support.faultserver import drip, huge, stall

    def fault(make: Callable[[], object], timeout: float) -> float:
        return _median(lambda: asyncio.run(_client_fault(make(), timeout)), repeat)

    return [
        # Read timeout 0.5 s: given up on after about that long, not at once and not never.
        Timing("N3 stalled server given up after", fault(stall, 0.5), 2.0, 0.4),
        # Total deadline 1.0 s (timeout 0.5 plus slack): each byte came inside the read timeout.
        Timing("N4 drip-fed body cut after", fault(lambda: drip(every=0.05), 0.5), 2.5, 0.9),
        Timing("P4 10 MB body refused after", fault(lambda: huge(10 * 1024 * 1024), 2.0), 2.0),
    ]


# --- the CLI: a rejected key and an unreachable server end at once ----------------------------


def cli_timings(work: Path) -> list[Timing]:
    from mjdash.sim.server import SimServer
    from tests.support.faultserver import closed_port

    env = dict(os.environ, COLUMNS="160")
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        env[f"XDG_{name}_HOME"] = str(work / "cli" / name.lower())

    def mjdash(*args: str, **extra: str) -> float:
        command = [sys.executable, "-m", "mjdash", *args]
        start = time.perf_counter()
        subprocess.run(command, env={**env, **extra}, capture_output=True, timeout=60)
        return time.perf_counter() - start

    with SimServer(key="right-key-5a6b7c", fail_rate=0.0) as sim:
        task_id = sim.engine.imagine("a lighthouse")["result"]
        wrong_key = mjdash("status", task_id, "--base-url", sim.url, COMETAPI_KEY="wrong-key")
    url = f"http://127.0.0.1:{closed_port()}"
    unreachable = mjdash("status", TASK_ID, "--timeout", "1.5", "--base-url", url, COMETAPI_KEY=KEY)
    return [
        Timing("mjdash status, rejected key: exit 3 after", wrong_key, 5.0),
        Timing("mjdash status, unreachable (--timeout 1.5): exit 4 after", unreachable, 6.0),
    ]


# --- all of it, and the table ------------------------------------------------------------------


def measure(repeat: int = 3, *, cli: bool = True) -> list[Timing]:
    work = Path(tempfile.mkdtemp(prefix="mjdash-components-"))
    timings = model_timings(repeat) + store_timings(repeat, work) + sim_timings(repeat)
    timings += client_timings(repeat)
    if cli:
        timings += cli_timings(work)
    return timings


def table(timings: list[Timing]) -> str:
    head = ["7 component timings (median)", "measured", "target", "met"]
    rows = [
        [
            f"  {t.name}",
            f"{t.seconds * 1000:,.0f} ms" if t.seconds < 1 else f"{t.seconds:.2f} s",
            t.target,
            "yes" if t.met else "NO",
        ]
        for t in timings
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = []
    for index, row in enumerate([head, *rows]):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> int:
    started = time.perf_counter()
    timings = measure()
    print(table(timings))
    print(f"\n(component timings took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
