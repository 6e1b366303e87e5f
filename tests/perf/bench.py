"""mjdash at scale: requests, CPU, UI cost, idle CPU, first paint and memory, side by side.

    .venv/bin/python tests/perf/bench.py            # N = 100, 1,000, 10,000 (about 2 minutes)
    .venv/bin/python tests/perf/bench.py --quick    # N = 100 request counts only (seconds)

Everything runs on 127.0.0.1 against the simulator in its own process, and stops by itself.
Figures (one table at the end; --json FILE keeps the raw numbers):

1. HTTP requests per poll cycle, counted by the simulator: mjdash's poller, the seed's loop (one
   GET /mj/task/{id}/fetch per task per cycle until SUCCESS/FAILURE, as in the API docs'
   samples), and the limit ceil(unfinished / batch_size). "cold" is the first cycle with nothing
   known; "steady" the mean of the next cycles (the simulator's clock moves 5 s between cycles).
2. Client CPU ms per cycle (process CPU time around one cycle: request building, parsing,
   scheduling), mjdash and the seed loop.
3. UI, in process, headless (the real MjdashApp): ms to apply a poll result in which every row
   changed; ms for the frame drawn after it (compositor update plus the terminal string a tty
   would get); the same for a result that changed nothing; the 1 s tick. Ratio N=10,000/N=100.
4. Idle CPU % of the real `mjdash` (the CLI, in a pseudo-terminal, 130x40) over 20 s: 10,000
   tasks all finished (or MODAL), and 1,000 running tasks polled every 2 s. From /proc.
5. Time to first paint of the real `mjdash`: from process start until the first cached row (a
   prompt) is on the terminal, 10,000 cached tasks versus an empty watchlist (median of runs).
6. Peak RSS (VmHWM) of `mjdash` with 10,000 tasks.
7. Component timings (tests/perf/bench_components.py, a table of its own): cleaning and parsing
   1 MB of hostile text, the cache and the watchlist at 10,000, the simulator's start and stop,
   how long the client takes to give up on a stalled, drip-fed or huge answer, and how soon
   `mjdash status` exits on a rejected key or an unreachable server. The unit tests assert what
   these do; their speed is measured here, next to the bound the old asserts used.
8. Images (--images runs only these; tests/perf/bench_images.py): decode + scale of 2048x2048
   PNG, JPEG and WebP beside the old pure-Python decoder, the longest frame gap while a decode
   runs, the contact sheet of 1,000 tasks (frame time while paging, thumbnails per second).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf import bench_components, bench_images, benchlib
from tests.perf.benchlib import (
    BATCH,
    SimProcess,
    count_requests,
    dashboard_env,
    measure_ui,
    prepare_home,
    run_dashboard_in_pty,
)

SIZES = (100, 1_000, 10_000)
TARGET_APPLY_MS = 100.0
TARGET_FRAME_RATIO = 2.0
TARGET_IDLE_DONE = 1.0
TARGET_IDLE_RUNNING = 3.0  # issue 11: at most 3 %
TARGET_PAINT_DELTA = 1.0
TARGET_RSS_MB = 250.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="mjdash-bench-"))
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):  # never the user's files
        os.environ[f"XDG_{name}_HOME"] = str(work / "self" / name.lower())
    sizes = (100,) if args.quick else tuple(args.sizes)
    out: dict[str, Any] = {"requests": {}, "ui": {}, "pty": {}}
    if args.images:  # 7. images (tests/perf/bench_images.py), on their own
        log("images: decode, frame gaps, the contact sheet of 1,000 tasks")
        out["images"] = bench_images.run_images()
        return out
    for n in sizes:
        log(f"N={n}: requests per cycle (mjdash, seed loop, limit)")
        with SimProcess("seeded", n) as sim:
            figures, known = asyncio.run(
                count_requests(sim.url, sim.ids, sim.stats, sim.advance, cycles=args.cycles)
            )
            out["requests"][n] = figures
            if args.quick:
                continue
            if n in (100, 10_000):
                log(f"N={n}: UI apply, frame, tick")
                out["ui"][n] = asyncio.run(measure_ui(sim.url, work / f"ui{n}", sim.ids, known))
            if n == 10_000:
                paint_and_idle(args, out, work, sim, known)
    if not args.quick:
        running_idle(args, out, work)
        log("images: decode, frame gaps, the contact sheet of 1,000 tasks")
        out["images"] = bench_images.run_images()
    component_timings(args, out)
    return out


def paint_and_idle(
    args: argparse.Namespace, out: dict[str, Any], work: Path, sim: SimProcess, known: dict
) -> None:
    ids = sim.ids
    empty_home = work / "empty"
    prepare_home(empty_home, [], {})
    home = work / "paint10k"
    watchlist = prepare_home(home, ids, known)
    first = known[ids[0]]
    marker = " ".join(first.prompt.split())[:12].encode()
    log(f"first paint: empty watchlist x{args.paint_runs}, 10,000 cached x{args.paint_runs}")
    empty, full = [], []
    for _ in range(args.paint_runs):
        empty.append(
            run_dashboard_in_pty(
                env=dashboard_env(empty_home, sim.url),
                args=["--watchlist", str(empty_home / "watchlist.toml")],
                marker=b"0 tasks",
            )
        )
        full.append(
            run_dashboard_in_pty(
                env=dashboard_env(home, sim.url),
                args=["--watchlist", str(watchlist)],
                marker=marker,
                settle=4.0,  # the first poll of the unfinished ones is in the peak RSS
                measure=0.1,
            )
        )
    out["pty"]["paint_empty"] = empty
    out["pty"]["paint_10k"] = full

    log("idle: 10,000 tasks, all finished, 20 s")
    sim.advance(30 * 24 * 3600)  # everything ends (stuck tasks time out after an hour)
    done = asyncio.run(fetch_all(sim.url, ids))
    home = work / "idle10k"
    watchlist = prepare_home(home, ids, done)
    marker = " ".join(done[ids[0]].prompt.split())[:12].encode()
    out["pty"]["idle_done"] = run_dashboard_in_pty(
        env=dashboard_env(home, sim.url),
        args=["--watchlist", str(watchlist)],
        marker=marker,
        settle=args.settle,
        measure=args.idle_seconds,
        requests=sim.requests,
    )
    out["pty"]["idle_done_unfinished"] = sum(1 for t in done.values() if t.needs_polling)


def running_idle(args: argparse.Namespace, out: dict[str, Any], work: Path) -> None:
    log("idle: 1,000 running tasks, polled every 2 s, 20 s")
    with SimProcess("running", 1_000, speed=0.5) as sim:
        tasks = asyncio.run(fetch_all(sim.url, sim.ids))
        home = work / "running1k"
        watchlist = prepare_home(home, sim.ids, tasks)
        marker = " ".join(tasks[sim.ids[0]].prompt.split())[:12].encode()
        out["pty"]["idle_running"] = run_dashboard_in_pty(
            env=dashboard_env(home, sim.url),
            args=["--watchlist", str(watchlist), "--interval", "2"],
            marker=marker,
            settle=args.settle,
            measure=args.idle_seconds,
            requests=sim.requests,
        )
        out["pty"]["idle_running_unfinished"] = sum(1 for t in tasks.values() if t.needs_polling)


async def fetch_all(url: str, ids: list[str]) -> dict:
    from mjdash.model.secret import Secret
    from mjdash.net.client import MidjourneyClient

    async with MidjourneyClient(url, Secret(benchlib.KEY), batch_size=BATCH) as client:
        found = await client.fetch_many(ids)
    return {i: t for i, t in found.items() if t is not None and not hasattr(t, "reason")}


# --- component timings (the speed checks that were asserts in tests/unit) ---------------------


def component_timings(args: argparse.Namespace, out: dict[str, Any]) -> None:
    if args.quick:
        return
    log("component timings: text cleaning, cache, watchlist, simulator, client faults, CLI exits")
    out["components"] = bench_components.measure(repeat=3)


# --- the table --------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def table(out: dict[str, Any]) -> str:
    sizes = sorted(out["requests"])
    head = ["", *[f"N={n:,}" for n in sizes], "target", "met"]
    rows: list[list[str]] = []

    def row(label: str, values: list[str], target: str = "", met: str = "") -> None:
        rows.append([label, *values, target, met])

    def only(n: int, text: str) -> list[str]:
        """`text` in the column of N=n (the figures measured at one size only)."""
        return [text if size == n else "" for size in sizes]

    req = out["requests"]
    at_limit = all(req[n].all_at_limit for n in sizes)
    row(
        "1 requests/cycle, steady: mjdash",
        [_fmt(req[n].mean("mjdash")) for n in sizes],
        "= limit",
        "yes" if at_limit else "NO",
    )
    row("  limit ceil(unfinished/100)", [_fmt(req[n].mean("limit")) for n in sizes])
    row("  seed loop (1 GET per task)", [_fmt(req[n].mean("seed")) for n in sizes])
    row(
        "  unfinished tasks (polled ids)",
        [f"{req[n].mean('unfinished'):,.0f} ({req[n].mean('mjdash_ids'):,.0f})" for n in sizes],
    )
    row(
        "  cold 1st cycle: mjdash / seed",
        [f"{req[n].cold.mjdash} / {req[n].cold.seed:,}" for n in sizes],
        "= limit",
        "yes" if all(req[n].cold.mjdash == req[n].cold.limit for n in sizes) else "NO",
    )
    row(
        "2 client CPU ms/cycle, steady: mjdash", [_fmt(req[n].mean("mjdash_cpu_ms")) for n in sizes]
    )
    row("  seed loop", [_fmt(req[n].mean("seed_cpu_ms"), 0) for n in sizes])
    row(
        "  cold 1st cycle: mjdash / seed",
        [f"{req[n].cold.mjdash_cpu_ms:,.0f} / {req[n].cold.seed_cpu_ms:,.0f}" for n in sizes],
    )

    ui = out["ui"]
    if 100 in ui and 10_000 in ui:
        small, big = ui[100], ui[10_000]

        def at(n: int, name: str) -> str:
            return _fmt(getattr(ui[n], name), 1) if n in ui else "-"

        apply_met = big.apply_ms <= TARGET_APPLY_MS
        row(
            "3 UI apply, every row changed (ms)",
            [at(n, "apply_ms") for n in sizes],
            f"<= {TARGET_APPLY_MS:.0f} @10k",
            "yes" if apply_met else "NO",
        )
        if big.batch_ms is not None:
            row("  of which batch.on_poll (ms)", [at(n, "batch_ms") for n in sizes])
        ratio = big.frame_ms / small.frame_ms
        row(
            "  frame after it (ms)",
            [at(n, "frame_ms") for n in sizes],
            f"ratio <= {TARGET_FRAME_RATIO:g}",
            f"{'yes' if ratio <= 2 else 'NO'} ({ratio:.2f})",
        )
        row("  apply ratio 10k/100", only(10_000, f"{big.apply_ms / small.apply_ms:.1f}x"))
        ratio = big.visible_frame_ms / small.visible_frame_ms
        row(
            "  frame, only visible rows changed (ms)",
            [at(n, "visible_frame_ms") for n in sizes],
            "(control)",
            f"({ratio:.2f})",
        )
        row("  apply, nothing changed (ms)", [at(n, "idle_apply_ms") for n in sizes])
        row("  1 s tick (ms)", [at(n, "tick_ms") for n in sizes])

    pty = out["pty"]
    if "idle_done" in pty:
        done, running = pty["idle_done"], pty.get("idle_running")
        idle_met = done.cpu_percent is not None and done.cpu_percent < TARGET_IDLE_DONE
        row(
            "4 idle CPU %, 10,000 all finished",
            only(10_000, f"{_fmt(done.cpu_percent, 2)} ({done.requests} req)"),
            f"< {TARGET_IDLE_DONE:g}%",
            "yes" if idle_met else "NO",
        )
        if running is not None:
            run_met = running.cpu_percent is not None and running.cpu_percent <= TARGET_IDLE_RUNNING
            per_min = None if running.requests is None else running.requests * 60 / 20
            row(
                "  idle CPU %, 1,000 running @2 s",
                only(1_000, f"{_fmt(running.cpu_percent, 2)} ({_fmt(per_min, 0)} req/min)"),
                f"<= {TARGET_IDLE_RUNNING:g}%",
                "yes" if run_met else "NO",
            )
        empty = [r.first_paint_s for r in pty["paint_empty"] if r.first_paint_s is not None]
        full = [r.first_paint_s for r in pty["paint_10k"] if r.first_paint_s is not None]
        if empty and full:
            e, f = statistics.median(empty), statistics.median(full)
            row(
                "5 first paint (s): empty / 10,000 cached",
                only(10_000, f"{e:.2f} / {f:.2f} (+{f - e:.2f})"),
                f"+<= {TARGET_PAINT_DELTA:g} s",
                "yes" if f - e <= TARGET_PAINT_DELTA else "NO",
            )
        rss = [r.peak_rss_mb for r in [*pty["paint_10k"], done] if r.peak_rss_mb]
        if rss:
            peak = max(rss)
            row(
                "6 peak RSS (MB) at 10,000",
                only(10_000, f"{peak:.0f}"),
                f"< {TARGET_RSS_MB:.0f}",
                "yes" if peak < TARGET_RSS_MB else "NO",
            )

    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = []
    for index, r in enumerate([head, *rows]):
        cells = [r[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="N=100 request counts only")
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=list(SIZES),
        help="comma-separated N (default 100,1000,10000)",
    )
    parser.add_argument("--cycles", type=int, default=2, help="steady cycles (default 2)")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after first paint")
    parser.add_argument("--paint-runs", type=int, default=3)
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures here")
    parser.add_argument("--images", action="store_true", help="the images section only")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    out = run(args)
    if out["requests"]:
        print(table(out))
    if "images" in out:
        print(bench_images.images_table(out["images"]))
    if out.get("components"):
        print("\n" + bench_components.table(out["components"]))
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, default=_plain, indent=1))
    return 0


def _plain(value: object) -> object:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[arg-type]
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
