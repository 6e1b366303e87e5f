"""Last-known task snapshots in SQLite: an instant screen on restart, no request for finished tasks.

The cache is disposable. A file that is corrupt or of another schema is moved aside and a new one
started; if even that fails (read-only folder) the cache lives in memory. Nothing here raises into
the app: failures land in `error` and the dashboard polls the server as if the cache were empty.
Rows hold the server-shaped JSON (`Task.to_api_dict`) and are read back through `parse_task`, so
a tampered cache is no more trusted than the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from mjdash.model.task import Task, parse_task
from mjdash.store import atomic, paths

FILE_NAME = "tasks.sqlite3"
SCHEMA_VERSION = 1
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


class TaskCache:
    """Task snapshots by id. Safe to share between threads (one connection behind a lock)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
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
            if version != SCHEMA_VERSION:
                db.execute("DROP TABLE IF EXISTS tasks")
            db.execute(
                "CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, json TEXT NOT NULL,"
                " updated REAL NOT NULL)"
            )
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("SELECT count(*) FROM tasks").fetchone()
        except BaseException:
            db.close()
            raise
        return db

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

    @staticmethod
    def _read_rows(rows: Iterable[tuple[str, str]]) -> dict[str, Task]:
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

    def load(self, ids: Iterable[str]) -> dict[str, Task]:
        """The cached tasks among `ids` (missing or unreadable ones are left out)."""
        wanted = list(dict.fromkeys(i for i in ids if isinstance(i, str)))
        with self._lock:
            if self._db is None:
                return {}
            rows: list[tuple[str, str]] = []
            try:
                for chunk in _chunks(wanted):
                    marks = ",".join("?" * len(chunk))
                    rows += self._db.execute(
                        f"SELECT id, json FROM tasks WHERE id IN ({marks})", chunk
                    ).fetchall()
            except sqlite3.Error as exc:
                self._recover(exc)
                return {}
        return self._read_rows(rows)

    def load_all(self) -> dict[str, Task]:
        with self._lock:
            if self._db is None:
                return {}
            try:
                rows = self._db.execute("SELECT id, json FROM tasks").fetchall()
            except sqlite3.Error as exc:
                self._recover(exc)
                return {}
        return self._read_rows(rows)

    def put_many(self, tasks: Iterable[Task]) -> None:
        """Store snapshots, replacing older ones, in one transaction."""
        now = time.time()
        rows = []
        for task in tasks:
            try:
                text = json.dumps(task.to_api_dict(), ensure_ascii=False, separators=(",", ":"))
            except (TypeError, ValueError):
                continue
            rows.append((task.id, text, now))
        if not rows:
            return
        self._write("INSERT OR REPLACE INTO tasks (id, json, updated) VALUES (?, ?, ?)", rows)

    def put(self, task: Task) -> None:
        self.put_many([task])

    def forget(self, ids: Iterable[str]) -> None:
        """Drop snapshots (for ids no longer watched)."""
        doomed = [(i,) for i in dict.fromkeys(ids) if isinstance(i, str)]
        if doomed:
            self._write("DELETE FROM tasks WHERE id = ?", doomed)

    def _write(self, sql: str, rows: list[tuple]) -> None:
        with self._lock:
            if self._db is None:
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
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
                return self._db.execute("SELECT count(*) FROM tasks").fetchone()[0]
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
