"""Saving the watchlist off the UI thread (issue 13, items 5 to 7).

`Watchlist.save()` may wait up to 10 s for another process's file lock: on the UI thread that
froze every key. Here each save runs in a thread worker (group "save"), one at a time; a save
asked for while one runs is made by the next run. A caller that may tell the user something
only once the change is on disk (the "Added 2 tasks" toast) passes a callback to `when_saved`:
it runs on the UI thread with the outcome ("" when saved, else why not).

Which run covers a change: a run reads the watchlist's pending changes when it writes, which is
after it started, so a change made before a run starts is in it. `save()` counts requests; a
run serves the requests counted when it started, and a callback waits for the request it was
registered after.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from textual.app import App
from textual.message import Message
from textual.timer import Timer

from mjdash.store.watchlist import Watchlist, WatchlistError

SAVE_DELAY = 0.5  # s: view state and clocks are saved this long after the last change
LOCK_WAIT_TEXT = "waiting for the watchlist lock (another mjdash?)"


@dataclass
class SaveWaiting(Message):
    """A save found the watchlist lock held (by another process) and is waiting for it."""


@dataclass
class SaveFinished(Message):
    """A save ended: `problem` is "" when everything was written, else why not."""

    problem: str


class WatchlistSaver:
    """Runs `watchlist.save()` in the app's "save" worker and tells the app how it went (the
    messages above, handled by the app on its own thread)."""

    def __init__(self, app: App, watchlist: Watchlist) -> None:
        self.app = app
        self.watchlist = watchlist
        self.waiting = False  # the running save waits for another process's lock
        self.last_problem = ""  # the outcome of the last save that ended ("" when saved)
        self._idle = threading.Event()  # no save thread running (set by the thread itself)
        self._idle.set()
        self._timer: Timer | None = None
        self._requested = 0  # saves asked for so far
        self._running: int | None = None  # the request count the running save serves
        self._callbacks: list[tuple[int, Callable[[str], None]]] = []

    @property
    def busy(self) -> bool:
        """A save is running (its thread may be waiting for the lock)."""
        return self._running is not None

    def save_soon(self) -> None:
        """Save in SAVE_DELAY seconds: for view state and marks, which may change in bursts."""
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.app.set_timer(SAVE_DELAY, self.save, name="save")

    def save(self) -> None:
        """Save now, in the worker (or right after the save that is running)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._requested += 1
        if self._running is None:
            self._start()

    def when_saved(self, callback: Callable[[str], None]) -> None:
        """Call `callback(problem)` on the UI thread once a save made after this call's
        changes ended ("" when it wrote them). Ask for that save first (`save()`)."""
        self._callbacks.append((self._requested, callback))

    def wait_idle(self, timeout: float = 15.0) -> bool:
        """Block until the save thread ended (on unmount only: the loop no longer runs, and
        the process would wait for that thread at exit anyway). False on timeout."""
        return self._idle.wait(timeout)

    def _start(self) -> None:
        self._running = self._requested
        self._idle.clear()
        self.app.run_worker(self._work, name="save", group="save", thread=True)

    def _work(self) -> None:
        """In the worker thread: no widget is touched here, only messages are posted."""
        problem = ""
        try:
            self.watchlist.save(on_wait=lambda: self._post(SaveWaiting()))
        except WatchlistError as exc:
            problem = str(exc)
        except Exception as exc:  # never lose the outcome: the UI waits for it
            problem = f"could not save the watchlist: {type(exc).__name__}"
        self.last_problem = problem
        self._idle.set()
        self._post(SaveFinished(problem))

    def _post(self, message: Message) -> None:
        with contextlib.suppress(RuntimeError):  # the app's loop is gone (quitting)
            self.app.post_message(message)

    def finished(self, problem: str) -> None:
        """The app got SaveFinished: run the callbacks this save covered, then the next save
        if one was asked for meanwhile."""
        served = self._running if self._running is not None else self._requested
        self._running = None
        self.waiting = False
        due = [callback for request, callback in self._callbacks if request <= served]
        self._callbacks = [(r, c) for r, c in self._callbacks if r > served]
        if self._requested > served:
            self._start()
        for callback in due:
            callback(problem)
