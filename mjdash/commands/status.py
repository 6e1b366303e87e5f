"""`mjdash status`: one poll (or --watch until settled, or --cached from the cache alone),
printed as a table, JSON lines or a --format line.

`status --cached` runs in tmux's status line: it must not import httpx, asyncio or textual,
so the poller and asyncio are imported inside the functions that poll.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from mjdash.commands.common import (
    EXIT_BAD_ANSWER,
    EXIT_FAILED,
    EXIT_KEY,
    EXIT_OK,
    EXIT_UNREACHABLE,
    Fail,
    Session,
    check_ids,
    config_from_args,
    err,
    load_watchlist,
    make_client,
    need_key,
    out,
)
from mjdash.model import report as status_report
from mjdash.model.board import Board
from mjdash.model.report import NOT_FOUND, Row, TemplateError
from mjdash.model.secret import Secret
from mjdash.model.summary_text import counts_sentence
from mjdash.store.cache import TaskCache
from mjdash.store.config import Config, watchlist_path

BAD_ANSWERS_TO_GIVE_UP = 3  # --watch stops waiting for an id the server keeps answering junk for


def cmd_status(args: argparse.Namespace, session: Session) -> int:
    config = config_from_args(args, session)
    if args.format is not None:
        try:
            status_report.check_template(args.format)
        except TemplateError as exc:
            raise Fail(str(exc)) from None
    if args.ids:
        ids = check_ids(args.ids)
    elif args.cached:  # tmux's status line: the watchlist's ids from a small index if unchanged
        from mjdash.store import cached_status

        path = watchlist_path(config, flag=args.watchlist)
        ids = cached_status.watchlist_ids(path, lambda: load_watchlist(config, args).ids)
    else:
        watchlist = load_watchlist(config, args)
        ids = watchlist.ids
        if not ids:
            err(f"the watchlist is empty ({watchlist.path}); add ids with `mjdash add`")
    if not ids:
        if args.format is not None:
            out(status_report.render_template(args.format, status_report.Counts()))
        return EXIT_OK
    if args.cached:
        return _status_cached(args, ids, config.api.base_url)
    key = need_key(config, session)
    report = _Report(args, sys.stdout)
    import asyncio

    rows = asyncio.run(_status(config, key, ids, args, report))
    if args.watch:  # the last word after the redraws: how the batch ended
        line = counts_sentence(status_report.Counts.of(rows))
        if args.json or args.format is not None:
            err(line)  # stdout stays machine-readable
        else:
            out(line)
    if args.exit_status and any(row.failed for row in rows):
        return EXIT_FAILED
    if any(row.error and row.error != NOT_FOUND for row in rows):
        return EXIT_BAD_ANSWER  # printed with the good rows; the bad ones say why
    return EXIT_OK


def _status_cached(args: argparse.Namespace, ids: list[str], server: str) -> int:
    """status --cached: counts (or rows) from the cache alone; no key, no request."""
    import sqlite3

    from mjdash.store import cache, cached_status

    if args.watch:
        raise Fail("--cached reads the cache once; it cannot --watch")
    try:
        if args.format is not None:
            counts = cached_status.cached_counts(cache.default_path(), ids, server)
            out(status_report.render_template(args.format, counts))
            return EXIT_OK
        tasks, not_found = cached_status.cached_answers(cache.default_path(), ids, server)
    except sqlite3.Error as exc:
        raise Fail(f"the task cache cannot be read ({exc}); run `mjdash status` once") from None
    # Never polled: no task, no error ("not polled yet"); last answered "not found": says so.
    rows = [Row(i, None, NOT_FOUND) if i in not_found else Row(i, tasks.get(i)) for i in ids]
    _Report(args, sys.stdout).show(rows, interval=0, final=True)
    if args.exit_status and any(row.failed for row in rows):
        return EXIT_FAILED
    return EXIT_OK


class _Report:
    """Prints the rows in the chosen shape; in --watch, reprints what changed."""

    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        self.json = args.json
        self.template: str | None = args.format
        self.watch = args.watch
        self.out = out
        self.tty = out.isatty()
        self.color = (
            self.tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        )
        self._printed: dict[str, tuple] = {}
        self._last_text: str | None = None

    def show(self, rows: list[Row], *, interval: float, final: bool) -> None:
        if self.json:
            for row in rows:
                sig = _signature(row)
                if self._printed.get(row.id) != sig:
                    self._printed[row.id] = sig
                    self.out.write(status_report.json_line(row) + "\n")
        elif self.template is not None:
            text = status_report.render_template(self.template, status_report.Counts.of(rows))
            if text != self._last_text or not self.watch:
                self._last_text = text
                self.out.write(text + "\n")
        else:
            self._table(rows, interval=interval, final=final)
        self.out.flush()

    def _table(self, rows: list[Row], *, interval: float, final: bool) -> None:
        signature = tuple(_signature(row) for row in rows)
        if self.watch and not self.tty and self._printed.get("") == signature:
            return  # piped: print a table again only when something changed
        first = "" not in self._printed
        self._printed[""] = signature
        width = shutil.get_terminal_size((120, 24)).columns
        lines = status_report.render_table(
            rows, width=width, now=datetime.now(UTC), color=self.color
        )
        if self.watch and self.tty:
            self.out.write("\x1b[H\x1b[2J")  # redraw in place
        elif self.watch and not first:
            self.out.write("\n")
        self.out.write("\n".join(lines) + "\n")
        if self.watch and self.tty and not final:
            counts = status_report.Counts.of(rows)
            self.out.write(
                f"\n{counts.done}/{counts.total} done · polled {datetime.now():%H:%M:%S}"
                f" · every {interval:g}s · Ctrl+C stops\n"
            )


def _signature(row: Row) -> tuple:
    task = row.task
    if task is None:
        return (row.error,)
    return (task.status, task.status_raw, task.progress, task.image_url, row.error)


async def _status(
    config: Config, key: Secret, ids: list[str], args: argparse.Namespace, report: _Report
) -> list[Row]:
    """Poll until every id is answered (or, with --watch, settled); print; return the rows."""
    import asyncio

    from mjdash.net.poller import BAD_ANSWER, Poller, PollerState

    client = make_client(config, key)
    cache = TaskCache(server=client.base_url)
    try:
        poller = Poller(client, interval=config.poll.interval)
        # Finished tasks never change: the cache answers for them without a request.
        known = {i: t for i, t in cache.load(ids).items() if t.is_terminal}
        poller.track(ids, known=known)
        board = Board()  # the dashboard's merge: one answer per id, bad answers kept per id
        board.load(known)
        watched = set(ids)
        bad_streak: dict[str, int] = {}
        failing_since: float | None = None
        force = False
        dns_checked = False
        while True:
            started = time.monotonic()
            if failing_since is None:
                failing_since = started
            remaining = failing_since + args.timeout - started
            try:
                async with asyncio.timeout(max(remaining, 0.05)):
                    result = await poller.poll_once(force=force)
            except TimeoutError:
                raise Fail(
                    f"server unreachable at {client.base_url}: no answer within {args.timeout:g}s",
                    EXIT_UNREACHABLE,
                ) from None
            force = False
            if result.state is PollerState.OK:
                failing_since = None
                cache.put_many(result.tasks.values(), not_found=result.not_found)
                board.apply(result, watched, time.time())
                for task_id in result.tasks:
                    bad_streak.pop(task_id, None)
                for task_id in result.bad:
                    bad_streak[task_id] = bad_streak.get(task_id, 0) + 1
                ordered = [board.report_row(i) for i in ids]
                settled = all(
                    row.settled or bad_streak.get(row.id, 0) >= BAD_ANSWERS_TO_GIVE_UP
                    for row in ordered
                )
                answered = all(row.task is not None or row.error for row in ordered)
                if not args.watch:
                    if answered:
                        report.show(ordered, interval=poller.interval, final=True)
                        return ordered
                    await asyncio.sleep(min(result.next_delay, 1.0))
                    continue
                report.show(ordered, interval=poller.interval, final=settled)
                if settled:
                    return ordered
                await asyncio.sleep(result.next_delay)
                continue
            if result.state is PollerState.AUTH_FAILED:
                raise Fail(result.error or f"key rejected: check {config.api.key_env}", EXIT_KEY)
            if result.state is PollerState.UNREACHABLE and not dns_checked:
                # A name that does not resolve will not start resolving within --timeout.
                dns_checked = True
                host = await _unresolvable_host(client.base_url)
                if host is not None:
                    raise Fail(
                        f"server unreachable at {client.base_url}: the name {host} does not "
                        "resolve (check the URL, [api].base_url or MJDASH_BASE_URL)",
                        EXIT_UNREACHABLE,
                    )
            # Unreachable, server errors, rate limits, junk answers: the poller's backoff says
            # when to try again; give up once --timeout has passed since the failures began.
            now = time.monotonic()
            remaining = failing_since + args.timeout - now
            error = (result.error or "no usable answer").removeprefix("server unreachable: ")
            if result.state is PollerState.RATE_LIMITED and result.next_delay > remaining:
                raise Fail(
                    f"{error} at {client.base_url}; try again in {result.next_delay:.0f}s",
                    EXIT_UNREACHABLE,
                )
            if remaining <= 0:
                if result.state is PollerState.UNREACHABLE:
                    message = f"server unreachable at {client.base_url}: {error}"
                else:
                    message = f"no usable answer from {client.base_url}: {error}"
                bad = result.headline == BAD_ANSWER
                raise Fail(message, EXIT_BAD_ANSWER if bad else EXIT_UNREACHABLE)
            wait = min(result.next_delay, remaining)
            force = wait < result.next_delay  # the last try, at the deadline
            await asyncio.sleep(wait)
    finally:
        cache.close()
        await client.aclose()
        if note := client.auth_note():
            err(note)


_PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)


async def _unresolvable_host(base_url: str) -> str | None:
    """The host name when the resolver says it does not exist (not a temporary failure, which
    is retried like any other); None otherwise, or behind a proxy (the proxy resolves)."""
    import asyncio
    import socket
    from urllib.parse import urlsplit

    host = urlsplit(base_url).hostname or ""
    if not host or any(os.environ.get(name) for name in _PROXY_VARIABLES):
        return None
    no_such_name = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
    try:
        await asyncio.get_running_loop().getaddrinfo(host, None)
    except socket.gaierror as exc:
        return host if exc.errno in no_such_name else None
    except (OSError, UnicodeError):
        return None
    return None
