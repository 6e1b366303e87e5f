"""Write-behind for the task cache: poll results are written off the UI thread, coalesced.

Writing a snapshot costs a JSON encode and a SQLite row (~30 µs): at 10,000 changed tasks a
third of a second per poll, on the thread that draws the screen. The cache only has to be good
enough for the next start, so snapshots go to a writer thread: a task that finished, failed or
waits for the user (what saves requests on the next start) is written within `urgent_delay`;
a running task's newest snapshot at most every `delay` seconds. `close()` writes what is left.
A crash loses at most `delay` seconds of progress snapshots, never a watched id.

Not-found answers are queued beside the snapshots (urgent: they are final): the newest answer
for an id wins, a snapshot or "not found" (`status --cached` says which).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from mjdash.model.task import Task
from mjdash.store.cache import TaskCache

DELAY = 30.0
URGENT_DELAY = 1.0


class CacheWriter:
    def __init__(
        self, cache: TaskCache, *, delay: float = DELAY, urgent_delay: float = URGENT_DELAY
    ) -> None:
        self.cache = cache
        self.delay = delay
        self.urgent_delay = urgent_delay
        self.error: str | None = None
        self._pending: dict[str, Task | None] = {}  # None: the server answered "not found"
        self._due: float | None = None  # monotonic time of the next write
        self._closed = False
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def put(
        self,
        tasks: Iterable[Task] | dict[str, Task],
        *,
        not_found: Iterable[str] = (),
        urgent: bool | None = None,
    ) -> None:
        """Queue snapshots (the newest per task wins) and ids the server answered as not found;
        never waits for SQLite. `tasks` may be a dict by id already. `urgent`: some task
        finished or waits for the user (None: look); a not-found answer always is."""
        missing = list(dict.fromkeys(not_found))
        with self._wake:
            if self._closed:
                values = tasks.values() if isinstance(tasks, dict) else tasks
                self.cache.put_many(values, not_found=missing)
                return
            batch: dict[str, Task | None] = (
                dict(tasks) if isinstance(tasks, dict) else {task.id: task for task in tasks}
            )
            for task_id in missing:
                batch.setdefault(task_id, None)  # one poll answers an id once; a task wins
            self._pending.update(batch)
            if not self._pending:
                return
            if urgent is None or missing:
                urgent = bool(urgent) or any(
                    task is None or not task.needs_polling for task in batch.values()
                )
            due = time.monotonic() + (self.urgent_delay if urgent else self.delay)
            if self._due is None or due < self._due:
                self._due = due
                self._wake.notify()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="mjdash-cache-writer", daemon=True
                )
                self._thread.start()

    @property
    def pending(self) -> int:
        with self._wake:
            return len(self._pending)

    def close(self) -> None:
        """Stop the writer and write what is left (on exit). Later puts write at once."""
        with self._wake:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join()  # its batch in hand is written first: the newest snapshots win
        with self._wake:
            batch, self._pending, self._due = self._pending, {}, None
        self._write(batch)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._closed and (self._due is None or time.monotonic() < self._due):
                    timeout = None if self._due is None else self._due - time.monotonic()
                    self._wake.wait(timeout)
                if self._closed:
                    return  # close() writes the rest, after this thread has stopped
                batch, self._pending, self._due = self._pending, {}, None
            self._write(batch)

    def _write(self, batch: dict[str, Task | None]) -> None:
        if not batch:
            return
        tasks = [task for task in batch.values() if task is not None]
        missing = [task_id for task_id, task in batch.items() if task is None]
        try:
            self.cache.put_many(tasks, not_found=missing)
        except Exception as exc:  # TaskCache catches its own errors; this thread must not die
            self.error = f"task cache error: {type(exc).__name__}"
