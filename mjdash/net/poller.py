"""Poller: which tasks to ask about, when, and what to do when asking fails.

The only retry layer (docs/reliability.md, rule 1). It knows time (an injected monotonic clock),
not HTTP and not the screen: the UI calls `poll_once()`, shows the `PollResult`, and calls again
after `result.next_delay` seconds (polls never overlap: a lock serialises them).

Schedule
--------
- A task is due when it is not finished: never fetched yet (due at once), or its last status was
  running (``PENDING``, ``NOT_START``, ``SUBMITTED``, ``IN_PROGRESS``, or a status we do not
  know). Terminal tasks (``SUCCESS``, ``FAILURE``, ``CANCEL``) are never due; ``MODAL`` ones
  (waiting for the user) every `MODAL_INTERVAL` (they may be continued from another client or
  failed by new-api's 1-hour sweep); not-found tasks are not due until tracked again or woken.
- After a good answer a task is due again one `interval` later, or later when it has been quiet
  (status and progress unchanged): quiet for 10 minutes -> every 3 intervals, for 30 minutes ->
  every 6. A change puts it back to every interval.
- All due ids go out in one `client.fetch_many` per cycle: ceil(due / batch_size) requests.
  A cycle looks only at the tasks that still want polling (kept in a set as answers arrive), so
  10,000 finished tasks cost neither requests nor CPU.
  After a long gap (suspend, clock jump) the due tasks are polled in one cycle as usual; there is
  no catch-up loop.

Failures
--------
- Transport failure or timeout: UNREACHABLE; HTTP 5xx/408/409/425: RETRYING. Wait comes from the
  global `Backoff` (0.8 s doubling to 30 s, full jitter, reset after 2 minutes healthy). A
  connection cut mid-answer (`retry_now`) is retried once at once first (stale keep-alive).
- 429: RATE_LIMITED for Retry-After seconds (at least 1 s), or the backoff when absent.
- 401/403: AUTH_FAILED; no request at all until `poll_once(force=True)` (the user pressed r).
- Unusable answer (HTML, garbage): RETRYING with backoff; the polled ids come back in `bad`
  (stale, last good data kept by the caller).
- Anything unexpected: RETRYING, the exception's type name in the message. `poll_once` never
  raises except CancelledError.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from mjdash.model.durations import format_duration
from mjdash.model.task import BadTask, Status, Task
from mjdash.net.backoff import Backoff
from mjdash.net.client import AuthError, BadResponse, MjError, RateLimited, TransientError

MIN_INTERVAL = 0.5
MAX_INTERVAL = 24 * 3600.0
QUIET_STEPS = ((30 * 60.0, 6), (10 * 60.0, 3))  # (quiet for at least, poll every n intervals)
MODAL_INTERVAL = 60.0  # a MODAL task waits for a person: look again about once a minute
MIN_RATE_LIMIT_WAIT = 1.0  # "Retry-After: 0" on every answer must not become a tight loop
LONG_WAIT = 60.0  # longer waits are shown as "until HH:MM:SS"
RATE_WINDOW = 60.0
BAD_ANSWER = "bad answer from the server"  # headline of a poll whose whole answer was junk
BAD_BACKOFF_STEPS = 3  # an id answered junk n times in a row waits up to 2**3 intervals


class PollerState(Enum):
    OK = "ok"
    PAUSED = "paused"
    RETRYING = "retrying"
    RATE_LIMITED = "rate_limited"
    AUTH_FAILED = "auth_failed"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class PollResult:
    """What one `poll_once` learned.

    `tasks` holds the fresh tasks only (a failed poll gives {}: keep the last good data).
    `bad` maps ids whose answer was unusable to the reason (show them as stale).
    `retry_at` is on the poller's monotonic clock; `headline` is the short state text
    ("server unreachable") and `message` the line to show at the time of the result
    ("server unreachable, retrying in 12s"); `status_line()` recomputes it for a countdown.
    """

    tasks: dict[str, Task]
    not_found: set[str]
    bad: dict[str, str]
    state: PollerState
    error: str | None
    retry_at: float | None
    next_delay: float
    requests: int
    polled_ids: int
    headline: str | None = None
    message: str | None = None

    def status_line(self, now: float, wall_now: datetime | None = None) -> str | None:
        """The state as a line for the screen, with the countdown to `retry_at` from `now`."""
        return _status_line(self.state, self.headline, self.retry_at, now, wall_now)


def _status_line(
    state: PollerState,
    headline: str | None,
    retry_at: float | None,
    now: float,
    wall_now: datetime | None = None,
) -> str | None:
    if state is PollerState.OK:
        return None
    if state is PollerState.PAUSED:
        return "paused"
    if retry_at is None or headline is None:
        return headline
    wait = max(0.0, retry_at - now)
    if wait > LONG_WAIT:
        until = (wall_now or datetime.now(UTC)) + timedelta(seconds=wait)
        return f"{headline} until {until.astimezone().strftime('%H:%M:%S')}"
    # Rounded up: "retrying in 0s" while a wait remains would read as a hang.
    if wait <= 0:
        return f"{headline}, retrying now"
    return f"{headline}, retrying in {format_duration(timedelta(seconds=math.ceil(wait)))}"


@dataclass
class _Entry:
    task: Task | None = None
    next_due: float = 0.0
    changed_at: float = 0.0  # monotonic time of the last status/progress change
    signature: tuple[Any, ...] | None = None
    not_found: bool = False
    woken: bool = False  # poll once more whatever the last status said
    seq: int = 0  # order of tracking: due ids come out in watchlist order
    bad_streak: int = 0  # unusable answers in a row for this id alone: its own backoff


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Poller:
    def __init__(
        self,
        client: Any,
        *,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        wall: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._client = client
        self.clock = self._clock = clock  # public so the UI can count down to `retry_at`
        self._wall = wall
        self._interval = _clamp_interval(interval, 5.0)
        self.backoff = Backoff(clock=clock, rng=rng)
        self._entries: dict[str, _Entry] = {}
        # Ids that want polling (not finished, not MODAL, not "not found"): every cycle looks at
        # these only, so 10,000 finished tasks cost nothing per cycle.
        self._active: set[str] = set()
        self._seq = 0
        self._paused = False
        self._auth_failed = False
        self._state = PollerState.OK
        self._error: str | None = None
        self._headline: str | None = None
        self._retry_at: float | None = None
        self._sent: deque[tuple[float, int]] = deque()
        self._lock = asyncio.Lock()

    # --- settings and state -----------------------------------------------------------------

    @property
    def interval(self) -> float:
        return self._interval

    @interval.setter
    def interval(self, value: float) -> None:
        self._interval = _clamp_interval(value, self._interval)
        latest = self._clock() + self._interval
        for entry in self._entries.values():  # a shorter interval takes effect at once
            entry.next_due = min(entry.next_due, latest)

    @property
    def paused(self) -> bool:
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        self._paused = bool(value)

    @property
    def state(self) -> PollerState:
        """The state of the last poll (PAUSED while paused)."""
        return PollerState.PAUSED if self._paused else self._state

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def retry_at(self) -> float | None:
        return self._retry_at

    def status_line(self, wall_now: datetime | None = None) -> str | None:
        return _status_line(self.state, self._headline, self._retry_at, self._clock(), wall_now)

    def requests_per_minute(self) -> int:
        now = self._clock()
        while self._sent and self._sent[0][0] <= now - RATE_WINDOW:
            self._sent.popleft()
        return sum(count for when, count in self._sent if when <= now)

    # --- what is tracked --------------------------------------------------------------------

    def track(self, ids: Iterable[str], known: Mapping[str, Task] | None = None) -> None:
        """Watch `ids`; `known` gives last-known tasks (e.g. the cache): finished ones cost nothing.

        Tracking a not-found id again makes it due again.
        """
        now = self._clock()
        known = known or {}
        for task_id in ids:
            entry = self._entries.get(task_id)
            if entry is None:
                self._seq += 1
                entry = self._entries[task_id] = _Entry(next_due=now, changed_at=now, seq=self._seq)
            elif entry.not_found:
                entry.not_found = False
                entry.next_due = now
            task = known.get(task_id)
            if task is not None:
                self._remember(entry, task, now)
                self._hold_modal(entry, task, now)
            self._mark(task_id, entry)

    def untrack(self, ids: Iterable[str]) -> None:
        for task_id in ids:
            self._entries.pop(task_id, None)
            self._active.discard(task_id)

    def update_known(self, task: Task) -> bool:
        """Take a task learned elsewhere (cache, a submit); False when its id is not tracked."""
        entry = self._entries.get(task.id)
        if entry is None:
            return False
        self._remember(entry, task, self._clock())
        self._hold_modal(entry, task, self._clock())
        self._mark(task.id, entry)
        return True

    @staticmethod
    def _hold_modal(entry: _Entry, task: Task, now: float) -> None:
        """A task known to be MODAL is next looked at one MODAL_INTERVAL from now."""
        if task.status is Status.MODAL and not entry.woken:
            entry.next_due = max(entry.next_due, now + MODAL_INTERVAL)

    def wake(self, ids: Iterable[str]) -> None:
        """Poll these ids in the next cycle whatever their last status (e.g. a MODAL task whose
        modal was just submitted, or a not-found id the user asks about again)."""
        now = self._clock()
        for task_id in ids:
            entry = self._entries.get(task_id)
            if entry is not None:
                entry.woken = True
                entry.not_found = False
                entry.next_due = now
                self._active.add(task_id)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def due_ids(self) -> list[str]:
        now = self._clock()
        entries = self._entries
        due = [i for i in self._active if now >= entries[i].next_due]
        due.sort(key=lambda i: entries[i].seq)
        return due

    def unfinished_ids(self) -> list[str]:
        """Everything a forced refresh asks about: all not finished, not-found ones included."""
        return [i for i, e in self._entries.items() if self._wants_poll(e, forced=True)]

    def last_change(self, task_id: str) -> datetime | None:
        """When the task's status or progress last changed (wall clock), as seen by this poller."""
        entry = self._entries.get(task_id)
        if entry is None:
            return None
        return self._wall() - timedelta(seconds=max(0.0, self._clock() - entry.changed_at))

    @staticmethod
    def _wants_poll(entry: _Entry, *, forced: bool = False) -> bool:
        if entry.woken:
            return True
        if entry.not_found and not forced:
            return False
        task = entry.task
        # MODAL tasks too, slowly: another client may continue them, new-api's sweep fails them.
        return task is None or task.needs_polling or task.status is Status.MODAL

    def _mark(self, task_id: str, entry: _Entry) -> None:
        """Keep `_active` in step with the entry after any change to it."""
        if self._wants_poll(entry):
            self._active.add(task_id)
        else:
            self._active.discard(task_id)

    def _remember(self, entry: _Entry, task: Task, now: float) -> None:
        signature = (task.status, task.status_raw, task.progress)
        if signature != entry.signature:
            entry.signature = signature
            entry.changed_at = now
        entry.task = task

    def _quiet_factor(self, entry: _Entry, now: float) -> int:
        quiet = now - entry.changed_at
        for threshold, factor in QUIET_STEPS:
            if quiet >= threshold:
                return factor
        return 1

    # --- polling ----------------------------------------------------------------------------

    async def poll_once(self, force: bool = False) -> PollResult:
        """One poll cycle; never raises except CancelledError."""
        async with self._lock:
            try:
                return await self._poll(force)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the poll loop must survive anything
                name = type(exc).__name__
                return self._back_off(
                    PollerState.RETRYING, f"unexpected error ({name})", f"unexpected error: {name}"
                )

    async def _poll(self, force: bool) -> PollResult:
        now = self._clock()
        if not force:
            if self._paused:
                return self._result(PollerState.PAUSED, next_delay=self._interval)
            if self._auth_failed:
                return self._result(PollerState.AUTH_FAILED, next_delay=self._interval)
            if self._retry_at is not None and now < self._retry_at:
                return self._result(self._state, next_delay=self._retry_at - now)
        self._auth_failed = False
        ids = self.unfinished_ids() if force else self.due_ids()
        if not ids:
            self._set_state(PollerState.OK)
            return self._result(PollerState.OK, next_delay=self._interval)
        before = self._request_count()
        try:
            found = await self._fetch(ids)
        except AuthError as exc:
            self._auth_failed = True
            self._set_state(PollerState.AUTH_FAILED, str(exc), str(exc))
            return self._result(
                PollerState.AUTH_FAILED,
                next_delay=self._interval,
                requests=self._count_requests(before),
                polled_ids=len(ids),
            )
        except RateLimited as exc:
            return self._back_off(
                PollerState.RATE_LIMITED,
                "rate limited",
                str(exc),
                wait=exc.retry_after,
                requests=self._count_requests(before),
                polled_ids=len(ids),
            )
        except TransientError as exc:
            unreachable = exc.status is None
            return self._back_off(
                PollerState.UNREACHABLE if unreachable else PollerState.RETRYING,
                "server unreachable" if unreachable else "server error",
                str(exc),
                requests=self._count_requests(before),
                polled_ids=len(ids),
            )
        except BadResponse as exc:
            return self._back_off(
                PollerState.RETRYING,
                BAD_ANSWER,
                str(exc),
                requests=self._count_requests(before),
                polled_ids=len(ids),
                bad=dict.fromkeys(ids, str(exc)),
            )
        except MjError as exc:
            return self._back_off(
                PollerState.RETRYING,
                "server error",
                str(exc),
                requests=self._count_requests(before),
                polled_ids=len(ids),
            )
        return self._apply(ids, found, now, self._count_requests(before))

    async def _fetch(self, ids: list[str]) -> Mapping[str, Task | BadTask | None]:
        try:
            return await self._client.fetch_many(ids)
        except TransientError as exc:
            if not exc.retry_now:
                raise
        # The connection was cut mid-answer (stale keep-alive, reset): once more, at once.
        return await self._client.fetch_many(ids)

    def _apply(
        self, ids: list[str], found: Mapping[str, Task | BadTask | None], now: float, requests: int
    ) -> PollResult:
        tasks: dict[str, Task] = {}
        not_found: set[str] = set()
        bad: dict[str, str] = {}
        for task_id in ids:
            entry = self._entries.get(task_id)
            if entry is None or task_id not in found:
                continue  # untracked meanwhile, or not answered: stays due
            value = found[task_id]
            entry.woken = False
            if value is None:
                entry.not_found = True
                not_found.add(task_id)
            elif isinstance(value, Task):
                entry.not_found = False
                entry.bad_streak = 0
                self._remember(entry, value, now)
                tasks[task_id] = value
                entry.next_due = now + self._interval * self._quiet_factor(entry, now)
                self._hold_modal(entry, value, now)
            else:
                bad[task_id] = value.reason if isinstance(value, BadTask) else "unusable answer"
                # Retried on its own backoff; the other ids keep their pace.
                entry.bad_streak += 1
                factor = 2 ** min(entry.bad_streak - 1, BAD_BACKOFF_STEPS)
                entry.next_due = now + self._interval * factor
            self._mark(task_id, entry)
        self.backoff.success()
        self._retry_at = None
        self._set_state(PollerState.OK)
        return self._result(
            PollerState.OK,
            tasks=tasks,
            not_found=not_found,
            bad=bad,
            next_delay=self._interval,
            requests=requests,
            polled_ids=len(ids),
        )

    def _back_off(
        self,
        state: PollerState,
        headline: str,
        error: str,
        *,
        wait: float | None = None,
        requests: int = 0,
        polled_ids: int = 0,
        bad: dict[str, str] | None = None,
    ) -> PollResult:
        delay = self.backoff.next()
        if wait is not None:
            delay = max(wait, MIN_RATE_LIMIT_WAIT)
        self._retry_at = self._clock() + delay
        self._set_state(state, error, headline)
        return self._result(
            state, next_delay=delay, requests=requests, polled_ids=polled_ids, bad=bad or {}
        )

    def _set_state(
        self, state: PollerState, error: str | None = None, headline: str | None = None
    ) -> None:
        self._state = state
        self._error = error
        self._headline = headline
        if state in (PollerState.OK, PollerState.AUTH_FAILED):
            # OK polls on the interval; an auth failure waits for the user.
            self._retry_at = None

    def _result(
        self,
        state: PollerState,
        *,
        next_delay: float,
        tasks: dict[str, Task] | None = None,
        not_found: set[str] | None = None,
        bad: dict[str, str] | None = None,
        requests: int = 0,
        polled_ids: int = 0,
    ) -> PollResult:
        paused = state is PollerState.PAUSED
        retry_at = None if paused or state is PollerState.OK else self._retry_at
        headline = None if paused else self._headline
        return PollResult(
            tasks=tasks or {},
            not_found=not_found or set(),
            bad=bad or {},
            state=state,
            error=None if paused else self._error,
            retry_at=retry_at,
            next_delay=max(0.0, next_delay),
            requests=requests,
            polled_ids=polled_ids,
            headline=headline,
            message=_status_line(state, headline, retry_at, self._clock(), self._wall()),
        )

    def _request_count(self) -> int:
        count = getattr(self._client, "request_count", 0)
        return count if isinstance(count, int) else 0

    def _count_requests(self, before: int) -> int:
        sent = max(0, self._request_count() - before)
        if sent:
            self._sent.append((self._clock(), sent))
        return sent


def _clamp_interval(value: float, fallback: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return fallback
    if not math.isfinite(number):
        return fallback
    return min(MAX_INTERVAL, max(MIN_INTERVAL, number))
