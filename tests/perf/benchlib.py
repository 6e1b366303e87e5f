"""The pieces of the benchmark (tests/perf/bench.py); the smoke test uses the request counting.

Everything talks to 127.0.0.1 only. The simulator runs in its own process (`SimProcess`) so
that the CPU figures are mjdash's alone; it dies with its stdin, so it never outlives the bench.
`python -m tests.perf.benchlib sim ...` is that process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import fcntl
import gc
import json
import math
import os
import pty
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mjdash.model.secret import Secret
from mjdash.model.task import Task
from mjdash.net.client import MidjourneyClient
from mjdash.net.poller import Poller

KEY = "bench-key"
BATCH = 100
ROOT = Path(__file__).resolve().parents[2]
SEED_STOP = ("SUCCESS", "FAILURE")  # the seed's "poll until done" loops stop on these only


def ceil_div(a: int, b: int) -> int:
    return math.ceil(a / b) if a > 0 else 0


# --- the simulator in its own process -----------------------------------------------------


class SimProcess:
    """`python -m tests.perf.benchlib sim` as a child; `.url`, `.ids`, `.stats()`, `.advance()`."""

    def __init__(self, mode: str, tasks: int, speed: float = 100.0) -> None:
        env = dict(os.environ, PYTHONPATH=_pythonpath())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.perf.benchlib", "sim", mode, str(tasks), str(speed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=str(ROOT),
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("the simulator process did not start")
        info = json.loads(line)
        self.url: str = info["url"]
        self.ids: list[str] = info["ids"]
        self._http = httpx.Client(base_url=self.url, timeout=30.0)

    def stats(self) -> dict[str, Any]:
        return self._http.get("/_sim/stats").json()

    def requests(self) -> int:
        return self.stats()["total"]

    def advance(self, seconds: float) -> None:
        self._http.post("/_bench/advance", json={"seconds": seconds}).raise_for_status()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._http.close()
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # the child stops when its stdin closes
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _pythonpath() -> str:
    parts = [str(ROOT), *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    return os.pathsep.join(dict.fromkeys(p for p in parts if p))


class _OffsetClock:
    """Real time plus an offset (the "running" mode submits its tasks in the past)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        self.offset += seconds
        return self()


def sim_main(mode: str, tasks: int, speed: float) -> None:
    """Serve a simulator until stdin closes. Modes:

    - ``seeded``: `tasks` mixed tasks (queued, running, finished, failed, stuck, MODAL) on a
      manual clock that moves only through POST /_bench/advance (a fast clock: `speed`).
    - ``running``: `tasks` imagines on the real clock at `speed`, submitted in the past so that
      all are IN_PROGRESS now and for the next minute or more (progress moves every few seconds).
    """
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from mjdash.sim.engine import ManualClock
    from mjdash.sim.server import SimServer

    clock: Any = ManualClock() if mode == "seeded" else _OffsetClock()
    past = 16.0 / speed  # queue phases are at most 7.5 s at speed 1
    if mode == "running":
        clock.offset = -past
    seeded = tasks if mode == "seeded" else 0
    server = SimServer(tasks=seeded, speed=speed, clock=clock, fail_rate=0.0, seed=7)
    ids = list(server.seeded_ids)
    if mode == "running":
        for n in range(tasks):
            ids.append(server.engine.imagine(f"bench lighthouse {n}, oil painting")["result"])
        clock.advance(past)  # back to now: the tasks went through their queue

    async def advance(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"now": clock.advance(float(body["seconds"]))})

    server.app.router.routes.insert(0, Route("/_bench/advance", advance, methods=["POST"]))
    server.start()
    print(json.dumps({"url": server.url, "ids": ids}), flush=True)
    try:
        sys.stdin.read()  # until the bench closes our stdin (or dies)
    finally:
        server.stop()


# --- 1 and 2: requests and client CPU per poll cycle ----------------------------------------


class FakeMonotonic:
    """The poller's clock in the bench: one interval passes between cycles, exactly."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Cycle:
    unfinished: int  # tasks not known finished (or MODAL) before the cycle: what must be asked
    limit: int  # ceil(unfinished / batch)
    mjdash: int  # requests the server saw from mjdash's poller in this cycle
    mjdash_ids: int  # task ids the server was asked about by mjdash (its own count)
    seed: int  # requests the server saw from the seed's loop (one GET per task not done)
    mjdash_cpu_ms: float
    seed_cpu_ms: float


@dataclass
class RequestFigures:
    n: int
    cold: Cycle
    steady: list[Cycle] = field(default_factory=list)

    @property
    def all_at_limit(self) -> bool:
        return all(c.mjdash == c.limit for c in [self.cold, *self.steady])

    def mean(self, name: str) -> float:
        return statistics.fmean(getattr(c, name) for c in self.steady)


class SeedLoop:
    """The seed's "poll until done" sample for many tasks: one GET per task per cycle, each
    task's loop ending on SUCCESS or FAILURE (MODAL and CANCEL poll forever)."""

    def __init__(self, url: str, ids: Iterable[str], concurrency: int = 8) -> None:
        self.url = url
        self.looping = list(dict.fromkeys(ids))
        self._http = httpx.AsyncClient(
            timeout=30.0, limits=httpx.Limits(max_connections=concurrency + 2)
        )
        self._semaphore = asyncio.Semaphore(concurrency)
        self._headers = {"Authorization": f"Bearer {KEY}"}

    async def _one(self, task_id: str) -> str:
        async with self._semaphore:
            answer = await self._http.get(
                f"{self.url}/mj/task/{task_id}/fetch", headers=self._headers
            )
        return answer.json()["status"]

    async def cycle(self) -> int:
        asked = list(self.looping)
        statuses = await asyncio.gather(*(self._one(i) for i in asked))
        done = {i for i, s in zip(asked, statuses, strict=True) if s in SEED_STOP}
        self.looping = [i for i in self.looping if i not in done]
        return len(asked)

    async def aclose(self) -> None:
        await self._http.aclose()


async def count_requests(
    url: str,
    ids: list[str],
    stats: Callable[[], dict[str, Any]],
    advance: Callable[[float], None],
    *,
    cycles: int = 3,
    step: float = 0.05,
    interval: float = 5.0,
    seed_loop: bool = True,
) -> tuple[RequestFigures, dict[str, Task]]:
    """Poll `ids` with mjdash's poller (as the app does) and with the seed's loop, cycle by
    cycle at the same frozen simulator instant; `stats()` reads the server's counters
    (SimServer.stats), `advance(s)` moves the simulator's clock between cycles. Returns the
    figures and the tasks mjdash learned (to fill a cache)."""
    clock = FakeMonotonic()
    client = MidjourneyClient(url, Secret(KEY), batch_size=BATCH, timeout=30.0)
    poller = Poller(client, interval=interval, clock=clock)
    poller.track(ids)
    seed = SeedLoop(url, ids) if seed_loop else None
    known: dict[str, Task] = {}
    not_found: set[str] = set()
    figures: RequestFigures | None = None
    try:
        for number in range(cycles + 1):
            if number:
                advance(step)
                clock.advance(interval)
            # What must be asked, from what mjdash could know: never seen, or last seen running.
            unfinished = sum(
                1
                for i in ids
                if i not in not_found and ((t := known.get(i)) is None or t.needs_polling)
            )
            start = stats()
            cpu = time.process_time()
            result = await poller.poll_once()
            mjdash_cpu = time.process_time() - cpu
            middle = stats()
            seed_requests, seed_cpu = 0, 0.0
            if seed is not None:
                cpu = time.process_time()
                await seed.cycle()
                seed_cpu = time.process_time() - cpu
                seed_requests = stats()["total"] - middle["total"]
            known.update(result.tasks)
            not_found |= result.not_found
            cycle = Cycle(
                unfinished=unfinished,
                limit=ceil_div(unfinished, BATCH),
                mjdash=middle["total"] - start["total"],
                mjdash_ids=middle["ids_requested"] - start["ids_requested"],
                seed=seed_requests,
                mjdash_cpu_ms=mjdash_cpu * 1000,
                seed_cpu_ms=seed_cpu * 1000,
            )
            if figures is None:
                figures = RequestFigures(len(ids), cycle)
            else:
                figures.steady.append(cycle)
    finally:
        await client.aclose()
        if seed is not None:
            await seed.aclose()
    assert figures is not None
    return figures, known


# --- 3: UI costs, in process, headless ------------------------------------------------------


@dataclass
class UiFigures:
    n: int
    apply_ms: float  # apply a poll result in which every row changed
    frame_ms: float  # the frame drawn right after it (compositor + terminal string)
    idle_apply_ms: float  # apply a poll result in which nothing changed
    tick_ms: float  # the once-a-second tick
    batch_ms: float | None = None  # part of apply_ms spent in app.batch.on_poll (insights)
    visible_frame_ms: float = 0.0  # the frame after a poll that changed only the visible rows


def make_dashboard(url: str, folder: Path, ids: list[str], tasks: dict[str, Task]) -> Any:
    """The real MjdashApp, built by the CLI's factory (mjdash.ui.run), with `tasks` already in
    its cache."""
    from mjdash.store.cache import TaskCache
    from mjdash.store.config import ApiConfig, Config, PollConfig, UiConfig
    from mjdash.store.watchlist import Watchlist
    from mjdash.ui.run import build_dashboard

    folder.mkdir(parents=True, exist_ok=True)
    watchlist = Watchlist.load(folder / "watchlist.toml")
    watchlist.add(ids)
    watchlist.save()
    with TaskCache(folder / "cache.sqlite3") as cache:
        cache.put_many(tasks.values())
    config = Config(
        api=ApiConfig(base_url=url, timeout=30.0),
        poll=PollConfig(interval=5.0, batch_size=BATCH),
        ui=UiConfig(theme="textual-dark", bell=False),
    )
    return build_dashboard(
        config,
        Secret(KEY),
        Watchlist.load(folder / "watchlist.toml"),
        cache=TaskCache(folder / "cache.sqlite3"),
        auto_poll=False,
    )


def _changed(tasks: dict[str, Task], step: int) -> dict[str, Task]:
    """Every task visibly different from the last step: running, progress moved."""
    from mjdash.model.task import Status

    return {
        i: dataclasses.replace(t, status=Status.IN_PROGRESS, progress=(step * 7) % 100)
        for i, t in tasks.items()
    }


async def measure_ui(
    url: str, folder: Path, ids: list[str], tasks: dict[str, Task], reps: int = 7
) -> UiFigures:
    from mjdash.net.poller import PollerState, PollResult
    from mjdash.ui.messages import TasksPolled

    app = make_dashboard(url, folder, ids, tasks)

    def result(changed: dict[str, Task]) -> PollResult:
        return PollResult(
            tasks=changed,
            not_found=set(),
            bad={},
            state=PollerState.OK,
            error=None,
            retry_at=None,
            next_delay=5.0,
            requests=ceil_div(len(changed), BATCH),
            polled_ids=len(changed),
        )

    applies, frames, idles, ticks, batches = [], [], [], [], []
    visible_frames: list[float] = []
    spent: list[float] = []
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        compositor = screen._compositor
        render_update = compositor.render_update
        drawn: list[float] = []

        def timed_render_update(*args: Any, **kwargs: Any) -> Any:
            # A headless app skips building the terminal string: build it here, as a tty would.
            start = time.perf_counter()
            update = render_update(*args, **kwargs)
            if update is not None:
                update.render_segments(app.console)
            drawn.append(time.perf_counter() - start)
            return update

        compositor.render_update = timed_render_update
        batch = getattr(app, "batch", None)
        on_poll = getattr(batch, "on_poll", None)
        if on_poll is not None:

            def timed_on_poll(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return on_poll(*args, **kwargs)
                finally:
                    spent.append(time.perf_counter() - start)

            batch.on_poll = timed_on_poll
        known = dict(app.tasks) or tasks
        for step in range(1, reps + 2):
            polled = _changed(known, step)
            await pilot.pause()
            # The collector runs between rounds, not inside the timed apply and frame: a full
            # collection (tens of ms at 10,000 live tasks) lands wherever allocation triggers it.
            gc.collect()
            gc.disable()
            drawn.clear()
            spent.clear()
            start = time.perf_counter()
            app.on_tasks_polled(TasksPolled(result(polled)))
            elapsed = time.perf_counter() - start
            in_batch = sum(spent)
            await pilot.pause()
            await pilot.pause()
            gc.enable()
            if step > 1:  # the first round warms caches
                applies.append(elapsed)
                frames.append(sum(drawn))
                if os.environ.get("BENCH_DEBUG"):
                    print("frames", [round(d * 1000, 1) for d in drawn], file=sys.stderr)
                batches.append(in_batch)
            # The same answer again: nothing changed, so nothing should run.
            start = time.perf_counter()
            app.on_tasks_polled(TasksPolled(result(polled)))
            idles.append(time.perf_counter() - start)
            await pilot.pause()
            start = time.perf_counter()
            app.tick()
            ticks.append(time.perf_counter() - start)
        # Control: a poll that changed only the rows on screen. Same drawing work as above;
        # the difference is what walking 10,000 changed tasks just before does to the frame.
        on_screen = list(getattr(app.table, "visible_keys", lambda: ids[:40])())
        for step in range(reps):
            polled = _changed({i: app.tasks[i] for i in on_screen if i in app.tasks}, 50 + step)
            await pilot.pause()
            gc.collect()
            gc.disable()
            drawn.clear()
            app.on_tasks_polled(TasksPolled(result(polled)))
            await pilot.pause()
            await pilot.pause()
            gc.enable()
            visible_frames.append(sum(drawn))
        compositor.render_update = render_update
    return UiFigures(
        n=len(ids),
        apply_ms=statistics.median(applies) * 1000,
        frame_ms=statistics.median(frames) * 1000,
        idle_apply_ms=statistics.median(idles) * 1000,
        tick_ms=statistics.median(ticks) * 1000,
        batch_ms=statistics.median(batches) * 1000 if on_poll is not None else None,
        visible_frame_ms=statistics.median(visible_frames) * 1000,
    )


# --- 4, 5, 6: the real `mjdash` in a pseudo-terminal ----------------------------------------


@dataclass
class PtyRun:
    first_paint_s: float | None
    cpu_percent: float | None
    peak_rss_mb: float | None
    requests: int | None = None
    output: str = ""


def _proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def _proc_status_kb(pid: int, name: str) -> int | None:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return None


def run_dashboard_in_pty(
    *,
    env: dict[str, str],
    args: list[str],
    marker: bytes,
    settle: float = 0.0,
    measure: float = 0.0,
    requests: Callable[[], int] | None = None,
    size: tuple[int, int] = (130, 40),
    timeout: float = 60.0,
    python_args: tuple[str, ...] = (),
) -> PtyRun:
    """Start `python -m mjdash ARGS` on a pseudo-terminal of `size`; time until `marker` is on
    the screen (first paint), wait `settle` s, then measure the process's CPU over `measure` s
    (from /proc), and its peak RSS (VmHWM). Quits with `q`. `python_args` go before `-m mjdash`
    (e.g. ("-m", "cProfile", "-o", "out.prof") to see where the time goes)."""
    master, slave = pty.openpty()
    columns, rows = size
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    seen = threading.Event()
    output = bytearray()
    painted: list[float] = []

    def drain() -> None:
        tail = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            if len(output) < 2_000_000:
                output.extend(chunk)
            if not seen.is_set() and marker in tail + chunk:
                painted.append(time.perf_counter())
                seen.set()
            tail = (tail + chunk)[-len(marker) :]

    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *python_args, "-m", "mjdash", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=str(ROOT),
        start_new_session=True,
    )
    os.close(slave)
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    run = PtyRun(None, None, None)
    try:
        if not seen.wait(timeout):
            run.output = output.decode("utf-8", "replace")[-2000:]
            return run
        run.first_paint_s = painted[0] - start
        if measure:
            time.sleep(settle)
            before_requests = requests() if requests else None
            cpu, wall = _proc_cpu_seconds(proc.pid), time.perf_counter()
            time.sleep(measure)
            cpu = _proc_cpu_seconds(proc.pid) - cpu
            wall = time.perf_counter() - wall
            run.cpu_percent = 100 * cpu / wall
            if requests and before_requests is not None:
                run.requests = requests() - before_requests
        hwm = _proc_status_kb(proc.pid, "VmHWM")
        run.peak_rss_mb = hwm / 1024 if hwm else None
    finally:
        with contextlib.suppress(OSError):
            os.write(master, b"q")
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with contextlib.suppress(OSError):
            os.close(master)
        reader.join(timeout=5)
    return run


def dashboard_env(home: Path, url: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": _pythonpath(),
        "COMETAPI_KEY": KEY,
        "MJDASH_BASE_URL": url,
    }
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        env[f"XDG_{name}_HOME"] = str(home / name.lower())
    return env


def prepare_home(home: Path, ids: list[str], tasks: dict[str, Task]) -> Path:
    """A private XDG home with a watchlist of `ids` and `tasks` in mjdash's cache; returns the
    watchlist path."""
    from mjdash.store.cache import TaskCache
    from mjdash.store.watchlist import Watchlist

    saved = {k: os.environ.get(k) for k in ("XDG_CACHE_HOME", "XDG_DATA_HOME")}
    os.environ["XDG_CACHE_HOME"] = str(home / "cache")
    os.environ["XDG_DATA_HOME"] = str(home / "data")
    try:
        from mjdash.store import paths

        paths.ensure_private_dir(paths.cache_dir())
        with TaskCache(paths.cache_dir() / "tasks.sqlite3") as cache:
            cache.put_many(tasks.values())
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    path = home / "watchlist.toml"
    watchlist = Watchlist.load(path)
    watchlist.add(ids)
    watchlist.save()
    return path


def _main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="benchlib")
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("sim")
    sim.add_argument("mode", choices=("seeded", "running"))
    sim.add_argument("tasks", type=int)
    sim.add_argument("speed", type=float)
    args = parser.parse_args(argv)
    sim_main(args.mode, args.tasks, args.speed)


if __name__ == "__main__":
    _main(sys.argv[1:])
