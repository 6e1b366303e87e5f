"""`mjdash status --cached`: counts from the task cache only, no network, fast enough for tmux.

tmux runs `status-right` commands every `status-interval` seconds, so this path reads the
SQLite cache read-only, asks SQLite for each task's status (json_extract, no JSON parsing in
Python) and imports nothing heavy: no httpx, no asyncio, no textual. The counts are what the
dashboard (or the last `mjdash status`) saw: an id the server last answered as not found is
`missing` (store/cache.py keeps those answers), one never answered `unpolled`.

Parsing a TOML watchlist of 1,000 entries costs more than everything else together, so the ids
are also kept in a small JSON index in the cache dir, used while the watchlist file is the same
one (device, inode, size and mtime unchanged: every save replaces the file).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from mjdash.model.buckets import MISSING, WAITING, bucket, tally
from mjdash.model.report import Counts
from mjdash.model.task import Task, parse_status
from mjdash.store import atomic, paths
from mjdash.store.cache import (
    STATUS_COLUMN,
    parse_rows,
    select_by_ids,
    select_not_found,
    server_key,
)

INDEX_NAME = "status-ids.json"


def index_path() -> Path:
    return paths.cache_dir() / INDEX_NAME


def _stamp(path: Path) -> list[int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns]


def watchlist_ids(path: Path, load: Callable[[], list[str]]) -> list[str]:
    """The watchlist's ids: from the index when the file is unchanged, else `load()` (and the
    index is rewritten; failing to write it only costs speed)."""
    stamp = _stamp(path)
    where = str(path.resolve()) if stamp is not None else str(path)
    index = index_path()
    if stamp is not None:
        with contextlib.suppress(OSError, ValueError, RecursionError):
            saved = json.loads(index.read_bytes())
            if (
                isinstance(saved, dict)
                and saved.get("path") == where
                and saved.get("stamp") == stamp
                and isinstance(saved.get("ids"), list)
                and all(isinstance(i, str) for i in saved["ids"])
            ):
                return saved["ids"]
    ids = load()
    if stamp is not None and _stamp(path) == stamp:  # not replaced while we read it
        data = json.dumps({"path": where, "stamp": stamp, "ids": ids}, separators=(",", ":"))
        with contextlib.suppress(OSError):
            if not index.parent.is_dir():
                paths.ensure_private_dir(index.parent)
            atomic.write_atomic(index, data.encode("utf-8"))
    return ids


def _connect(path: Path) -> sqlite3.Connection | None:
    """The cache opened read-only, or None when there is none (never creates a file)."""
    if not path.is_file():
        return None
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=0.5)
    db.execute("PRAGMA query_only=1")
    return db


def _server_filter(db: sqlite3.Connection, server: str) -> tuple[str, list[str]]:
    """The WHERE part that keeps one server's rows (a version-1 cache has no server column:
    its rows belong to no server yet, as after migration, and answer for the configured one)."""
    if db.execute("PRAGMA user_version").fetchone()[0] < 2:
        return "", []
    return "server IN (?, '') AND ", [server_key(server)]


def cached_statuses(path: Path, ids: list[str], server: str = "") -> dict[str, object]:
    """id -> the raw status stored in the cache for `server` (ids not cached are left out).

    Raises sqlite3.Error for an unreadable cache.
    """
    return _statuses_and_not_found(path, ids, server)[0]


def _statuses_and_not_found(
    path: Path, ids: list[str], server: str
) -> tuple[dict[str, object], set[str]]:
    """`cached_statuses`, and the ids the server last answered as not found (one connection)."""
    db = _connect(path)
    if db is None:
        return {}, set()
    try:
        where, args = _server_filter(db, server)
        statuses = dict(select_by_ids(db, ids, STATUS_COLUMN, where=where, args=args))
        return statuses, select_not_found(db, ids, server_key(server))
    finally:
        db.close()


def cached_counts(path: Path, ids: list[str], server: str = "") -> Counts:
    """Counts by bucket (model/buckets.py), as `mjdash status --format` counts, from the cache
    alone: an id the server last answered as not found is `missing` (whatever snapshot is kept
    from before), an id not in the cache `unpolled` (not polled yet). Each id counts once."""
    unique = list(dict.fromkeys(ids))
    statuses, not_found = _statuses_and_not_found(path, unique, server)

    def bucket_of(task_id: str) -> str:
        if task_id in not_found:
            return MISSING
        if task_id in statuses:
            return bucket(parse_status(statuses[task_id])[0])
        return WAITING

    return Counts(**tally(bucket_of(i) for i in unique))


def cached_tasks(path: Path, ids: list[str], server: str = "") -> dict[str, Task]:
    """The cached tasks among `ids`, parsed as the dashboard parses them (for --json / table)."""
    return cached_answers(path, ids, server)[0]


def cached_answers(
    path: Path, ids: list[str], server: str = ""
) -> tuple[dict[str, Task], set[str]]:
    """`cached_tasks`, and the ids the server last answered as not found."""
    db = _connect(path)
    if db is None:
        return {}, set()
    try:
        where, args = _server_filter(db, server)
        unique = list(dict.fromkeys(ids))
        tasks = parse_rows(select_by_ids(db, unique, where=where, args=args))
        return tasks, select_not_found(db, unique, server_key(server))
    finally:
        db.close()
