"""Soak: the dashboard, headless, for minutes against a simulator that misbehaves.

    .venv/bin/python tests/perf/soak.py                 # 5 minutes, 1,000 tasks, 10% faults
    .venv/bin/python tests/perf/soak.py --seconds 30 --json

The simulator runs in its own process (`mjdash sim`), so the figures are the dashboard's alone:
1,000 seeded tasks in mixed states, a fast clock, and 10% of API requests answered with a fault
(429, 500, a slow answer, an HTML page, a cut connection, garbage, an answer that inflates
without bound, the key echoed back in failReason / prompt / a long description). The dashboard
is built as the CLI builds it and runs headless (Textual's run_test, notifications on) while the
soak, like a user, adds new tasks every few seconds, removes finished ones, and presses r now
and then.

Printed: requests made, faults met (by the server's count, and poll outcomes by the app's),
memory (RSS) at start and end, open file descriptors, asyncio tasks, threads, and whether every
id is still in the watchlist, in memory and on disk. It passes when memory grows by less than 10%,
fds and tasks stay flat (within the connection pool's size and a few toasts), and no id is lost.
Exit status 0 when it passes.

"Start", the sample growth is measured from, comes once the app has settled: after the warm-up
(the first full poll of every task fills the screen, the cache and the connection pool) AND once
the task table's render caches (DataTable's LRUs of rendered cells, rows and lines) are full.
Adding, removing or reordering a row changes every key in them, so on a busy watchlist they fill
with dead entries and RSS climbs in lockstep until they reach their bound, then stops. With
Textual's bounds (10,000 cells, 1,000 rows) that was ~20 MiB over the first 60-80 s on this
loaded 2-core machine (cells 1,247 / 4,592 / 8,211 / 9,999 at 10 / 30 / 50 / 70 s, RSS 86.5 /
92.9 / 98.9 / 103.3 MiB), after the old 30 s warm-up: the 5-minute soak said +24%. ui/table.py
now bounds them at two screens (3,000 cells, 400 rows), full within ~30 s. A start sampled while
they fill counts a one-time fill as growth; growth after they are full is counted. The wait is
capped at half the run: if they are not full by then, start is sampled anyway and the report
says how full they were.

After that, RSS still climbed ~2 MiB a minute with no plateau (+20.7% at 600 s): every toast's
StylesCache, pinned by Textual's lru_cache on an instance method, with the toast's rendered
lines; found with --trace (tests/perf/soak_probe.py), mended in mjdash/ui/terminal.py (600 s:
+11.3%; part of what remains is the watchlist itself, ~14% more ids by then).

The run's XDG dirs (config, data, cache, state) point into its scratch folder: the preview's
thumbnails and the status index never land in the user's files, and the key-leak scan sees them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mjdash.model.secret import Secret  # noqa: E402
from mjdash.store.cache import TaskCache  # noqa: E402
from mjdash.store.config import ApiConfig, Config, PollConfig, UiConfig  # noqa: E402
from mjdash.store.watchlist import Watchlist  # noqa: E402
from tests.perf import soak_probe  # noqa: E402

DEFAULT_FAULTS = (
    "429=0.03,500=0.02,slow=0.01,html=0.01,reset=0.01,garbage=0.01,inflate=0.005,echo_key=0.005"
)
# The simulator's seed (tasks and the fault draws). Its fault RNG is seeded: with seed 1 the
# first `echo_key` is the 915th request, so a 5- (or 10-) minute soak never met it. Seed 18
# draws `echo_key` at requests 3, 29, 157, 242 and `inflate` at 65, 191, 210, 212, 290.
DEFAULT_SEED = 18
# Long enough that its 8-character fragments mean something: `echo_key` sends it back.
SOAK_KEY = "soak-key-Zx81Qw3Lm5Rt7Yu"
MEMORY_LIMIT = 0.10  # growth from start to end
CONCURRENCY = 4
FD_SLACK = CONCURRENCY + 2 + 4  # the pool's keep-alive connections, plus a few
TASK_SLACK = 12  # notification toasts come and go, each with its own message pump


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@dataclass
class Sample:
    at: float
    rss_kib: int
    fds: int
    tasks: int
    threads: int


@dataclass
class SoakReport:
    seconds: float
    tasks: int
    faults_spec: str
    requests: int = 0  # polling requests (fetch and list) as counted by the server
    client_requests: int = 0  # as counted by the client
    faults: dict[str, int] = field(default_factory=dict)
    poll_outcomes: dict[str, int] = field(default_factory=dict)
    launch: Sample | None = None
    start: Sample | None = None
    end: Sample | None = None
    start_after: float = 0.0  # seconds into the run when "start" was sampled
    start_note: str = ""  # why then (warm-up, render cache full or not)
    peak_fds: int = 0
    peak_tasks: int = 0
    added: int = 0
    removed: int = 0
    watched: int = 0
    lost_in_memory: list[str] = field(default_factory=list)
    lost_on_disk: list[str] = field(default_factory=list)
    unexpected_on_disk: list[str] = field(default_factory=list)
    key_leaks: list[str] = field(default_factory=list)  # files holding the key or a fragment
    crashed: str = ""

    @property
    def memory_growth(self) -> float:
        if not self.start or not self.end or not self.start.rss_kib:
            return 0.0
        return (self.end.rss_kib - self.start.rss_kib) / self.start.rss_kib

    def problems(
        self,
        memory_limit: float = MEMORY_LIMIT,
        fd_slack: int = FD_SLACK,
        task_slack: int = TASK_SLACK,
    ) -> list[str]:
        found = []
        if self.crashed:
            found.append(f"the app crashed: {self.crashed}")
        if self.start is None or self.end is None:
            return [*found, "no figures (the soak did not run)"]
        if self.memory_growth >= memory_limit:
            found.append(f"memory grew {self.memory_growth:.1%} (limit {memory_limit:.0%})")
        if self.end.fds - self.start.fds > fd_slack:
            found.append(f"fds grew from {self.start.fds} to {self.end.fds}")
        if self.end.tasks - self.start.tasks > task_slack:
            found.append(f"asyncio tasks grew from {self.start.tasks} to {self.end.tasks}")
        if self.lost_in_memory or self.lost_on_disk or self.unexpected_on_disk:
            found.append(
                f"ids lost: {len(self.lost_in_memory)} in memory, {len(self.lost_on_disk)} on"
                f" disk; {len(self.unexpected_on_disk)} on disk that should not be"
            )
        if self.key_leaks:
            found.append(f"the key (or 8+ characters of it) is in {', '.join(self.key_leaks)}")
        if self.requests == 0:
            found.append("no request reached the server")
        return found

    def lines(self) -> list[str]:
        assert self.start and self.end and self.launch
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items()) if v) or "none"
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(self.poll_outcomes.items()))
        return [
            f"soak: {self.seconds:g}s, {self.tasks} seeded tasks, faults {self.faults_spec}",
            f"requests made:   {self.requests} (client counted {self.client_requests})",
            f"faults met:      {sum(self.faults.values())} ({faults})",
            f"poll outcomes:   {outcomes}",
            f"memory (RSS):    {self.start.rss_kib / 1024:.1f} MiB at start, "
            f"{self.end.rss_kib / 1024:.1f} MiB at end ({self.memory_growth:+.1%}; "
            f"{self.launch.rss_kib / 1024:.1f} MiB before the warm-up)",
            f"start sampled:   {self.start_after:.0f}s into the run ({self.start_note})",
            f"open fds:        {self.start.fds} at start, {self.end.fds} at end, "
            f"peak {self.peak_fds}",
            f"asyncio tasks:   {self.start.tasks} at start, {self.end.tasks} at end, "
            f"peak {self.peak_tasks}",
            f"threads:         {self.start.threads} at start, {self.end.threads} at end",
            f"watchlist:       {self.watched} ids ({self.added} added, {self.removed} removed"
            f" during the soak); lost in memory {len(self.lost_in_memory)}, on disk"
            f" {len(self.lost_on_disk)}; unexpected {len(self.unexpected_on_disk)}",
            f"key leaks:       {len(self.key_leaks)} files hold the key or a fragment of it",
        ]


def _die_with_parent() -> None:
    # In the simulator's process: if the soak is killed (a test timeout), the simulator goes too.
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class SimProcess:
    """`mjdash sim` in a child process on a free loopback port."""

    def __init__(self, *, tasks: int, faults: str, speed: float, seed: int) -> None:
        argv = [sys.executable, "-m", "mjdash", "sim", "--port", "0", "--tasks", str(tasks)]
        argv += ["--speed", f"{speed:g}", "--seed", str(seed)]
        if faults:
            argv += ["--faults", faults]
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            preexec_fn=_die_with_parent,  # only the main thread runs at this point
        )
        first = self.process.stdout.readline() if self.process.stdout else ""
        if "simulator on " not in first:
            self.stop()
            raise RuntimeError(f"the simulator did not start: {first!r}")
        self.url = first.split()[-1]
        # Drain the rest of its output so it can never block on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        if self.process.stdout:
            for _ in self.process.stdout:
                pass

    def get(self, path: str) -> object:
        return httpx.get(self.url + path, timeout=10).json()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


RENDER_CACHES = ("_cell_render_cache", "_row_render_cache", "_line_cache")


def render_cache_fill(app: object) -> tuple[int, int, bool]:
    """(entries, bound, all full) over the task table's render caches (DataTable LRUs). They
    flicker just under their bound (changed cells are dropped), so 98% counts as full."""
    try:
        caches = [getattr(app.table, name) for name in RENDER_CACHES]  # type: ignore[attr-defined]
    except Exception:  # another screen on top, or Textual renamed them: not full
        return 0, 1, False
    full = all(len(cache) >= 0.98 * cache.maxsize for cache in caches)
    return sum(len(cache) for cache in caches), sum(cache.maxsize for cache in caches), full


def sample() -> Sample:
    return Sample(
        at=time.monotonic(),
        rss_kib=rss_kib(),
        fds=open_fds(),
        tasks=len(asyncio.all_tasks()),
        threads=threading.active_count(),
    )


XDG_NAMES = ("CONFIG", "DATA", "CACHE", "STATE")


@contextmanager
def private_xdg_home(folder: Path) -> Iterator[None]:
    """Point the XDG dirs into `folder` while the soak runs, then restore them: the preview's
    thumbnails, the status index and any default path land there, never in the user's files (and
    the key-leak scan of `folder` covers them too)."""
    saved = {name: os.environ.get(f"XDG_{name}_HOME") for name in XDG_NAMES}
    try:
        for name in XDG_NAMES:
            os.environ[f"XDG_{name}_HOME"] = str(folder / "xdg" / name.lower())
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(f"XDG_{name}_HOME", None)
            else:
                os.environ[f"XDG_{name}_HOME"] = value


async def _submit(http: httpx.AsyncClient, url: str, prompt: str) -> str | None:
    """One imagine on the (faulty) simulator; None when this attempt met a fault.

    The soak's own requests run in the measured process, so a fault must not cost memory here:
    an `inflate` answer (256 MiB of zeros, gzipped) is refused unread, not decoded by httpx
    (which took RSS to 363 MiB for a moment and left the heap fragmented)."""
    try:
        async with http.stream(
            "POST",
            url + "/mj/submit/imagine",
            json={"prompt": prompt},
            headers={"Authorization": f"Bearer {SOAK_KEY}", "Accept-Encoding": "identity"},
        ) as answer:
            if answer.headers.get("content-encoding", "identity") != "identity":
                return None
            body = b""
            async for chunk in answer.aiter_raw():
                body += chunk
                if len(body) > 64 * 1024:
                    return None
        data = json.loads(body)
    except (httpx.HTTPError, ValueError):
        return None
    if isinstance(data, dict) and data.get("code") == 1 and isinstance(data.get("result"), str):
        return data["result"]
    return None


async def soak(
    seconds: float = 300.0,
    *,
    tasks: int = 1000,
    faults: str = DEFAULT_FAULTS,
    speed: float = 20.0,
    interval: float = 1.0,
    warmup: float | None = None,
    folder: Path | None = None,
    seed: int = DEFAULT_SEED,
    progress: bool = False,
    trace_dir: Path | None = None,
    referrers: tuple[str, ...] = (),
) -> SoakReport:
    from mjdash.ui.run import build_dashboard

    report = SoakReport(seconds=seconds, tasks=tasks, faults_spec=faults)
    warmup = warmup if warmup is not None else min(30.0, max(5.0, seconds * 0.1))
    settle_limit = max(warmup, seconds / 2)  # the longest wait for the render cache to fill
    with (
        tempfile.TemporaryDirectory(prefix="mjdash-soak-") as scratch,
        private_xdg_home(Path(scratch)),
    ):
        folder = folder or Path(scratch)
        sim = SimProcess(tasks=tasks, faults=faults, speed=speed, seed=seed)
        try:
            seeded = sim.get("/_sim/tasks")
            assert isinstance(seeded, list) and len(seeded) >= tasks
            path = folder / "watchlist.toml"
            watchlist = Watchlist.load(path)
            watchlist.add(seeded)
            watchlist.save()
            config = Config(
                api=ApiConfig(base_url=sim.url, allow_http=True, timeout=5.0),
                poll=PollConfig(interval=interval, batch_size=100, concurrency=CONCURRENCY),
                ui=UiConfig(bell=False),
            )
            app = build_dashboard(
                config, Secret(SOAK_KEY), watchlist, cache=TaskCache(folder / "tasks.sqlite3")
            )
            client, poller = app.client, app.poller
            outcomes: Counter[str] = Counter()
            real_poll_once = poller.poll_once

            async def counting_poll_once(force: bool = False):
                result = await real_poll_once(force)
                if result.requests:
                    outcomes[result.state.value] += 1
                return result

            poller.poll_once = counting_poll_once  # type: ignore[method-assign]
            expected = set(seeded)
            report.launch = sample()
            async with (
                app.run_test(headless=True, size=(160, 50), notifications=True) as pilot,
                httpx.AsyncClient() as http,
            ):
                began = time.monotonic()
                next_add = next_remove = next_force = began
                next_sample = next_trace = began
                while (now := time.monotonic()) < began + seconds:
                    if report.start is None and now >= began + warmup:
                        # Settled: the table's render cache has reached its bound (or half the
                        # run has gone): its one-time fill is not growth (see the docstring).
                        cached, bound, full = render_cache_fill(app)
                        if full or now >= began + settle_limit:
                            report.start = sample()
                            report.start_after = now - began
                            report.start_note = (
                                f"warm-up {warmup:g}s; table render caches {cached} of {bound}"
                                + (" (full)" if full else ", NOT full: capped wait")
                            )
                    if now >= next_add:  # like a user: new tasks every few seconds
                        next_add = now + 2.0
                        made = await _submit(http, sim.url, f"soak task {report.added}")
                        if made and app.add_ids([made]):
                            expected.add(made)
                            report.added += 1
                    if now >= next_remove:  # and finished ones removed
                        next_remove = now + 5.0
                        done = [i for i, t in app.tasks.items() if t.is_terminal]
                        if done:
                            app.remove_ids([done[0]])
                            expected.discard(done[0])
                            report.removed += 1
                    if now >= next_force:
                        next_force = now + 15.0
                        await pilot.press("r")
                    if now >= next_sample:
                        next_sample = now + 1.0
                        current = sample()
                        report.peak_fds = max(report.peak_fds, current.fds)
                        report.peak_tasks = max(report.peak_tasks, current.tasks)
                        if trace_dir is not None and now >= next_trace:
                            next_trace = now + 60.0
                            soak_probe.dump(trace_dir, now - began, referrers)
                        if progress:
                            print(
                                f"{now - began:6.0f}s rss {current.rss_kib / 1024:.1f} MiB,"
                                f" fds {current.fds}, tasks {current.tasks},"
                                f" requests {client.request_count},"
                                f" render caches {render_cache_fill(app)[0]},"
                                f" threads {current.threads}, {soak_probe.progress_figures()}:"
                                f" {app.poller.status_line()}",
                                file=sys.stderr,
                            )
                    await pilot.pause(0.2)
                if report.start is None:
                    report.start = sample()
                    report.start_note = "the run ended before the warm-up did"
                report.end = sample()
                app.save_watchlist()
                report.lost_in_memory = sorted(expected - set(app.watchlist.ids))
            if app.return_code not in (None, 0):
                report.crashed = f"exit code {app.return_code}"
            on_disk = set(Watchlist.load(path).ids)
            report.lost_on_disk = sorted(expected - on_disk)
            report.unexpected_on_disk = sorted(on_disk - expected)
            report.watched = len(on_disk)
            report.client_requests = client.request_count
            stats = sim.get("/_sim/stats")
            assert isinstance(stats, dict)
            routes = stats["routes"]
            report.requests = int(routes["fetch"]) + int(routes["list"])  # not the submits
            report.faults = {k: int(v) for k, v in stats["faults"].items() if v}
            report.key_leaks = key_leaks(folder, SOAK_KEY)
            report.poll_outcomes = dict(outcomes)
        finally:
            sim.stop()
    return report


def key_leaks(folder: Path, key: str, fragment: int = 8) -> list[str]:
    """Files under `folder` (watchlist, cache, journal...) holding the key or 8+ chars of it."""
    pieces = [key[i : i + fragment].encode() for i in range(len(key) - fragment + 1)]
    leaks = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(piece in data for piece in pieces):
                leaks.append(path.name)
    return leaks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="how long (default 300)")
    parser.add_argument("--tasks", type=int, default=1000, help="seeded tasks (default 1000)")
    parser.add_argument("--faults", default=DEFAULT_FAULTS, help=f"default {DEFAULT_FAULTS}")
    parser.add_argument("--speed", type=float, default=20.0, help="simulator clock (default 20)")
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval (default 1)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="simulator seed")
    parser.add_argument("--warmup", type=float, default=None, help="least seconds before 'start'")
    parser.add_argument("--memory-limit", type=float, default=MEMORY_LIMIT, help="default 0.10")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--trace", type=Path, default=None, help="object counts here (a minute)")
    parser.add_argument("--tracemalloc", type=int, default=0, help="with --trace: frames kept")
    parser.add_argument("--referrers", default="", help="with --trace: what holds these types")
    parser.add_argument("--progress", action="store_true", help="a line a second on stderr")
    args = parser.parse_args(argv)
    if args.trace is not None and args.tracemalloc:
        tracemalloc.start(args.tracemalloc)
    report = asyncio.run(
        soak(
            args.seconds,
            tasks=args.tasks,
            faults=args.faults,
            speed=args.speed,
            interval=args.interval,
            warmup=args.warmup,
            seed=args.seed,
            progress=args.progress,
            trace_dir=args.trace,
            referrers=tuple(name for name in args.referrers.split(",") if name),
        )
    )
    problems = report.problems(memory_limit=args.memory_limit)
    if args.json:
        data = asdict(report)
        data["memory_growth"] = report.memory_growth
        data["problems"] = problems
        print(json.dumps(data))
    else:
        for line in report.lines():
            print(line)
        print("result:          " + ("ok" if not problems else "; ".join(problems)))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
