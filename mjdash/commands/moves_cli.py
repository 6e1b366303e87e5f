"""What `mjdash press` and `mjdash retry` share: fetching the tasks, the confirm prompt, the
dry run, running the jobs with one line per result, and the watchlist.

Nothing is sent unconfirmed: --yes confirms; otherwise a terminal on stdin is asked (the
number typed when the move is over [act] confirm_over), and without one the command refuses.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mjdash.commands.common import (
    EXIT_FAILED,
    EXIT_KEY,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    Fail,
    err,
    make_client,
    out,
    plural,
)
from mjdash.model.secret import Secret
from mjdash.model.task import Task, clean
from mjdash.store.config import Config
from mjdash.store.watchlist import Watchlist, WatchlistError

if TYPE_CHECKING:
    from mjdash.model.moves import Skip
    from mjdash.net.batch_press import Job, JobResult


def fetch_tasks(config: Config, key: Secret, ids: Sequence[str]) -> dict[str, Task | None]:
    """The tasks' current states (None: not found or unreadable). Fail on a rejected key or an
    unreachable server: nothing is planned on guesses."""
    import asyncio

    from mjdash.net.client import AuthError, MjError

    async def fetch() -> dict[str, Task | None]:
        # A client per event loop: the submits later run in another asyncio.run.
        async with make_client(config, key) as client:
            found = await client.fetch_many(ids)
        return {i: t if isinstance(t, Task) else None for i, t in found.items()}

    try:
        return asyncio.run(fetch())
    except AuthError as exc:
        raise Fail(str(exc), EXIT_KEY) from None
    except MjError as exc:
        raise Fail(f"cannot read the tasks: {exc}", EXIT_UNREACHABLE) from None


def report_skips(skips: Sequence[Skip]) -> None:
    for skip in skips:
        button = f" {clean(skip.button, 80, single_line=True)}" if skip.button else ""
        err(f"skipped {skip.task_id}{button}: {skip.reason}")


def print_dry_run(jobs: Sequence[Job], base_url: str, as_json: bool) -> None:
    """The requests that would be sent: method, URL, body. The key is in a header, never here."""
    for job in jobs:
        method, path, body = job.request()
        if as_json:
            out(json.dumps({"method": method, "url": base_url + path, "body": body}))
        else:
            out(f"{method} {base_url}{path} {json.dumps(body, ensure_ascii=False)}")


def confirm(question: str, count: int, config: Config, args: argparse.Namespace) -> None:
    """Return when the move is confirmed; Fail otherwise (exit 2, nothing sent)."""
    from mjdash.model.moves import needs_typed_confirm

    if args.yes:
        return
    if sys.stdin is None or not sys.stdin.isatty():
        raise Fail(
            f"{question}: not sent; stdin is not a terminal to ask, add --yes to confirm",
            EXIT_USAGE,
        )
    typed = needs_typed_confirm(count, config.act.confirm_over)
    ask = f"type {count} to confirm" if typed else "send? [y/N]"
    print(f"{question}; {ask} ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline().strip()
    except (OSError, ValueError):
        answer = ""
    accepted = answer == str(count) if typed else answer.lower() in ("y", "yes")
    if not accepted:
        raise Fail("not confirmed; nothing was sent", EXIT_USAGE)


def run_and_print(
    config: Config,
    key: Secret,
    jobs: Sequence[Job],
    watchlist: Watchlist,
    args: argparse.Namespace,
) -> int:
    """Send the jobs (paced), print one line (or JSON line) per result, keep the new tasks in
    the watchlist. Exit 1 when any job was refused; 3 / 4 when the batch was cut short."""
    import asyncio

    from mjdash.net.batch_press import BatchAborted, record_result, run_jobs

    results: list[JobResult] = []

    def report(result: JobResult) -> None:
        results.append(result)
        record_result(watchlist, result)
        out(json.dumps(result.to_json()) if args.json else result.line())

    async def run() -> None:
        async with make_client(config, key) as client:
            await run_jobs(client, jobs, pace=args.pace, report=report)

    try:
        asyncio.run(run())
    except BatchAborted as exc:
        left = len(exc.run.unsent)
        message = f"{exc.message} ({plural(left, 'job')} not sent)" if left else exc.message
        raise Fail(message, EXIT_KEY if exc.kind == "key" else EXIT_UNREACHABLE) from None
    finally:
        if watchlist.dirty:
            try:
                watchlist.save()
            except WatchlistError as exc:
                err(str(exc))
    refused = sum(1 for r in results if not r.ok)
    summary = f"{plural(len(results) - refused, 'job')} submitted"
    if refused:
        summary += f", {refused} refused"
    err(summary)
    return EXIT_FAILED if refused else EXIT_OK
