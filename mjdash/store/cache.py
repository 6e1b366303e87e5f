"""Last-known task snapshots in SQLite: an instant screen on restart, no request for finished tasks.

The cache is disposable. A file that is corrupt or of another schema is moved aside and a new one
started; if even that fails (read-only folder) the cache lives in memory. Nothing here raises into
the app: failures land in `error` and the dashboard polls the server as if the cache were empty.
Rows hold the server-shaped JSON (`Task.to_api_dict`) and are read back through `parse_task`, so
a tampered cache is no more trusted than the server.

Rows are keyed by server (the base URL, mode prefix included) and id: a task cached from one
server never answers for another. A version-1 cache (keyed by id alone) is migrated: its rows
belong to no server until the first cache opened with a server adopts them (they came from the
server configured at the time, which is almost always still the one configured).

Not-found answers are kept too (table `not_found`, by server and id), so `status --cached` can
say "not found" instead of "not polled yet": a task answered later loses its mark in the same
transaction that stores it. The table was added within schema version 2 (CREATE IF NOT EXISTS):
an older cache simply has no marks yet, and readers that open the file read-only check for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mjdash.model.task import Task, parse_task
from mjdash.store import atomic, paths

FILE_NAME = "tasks.sqlite3"
SCHEMA_VERSION = 2
_CREATE = (
    "CREATE TABLE IF NOT EXISTS tasks (server TEXT NOT NULL, id TEXT NOT NULL,"
    " json TEXT NOT NULL, updated REAL NOT NULL, PRIMARY KEY (server, id))"
)


NOT_FOUND_TABLE = "not_found"
_CREATE_NOT_FOUND = (
    f"CREATE TABLE IF NOT EXISTS {NOT_FOUND_TABLE} (server TEXT NOT NULL, id TEXT NOT NULL,"
    " updated REAL NOT NULL, PRIMARY KEY (server, id))"
)


_PUT_TASK = "INSERT OR REPLACE INTO tasks (server, id, json, updated) VALUES (?, ?, ?, ?)"
_PUT_NOT_FOUND = f"INSERT OR REPLACE INTO {NOT_FOUND_TABLE} (server, id, updated) VALUES (?, ?, ?)"
_CLEAR_NOT_FOUND = f"DELETE FROM {NOT_FOUND_TABLE} WHERE server = ? AND id = ?"


def server_key(base_url: str) -> str:
    """The cache's name for a server: its base URL without a trailing slash."""
    return base_url.strip().rstrip("/")


_CHUNK = 500  # ids per IN (...) clause, well under SQLite's variable limit
_CORRUPTION_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_SIDE_FILES = ("-wal", "-shm", "-journal")


def default_path() -> Path:
    return paths.cache_dir() / FILE_NAME


def _is_corruption(exc: Exception) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _CORRUPTION_CODES
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


# The queries, for TaskCache and for `status --cached` (which opens the file read-only itself).
JSON_COLUMN = "json"
STATUS_COLUMN = "json_extract(json, '$.status')"  # the status without parsing JSON in Python


def select_by_ids(
    db: sqlite3.Connection,
    ids: list[str],
    column: str = JSON_COLUMN,
    *,
    where: str = "",
    args: Sequence[str] = (),
) -> list[tuple[str, Any]]:
    """(id, column) of the cached tasks among `ids`, asked in chunks under SQLite's variable limit.

    `where` (ending in "AND ") and its `args` narrow the rows first, e.g. to one server's.
    Raises sqlite3.Error for an unreadable cache.
    """
    rows: list[tuple[str, Any]] = []
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        query = f"SELECT id, {column} FROM tasks WHERE {where}id IN ({marks})"
        rows += db.execute(query, [*args, *chunk]).fetchall()
    return rows


def select_not_found(db: sqlite3.Connection, ids: list[str], server: str) -> set[str]:
    """The ids among `ids` with a not-found mark for `server` (a cache older than the marks has
    no table for them: none). Raises sqlite3.Error for an unreadable cache."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (NOT_FOUND_TABLE,)
    ).fetchone()
    if exists is None:
        return set()
    found: set[str] = set()
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        query = f"SELECT id FROM {NOT_FOUND_TABLE} WHERE server = ? AND id IN ({marks})"
        found.update(row[0] for row in db.execute(query, [server, *chunk]))
    return found


def parse_rows(rows: Iterable[tuple[str, str]]) -> dict[str, Task]:
    """Rows of (id, json) read back as the server's answers are: unreadable ones are left out."""
    tasks: dict[str, Task] = {}
    for task_id, text in rows:
        try:
            obj = json.loads(text)
        except (ValueError, TypeError, RecursionError):
            continue
        task = parse_task(obj, task_id)
        if isinstance(task, Task) and task.id == task_id:
            tasks[task_id] = task
    return tasks


class TaskCache:
    """Task snapshots by id. Safe to share between threads (one connection behind a lock)."""

    def __init__(self, path: Path | str | None = None, *, server: str = "") -> None:
        self.path = Path(path) if path is not None else default_path()
        self.server = server_key(server)
        self.error: str | None = None  # the last thing that went wrong, for a status line
        self.moved_aside: Path | None = None  # where a corrupt file went
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = self._open()

    # opening ------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect(self.path)
        except (sqlite3.Error, OSError) as exc:
            first = exc
        if _is_corruption(first):
            try:
                self._move_aside()
                connection = self._connect(self.path)
                self.error = f"the task cache was corrupt; moved aside to {self.moved_aside}"
                return connection
            except (sqlite3.Error, OSError) as exc:
                first = exc
        reason = first.strerror if isinstance(first, atomic.NotRegularFile) else first
        self.error = f"task cache {self.path} unavailable ({reason}); keeping it in memory"
        return self._connect(":memory:")

    def _connect(self, path: Path | str) -> sqlite3.Connection:
        if path != ":memory:":
            path = Path(path)
            if not path.parent.is_dir():
                paths.ensure_private_dir(path.parent)
            # Create the file ourselves so that it is 0600; SQLite gives its -wal and -shm
            # files the same mode as the database.
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK
            fd = os.open(path, flags, atomic.FILE_MODE)
            mode = os.fstat(fd).st_mode
            os.close(fd)
            if not stat.S_ISREG(mode):  # SQLite would block on a FIFO or scribble on a device
                raise atomic.refusal(path, mode)
        db = sqlite3.connect(path, timeout=2.0, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "PRAGMA synchronous=NORMAL"
            )  # WAL + NORMAL: a crash loses at most a few rows
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 1:
                self._migrate_v1(db)
            elif version != SCHEMA_VERSION:
                db.execute("DROP TABLE IF EXISTS tasks")
                db.execute(f"DROP TABLE IF EXISTS {NOT_FOUND_TABLE}")
            db.execute(_CREATE)
            db.execute(_CREATE_NOT_FOUND)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            if self.server:  # rows from a version-1 cache: this server adopts them
                adopt = "UPDATE OR IGNORE tasks SET server = ? WHERE server = ''"
                db.execute(adopt, (self.server,))
            db.execute("SELECT count(*) FROM tasks").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _migrate_v1(db: sqlite3.Connection) -> None:
        """Version 1 keyed rows by id alone: keep them, under no server yet."""
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("ALTER TABLE tasks RENAME TO tasks_v1")
            db.execute(_CREATE)
            db.execute(
                "INSERT OR IGNORE INTO tasks (server, id, json, updated)"
                " SELECT '', id, json, updated FROM tasks_v1"
            )
            db.execute("DROP TABLE tasks_v1")
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _move_aside(self) -> None:
        """Put a corrupt cache out of the way (only the newest such copy is kept)."""
        for old in self.path.parent.glob(f"{self.path.name}.corrupt-*"):
            with contextlib.suppress(OSError):
                old.unlink()
        if self.path.exists():
            self.moved_aside = atomic.move_aside(self.path)
        for suffix in _SIDE_FILES:
            with contextlib.suppress(OSError):
                self.path.with_name(self.path.name + suffix).unlink()

    def _recover(self, exc: Exception) -> None:
        """After an error at run time: start over if the file turned out corrupt."""
        self.error = f"task cache error: {exc}"
        if not _is_corruption(exc) or self._db is None:
            return
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        try:
            self._move_aside()
            self._db = self._connect(self.path)
            self.error = f"the task cache was corrupt; moved aside to {self.moved_aside}"
        except (sqlite3.Error, OSError) as again:
            self.error = f"task cache unavailable ({again}); keeping it in memory"
            self._db = self._connect(":memory:")

    # using --------------------------------------------------------------------------------

    def load(self, ids: Iterable[str]) -> dict[str, Task]:
        """The cached tasks among `ids` (missing or unreadable ones are left out)."""
        wanted = list(dict.fromkeys(i for i in ids if isinstance(i, str)))
        with self._lock:
            if self._db is None:
                return {}
            try:
                rows = select_by_ids(self._db, wanted, where="server = ? AND ", args=[self.server])
            except sqlite3.Error as exc:
                self._recover(exc)
                return {}
        return parse_rows(rows)

    def load_all(self) -> dict[str, Task]:
        with self._lock:
            if self._db is None:
                return {}
            try:
                rows = self._db.execute(
                    "SELECT id, json FROM tasks WHERE server = ?", (self.server,)
                ).fetchall()
            except sqlite3.Error as exc:
                self._recover(exc)
                return {}
        return parse_rows(rows)

    def put_many(self, tasks: Iterable[Task], *, not_found: Iterable[str] = ()) -> None:
        """Store snapshots, replacing older ones, and the ids the server answered as not found,
        in one transaction. A stored task loses its not-found mark (it was answered since);
        a not-found id keeps its last snapshot (export still has it), the mark says what the
        server said last."""
        now = time.time()
        rows = []
        for task in tasks:
            try:
                text = json.dumps(task.to_api_dict(), ensure_ascii=False, separators=(",", ":"))
            except (TypeError, ValueError):
                continue
            rows.append((self.server, task.id, text, now))
        missing = [(self.server, i, now) for i in dict.fromkeys(not_found) if isinstance(i, str)]
        answered = {row[1] for row in rows}
        missing = [row for row in missing if row[1] not in answered]  # a task's answer wins
        statements: list[tuple[str, list[tuple]]] = []
        if rows:
            forget_marks = [(self.server, row[1]) for row in rows]
            statements += [(_PUT_TASK, rows), (_CLEAR_NOT_FOUND, forget_marks)]
        if missing:
            statements.append((_PUT_NOT_FOUND, missing))
        if statements:
            self._write_all(statements)

    def load_not_found(self, ids: Iterable[str]) -> set[str]:
        """The ids among `ids` this server last answered as not found."""
        wanted = list(dict.fromkeys(i for i in ids if isinstance(i, str)))
        with self._lock:
            if self._db is None:
                return set()
            try:
                return select_not_found(self._db, wanted, self.server)
            except sqlite3.Error as exc:
                self._recover(exc)
                return set()

    def put(self, task: Task) -> None:
        self.put_many([task])

    def forget(self, ids: Iterable[str]) -> None:
        """Drop snapshots and not-found marks (for ids no longer watched), whichever server
        they came from."""
        doomed = [(i,) for i in dict.fromkeys(ids) if isinstance(i, str)]
        if doomed:
            self._write_all(
                [
                    ("DELETE FROM tasks WHERE id = ?", doomed),
                    (f"DELETE FROM {NOT_FOUND_TABLE} WHERE id = ?", doomed),
                ]
            )

    def _write(self, sql: str, rows: list[tuple]) -> None:
        self._write_all([(sql, rows)])

    def _write_all(self, statements: list[tuple[str, list[tuple]]]) -> None:
        """Each (sql, rows) of `statements`, in one transaction."""
        with self._lock:
            if self._db is None:
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, rows in statements:
                        self._db.executemany(sql, rows)
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._recover(exc)
            except UnicodeEncodeError as exc:  # a lone surrogate that escaped cleaning
                self.error = f"task cache error: {exc}"

    def __len__(self) -> int:
        with self._lock:
            if self._db is None:
                return 0
            try:
                return self._db.execute(
                    "SELECT count(*) FROM tasks WHERE server = ?", (self.server,)
                ).fetchone()[0]
            except sqlite3.Error:
                return 0

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
                self._db = None

    def __enter__(self) -> TaskCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
