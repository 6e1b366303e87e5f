"""How long to wait after a failure: the global poll backoff and Retry-After parsing.

Pure code: no HTTP, no sleeping. The poller asks `Backoff.next()` for a delay after each failed
poll and calls `Backoff.success()` after each good one (docs/reliability.md, rules 2 and 3).

The model is Kubernetes client-go's reflector backoff: the ceiling starts at 0.8 s and doubles per
failure up to 30 s; the delay is "full jitter" (uniform between 0 and the ceiling) so many clients
do not retry in step; the ceiling only drops back to 0.8 s after 2 minutes without a failure, so a
flapping server (fail, ok, fail, ok...) keeps getting slower instead of being hammered.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

BASE_DELAY = 0.8
MAX_DELAY = 30.0
RESET_AFTER = 120.0
# Full jitter can draw ~0: a floor keeps a failing server from being polled in a tight loop.
MIN_DELAY = 0.1

MAX_RETRY_AFTER = 300.0


class Backoff:
    """Exponential backoff with full jitter, reset after `reset_after` seconds of health.

    `clock` is monotonic seconds and `rng` returns a float in [0, 1); both injectable for tests.
    """

    def __init__(
        self,
        *,
        base: float = BASE_DELAY,
        cap: float = MAX_DELAY,
        reset_after: float = RESET_AFTER,
        floor: float = MIN_DELAY,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.base = base
        self.cap = cap
        self.reset_after = reset_after
        self.floor = min(floor, cap)
        self._clock = clock
        self._rng = rng
        self._failures = 0
        self._healthy_since: float | None = None

    @property
    def failures(self) -> int:
        """Failures counted since the last reset."""
        return self._failures

    @property
    def ceiling(self) -> float:
        """The largest delay the next failure can draw."""
        return _ceiling(self.base, self.cap, self._failures)

    def next(self) -> float:
        """Record a failure and return how long to wait before trying again."""
        self._reset_if_healthy(self._clock())
        ceiling = self.ceiling
        self._failures = min(self._failures + 1, 64)  # past the cap; bounded so 2**n stays small
        self._healthy_since = None
        draw = self._rng()
        if not (isinstance(draw, (int, float)) and 0.0 <= draw <= 1.0):
            draw = 1.0  # a broken rng must not produce a negative or endless wait
        return min(self.cap, max(self.floor, draw * ceiling))

    def success(self) -> None:
        """Record a good answer; the ceiling resets once health has lasted `reset_after`."""
        now = self._clock()
        if self._healthy_since is None:
            self._healthy_since = now
        self._reset_if_healthy(now)

    def reset(self) -> None:
        self._failures = 0
        self._healthy_since = None

    def _reset_if_healthy(self, now: float) -> None:
        if self._healthy_since is not None and now - self._healthy_since >= self.reset_after:
            self._failures = 0

    def __repr__(self) -> str:
        return f"Backoff(failures={self._failures}, ceiling={self.ceiling:g})"


def _ceiling(base: float, cap: float, failures: int) -> float:
    if failures >= 64:
        return cap
    return min(cap, base * 2.0**failures)


# --- Retry-After --------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that works for plain dicts and httpx.Headers alike."""
    try:
        items = list(headers.items())
    except Exception:  # a broken mapping means "no header"
        return None
    for key, value in items:
        if isinstance(key, str) and key.lower() == name and isinstance(value, str):
            return value
    return None


def _seconds(text: str | None, scale: float = 1.0) -> float | None:
    if text is None:
        return None
    text = text.strip()
    if len(text) > 1000 or not _NUMBER_RE.match(text):
        return None  # negative, inf, nan, 1e309, "abc": all absent
    value = float(text) * scale
    if not math.isfinite(value):
        return MAX_RETRY_AFTER  # plain digits, just very many of them
    return min(value, MAX_RETRY_AFTER)


def _http_date(text: str | None, now: datetime) -> float | None:
    if text is None or len(text) > 100:
        return None
    try:
        when = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        seconds = (when - now).total_seconds()
    except OverflowError:
        return None
    if not math.isfinite(seconds):
        return None
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, then `Retry-After` (seconds or HTTP date).

    Clamped to 0..300 s; a date in the past is 0. Absent, negative, non-finite or unreadable
    values give None (the caller then uses its own backoff). Never raises.
    """
    try:
        seconds = _seconds(_header(headers, "retry-after-ms"), scale=0.001)
        if seconds is not None:
            return seconds
        text = _header(headers, "retry-after")
        seconds = _seconds(text)
        if seconds is not None:
            return seconds
        if now is None:
            now = datetime.now(UTC)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        return _http_date(text, now)
    except Exception:  # header parsing must never break a poll
        return None
