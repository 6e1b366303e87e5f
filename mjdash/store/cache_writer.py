"""Write-behind for the task cache: poll results are written off the UI thread, coalesced.

Writing a snapshot costs a JSON encode and a SQLite row (~30 µs): at 10,000 changed tasks a
third of a second per poll, on the thread that draws the screen. The cache only has to be good
enough for the next start, so snapshots go to a writer thread: a task that finished, failed or
waits for the user (what saves requests on the next start) is written within `urgent_delay`;
a running task's newest snapshot at most every `delay` seconds, on its own clock (a task
finishing does not take the running ones with it). `close()` writes what is left.
A crash loses at most `delay` seconds of progress snapshots, never a watched id.

Not-found answers are queued beside the snapshots (urgent: they are final): the newest answer
for an id wins, a snapshot or "not found" (`status --cached` says which).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from mjdash.model.task import Status, Task
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
        # Two queues, each written on its own deadline: a running batch has tasks finishing on
        # most polls, and writing every running snapshot with each of them (1,000 JSON encodes
        # a poll) cost more than the rest of the poll.
        self._urgent: dict[str, Task | None] = {}  # None: the server answered "not found"
        self._lazy: dict[str, Task] = {}
        self._urgent_due: float | None = None  # monotonic times of the next writes
        self._lazy_due: float | None = None
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
        never waits for SQLite. `tasks` may be a dict by id already. A task that finished or
        waits for the user, and a not-found answer, are urgent; `urgent=True` makes the whole
        batch urgent when none of it looks so, `urgent=False` none of it but not-found ids."""
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
            if not batch:
                return
            # On the UI thread: one pass over the batch only when some of it may be urgent,
            # the rest by dict and set operations (a 10,000-task poll pays microseconds).
            if urgent is False:
                soon = set(missing)
            else:
                soon = {k for k, t in batch.items() if t is None or _final_or_waiting(t)}
                if urgent and not soon:
                    soon = set(batch)
            now = time.monotonic()
            lazy = self._lazy
            lazy.update(batch)  # type: ignore[arg-type]  (the urgent ones move out below)
            if self._urgent:
                for task_id in self._urgent.keys() & batch.keys() - soon:
                    del self._urgent[task_id]  # running again: the newest snapshot wins
            for task_id in soon:
                self._urgent[task_id] = batch[task_id]
                lazy.pop(task_id, None)
            if soon and self._urgent_due is None:
                self._urgent_due = now + self.urgent_delay
                self._wake.notify()
            if self._lazy and self._lazy_due is None:
                self._lazy_due = now + self.delay
                self._wake.notify()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="mjdash-cache-writer", daemon=True
                )
                self._thread.start()

    @property
    def pending(self) -> int:
        with self._wake:
            return len(self._urgent) + len(self._lazy)

    def close(self) -> None:
        """Stop the writer and write what is left (on exit). Later puts write at once."""
        with self._wake:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join()  # its batch in hand is written first: the newest snapshots win
        with self._wake:
            batch: dict[str, Task | None] = {**self._lazy, **self._urgent}
            self._urgent, self._lazy = {}, {}
            self._urgent_due = self._lazy_due = None
        self._write(batch)

    def _next_due(self) -> float | None:
        dues = [due for due in (self._urgent_due, self._lazy_due) if due is not None]
        return min(dues) if dues else None

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._closed:
                    due = self._next_due()
                    if due is not None and time.monotonic() >= due:
                        break
                    self._wake.wait(None if due is None else due - time.monotonic())
                if self._closed:
                    return  # close() writes the rest, after this thread has stopped
                now = time.monotonic()
                batch: dict[str, Task | None] = {}
                if self._lazy_due is not None and now >= self._lazy_due:
                    batch.update(self._lazy)
                    self._lazy, self._lazy_due = {}, None
                if self._urgent_due is not None and now >= self._urgent_due:
                    batch.update(self._urgent)
                    self._urgent, self._urgent_due = {}, None
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


def _final_or_waiting(task: Task) -> bool:
    """Finished, failed or waiting for the user: what saves requests on the next start."""
    return not task.needs_polling or task.status is Status.MODAL
