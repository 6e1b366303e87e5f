"""The status-transition journal: JSON lines in the user state dir, append-only, bounded.

One line per change of a task's status or progress, as the dashboard saw it:
``{"ts": "2026-11-29T20:33:40.123+00:00", "id": "1773314942177123", "from": "SUBMITTED",
"to": "IN_PROGRESS", "progress": 12}`` (`from` is null the first time a task is seen). On start
the dashboard reads the latest line per task to restore its stall clock ("no change since 20:03").

Lines are written in one `write()` per poll to a file opened with O_APPEND (mode 0600), so two
dashboards appending at once do not interleave within a line. The dashboard hands them to a
`JournalWriter` thread: the first poll of 10,000 tasks is 10,000 lines (~50 ms of formatting),
which must not land on the thread that draws the screen. When the file passes `max_bytes`
it is renamed to `journal.jsonl.1` (replacing the previous one) and a new file is started: the
journal never holds more than about twice `max_bytes`. Nothing here raises into the app: a
failure lands in `error` and the journal keeps trying on the next append.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import stat
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from mjdash.model.task import is_task_id
from mjdash.store import atomic, paths

FILE_NAME = "journal.jsonl"
MAX_BYTES = 2 * 1024 * 1024
WRITE_DELAY = 0.5  # seconds the writer thread lets a poll's screen update go first
_MAX_STATUS = 40


def default_path() -> Path:
    return paths.state_dir() / FILE_NAME


_quote = json.encoder.encode_basestring_ascii  # what json.dumps(ensure_ascii=True) uses
_last_moment: tuple[float, str] = (float("nan"), "")


def _moment(ts: float) -> str:
    """The ISO time of `ts` (ms); a poll's records share one `ts`, formatted once."""
    global _last_moment
    last = _last_moment
    if last[0] == ts:
        return last[1]
    text = datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
    _last_moment = (ts, text)
    return text


class Record(NamedTuple):  # a tuple: a poll can build 10,000 of them on the UI thread
    ts: float  # epoch seconds
    id: str
    old: str | None  # the status before ("from"); None when first seen
    new: str  # the status now ("to")
    progress: int | None

    def to_line(self) -> str:
        progress = self.progress
        if type(progress) is not int and progress is not None:
            return self._dumps()  # anything unusual: the general encoder
        # What `_dumps` writes, spelled out (10,000 lines on a big poll, on a thread sharing
        # the GIL with the screen): the same escaping, the time formatted once per poll.
        old = "null" if self.old is None else _quote(self.old)
        return (
            f'{{"ts":"{_moment(self.ts)}","id":{_quote(self.id)},"from":{old},'
            f'"to":{_quote(self.new)},"progress":{"null" if progress is None else progress}}}'
        )

    def _dumps(self) -> str:
        moment = datetime.fromtimestamp(self.ts, UTC).isoformat(timespec="milliseconds")
        obj = {"ts": moment, "id": self.id, "from": self.old, "to": self.new}
        obj["progress"] = self.progress
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":"))

    @classmethod
    def from_line(cls, line: str | bytes) -> Record | None:
        """The record on one line; None for anything unreadable (a torn or hand-edited line)."""
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if not isinstance(obj, dict):
            return None
        task_id, old, new, progress = (obj.get(k) for k in ("id", "from", "to", "progress"))
        if not isinstance(task_id, str) or not is_task_id(task_id):
            return None
        if not isinstance(new, str) or len(new) > _MAX_STATUS:
            return None
        if old is not None and (not isinstance(old, str) or len(old) > _MAX_STATUS):
            return None
        if progress is not None and (
            isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100
        ):
            return None
        try:
            moment = datetime.fromisoformat(obj.get("ts"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return cls(moment.timestamp(), task_id, old, new, progress)


class Journal:
    def __init__(self, path: Path | str | None = None, *, max_bytes: int = MAX_BYTES) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.max_bytes = max_bytes
        self.error: str | None = None
        self.written = 0  # lines appended by this instance

    @property
    def rotated_path(self) -> Path:
        return self.path.with_name(self.path.name + ".1")

    def append(self, records: Iterable[Record]) -> bool:
        """Append the records in one write; False (and `error` set) when that failed."""
        lines = [record.to_line() for record in records]
        if not lines:
            return True
        data = ("\n".join(lines) + "\n").encode("ascii")
        try:
            if not self.path.parent.is_dir():
                paths.ensure_private_dir(self.path.parent)
            fd = self._open()
            try:
                if os.fstat(fd).st_size + len(data) > self.max_bytes and os.fstat(fd).st_size:
                    os.close(fd)
                    fd = -1
                    atomic.check_regular(self.rotated_path)
                    os.replace(self.path, self.rotated_path)
                    fd = self._open()
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                if fd >= 0:
                    os.close(fd)
        except OSError as exc:
            self.error = f"journal not written ({self.path}): {exc.strerror or type(exc).__name__}"
            return False
        self.error = None
        self.written += len(lines)
        return True

    def _open(self) -> int:
        atomic.check_regular(self.path)  # a FIFO with no reader would fail with ENXIO
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK
        fd = os.open(self.path, flags, atomic.FILE_MODE)
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # never append to a device or a FIFO, never rotate it away
            os.close(fd)
            raise atomic.refusal(self.path, mode)
        with contextlib.suppress(OSError):
            os.fchmod(fd, atomic.FILE_MODE)
        return fd

    def read(self) -> list[Record]:
        """Every readable record, oldest first (the rotated file, then the current one)."""
        records: list[Record] = []
        for path in (self.rotated_path, self.path):
            for line in self._tail_lines(path):
                record = Record.from_line(line)
                if record is not None:
                    records.append(record)
        return records

    def latest(self, ids: Iterable[str] | None = None) -> dict[str, Record]:
        """The newest record per task id (only for `ids` when given); newest by time, so two
        dashboards appending to the same journal do not confuse it."""
        wanted = set(ids) if ids is not None else None
        found: dict[str, Record] = {}
        for record in self.read():
            if wanted is None or record.id in wanted:
                seen = found.get(record.id)
                if seen is None or record.ts >= seen.ts:
                    found[record.id] = record
        return found

    def _tail_lines(self, path: Path) -> list[bytes]:
        """The lines of the last `max_bytes` of the file (a file grown past it by hand or by
        another writer is read from its tail, the first partial line dropped)."""
        try:
            atomic.check_regular(path)
            with open(path, "rb", opener=_nonblocking) as handle:
                size = os.fstat(handle.fileno()).st_size
                start = max(0, size - self.max_bytes)
                handle.seek(start)
                data = handle.read(self.max_bytes)
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.error = f"journal not read ({path}): {exc.strerror or type(exc).__name__}"
            return []
        lines = data.split(b"\n")
        if start:
            lines = lines[1:]
        return [line for line in lines if line.strip()]


class JournalWriter:
    """Appends off the caller's thread, in order; `close()` writes what is queued."""

    def __init__(self, journal: Journal, *, delay: float = WRITE_DELAY) -> None:
        self.journal = journal
        self.delay = delay
        self._queue: queue.SimpleQueue[list[Record] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._lock = threading.Lock()

    def put(self, records: Iterable[Record]) -> None:
        batch = list(records)
        if not batch:
            return
        with self._lock:
            if self._closed:
                self.journal.append(batch)
                return
            self._queue.put(batch)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="mjdash-journal", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            # Not at once: the poll that queued these is still being applied and drawn, and
            # this thread would take turns with it for the GIL. Whatever is queued meanwhile
            # goes out in the same write; close() cuts the wait short.
            end = time.monotonic() + self.delay
            while True:
                try:
                    more = self._queue.get(timeout=max(0.0, end - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    self.journal.append(batch)
                    return
                batch += more
            self.journal.append(batch)

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until what was put is written (tests; the app only closes)."""
        self.close(timeout)
        with self._lock:
            self._closed = False
            self._thread = None


def _nonblocking(path: str, flags: int) -> int:
    """open() that cannot hang on a FIFO put where the journal was."""
    fd = os.open(path, flags | os.O_NONBLOCK)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise atomic.refusal(path, mode)
    return fd
