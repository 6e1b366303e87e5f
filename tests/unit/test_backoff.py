"""The global backoff and Retry-After parsing (docs/reliability.md: rules 2 and 3, fault row H2)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
from hypothesis import given
from hypothesis import strategies as st

from mjdash.net.backoff import MAX_DELAY, MIN_DELAY, Backoff, parse_retry_after


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(rng: float = 1.0) -> tuple[Backoff, FakeClock]:
    clock = FakeClock()
    return Backoff(clock=clock, rng=lambda: rng), clock


def test_delays_double_from_base_to_cap():
    backoff, _ = make(rng=1.0)
    delays = [backoff.next() for _ in range(9)]
    assert delays == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0, 30.0]


def test_full_jitter_draws_below_the_ceiling():
    backoff, _ = make(rng=0.25)
    assert [backoff.next() for _ in range(3)] == [0.2, 0.4, 0.8]


def test_a_zero_draw_still_waits_the_floor():
    backoff, _ = make(rng=0.0)
    assert backoff.next() == MIN_DELAY


def test_C2_flapping_server_does_not_reset_the_backoff():
    backoff, clock = make(rng=1.0)
    delays = []
    for _ in range(7):
        delays.append(backoff.next())
        clock.now += delays[-1]
        backoff.success()  # one good answer between failures
        clock.now += 5
    assert delays == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0]


def test_reset_only_after_two_minutes_healthy():
    backoff, clock = make(rng=1.0)
    for _ in range(5):
        backoff.next()
    backoff.success()
    clock.now += 119
    backoff.success()
    assert backoff.ceiling == 25.6  # 1 s short of two minutes: still slow
    clock.now += 1
    backoff.success()
    assert backoff.ceiling == 0.8
    assert backoff.next() == 0.8


def test_healthy_time_counts_until_the_next_failure():
    backoff, clock = make(rng=1.0)
    for _ in range(4):
        backoff.next()
    backoff.success()
    clock.now += 300  # no calls meanwhile, no failure either
    assert backoff.next() == 0.8


def test_a_failure_restarts_the_healthy_timer():
    backoff, clock = make(rng=1.0)
    backoff.next()
    backoff.success()
    clock.now += 100
    backoff.next()  # failure: the 100 s of health are forgotten
    backoff.success()
    clock.now += 100
    assert backoff.next() == 3.2


def test_a_broken_rng_cannot_make_a_negative_or_endless_wait():
    for value in (-1.0, 5.0, math.nan, math.inf):
        backoff = Backoff(clock=FakeClock(), rng=lambda v=value: v)
        assert MIN_DELAY <= backoff.next() <= MAX_DELAY


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["fail", "ok"]),
            st.floats(min_value=0, max_value=1, exclude_max=True),
            st.floats(min_value=0, max_value=500),
        ),
        max_size=60,
    )
)
def test_backoff_bounds(steps):
    clock = FakeClock()
    draws = iter([s[1] for s in steps])
    backoff = Backoff(clock=clock, rng=lambda: next(draws))
    for action, _draw, advance in steps:
        clock.now += advance
        if action == "fail":
            delay = backoff.next()
            assert MIN_DELAY <= delay <= MAX_DELAY
            assert delay <= max(MIN_DELAY, backoff.ceiling)
        else:
            backoff.success()
        assert 0.8 <= backoff.ceiling <= MAX_DELAY


# --- Retry-After ----------------------------------------------------------------------------

NOW = datetime(2026, 3, 12, 10, 0, 0, tzinfo=UTC)


def test_H2_retry_after_seconds():
    assert parse_retry_after({"Retry-After": "7"}, now=NOW) == 7.0


def test_H2_retry_after_http_date():
    date = format_datetime(NOW + timedelta(seconds=42), usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=NOW) == 42.0


def test_H2_retry_after_http_date_in_the_past_is_zero():
    date = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=NOW) == 0.0


def test_H2_retry_after_ms_comes_first():
    headers = httpx.Headers({"Retry-After": "9", "retry-after-ms": "1500"})
    assert parse_retry_after(headers, now=NOW) == 1.5


def test_H2_retry_after_ms_garbage_falls_back_to_retry_after():
    assert parse_retry_after({"retry-after-ms": "soon", "retry-after": "3"}, now=NOW) == 3.0


def test_H2_retry_after_absent():
    assert parse_retry_after({}, now=NOW) is None
    assert parse_retry_after({"Content-Type": "text/plain"}, now=NOW) is None


def test_H2_retry_after_garbage_is_absent():
    for value in ("abc", "-5", "1e309", "inf", "NaN", "", "  ", "7s", "0x10", "-0", "1,5"):
        assert parse_retry_after({"Retry-After": value}, now=NOW) is None, value


def test_H2_retry_after_huge_is_clamped():
    assert parse_retry_after({"Retry-After": "86400"}, now=NOW) == 300.0
    assert parse_retry_after({"Retry-After": "9" * 400}, now=NOW) == 300.0
    far = format_datetime(NOW + timedelta(days=30), usegmt=True)
    assert parse_retry_after({"Retry-After": far}, now=NOW) == 300.0
    assert parse_retry_after({"retry-after-ms": "86400000"}, now=NOW) == 300.0


def test_H2_header_names_are_case_insensitive():
    assert parse_retry_after({"RETRY-AFTER": "4"}, now=NOW) == 4.0
    assert parse_retry_after(httpx.Headers([("Retry-After", "4")]), now=NOW) == 4.0


def test_retry_after_with_a_naive_now_is_read_as_utc():
    date = format_datetime(NOW + timedelta(seconds=5), usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=NOW.replace(tzinfo=None)) == 5.0


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=60), max_size=5))
def test_retry_after_never_raises_on_any_headers(headers):
    value = parse_retry_after(headers, now=NOW)
    assert value is None or 0.0 <= value <= 300.0


@given(
    st.sampled_from(["Retry-After", "retry-after-ms"]),
    st.one_of(
        st.text(max_size=40),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
        st.integers().map(str),
        st.datetimes(timezones=st.just(UTC)).map(lambda d: format_datetime(d, usegmt=True)),
    ),
)
def test_retry_after_is_none_or_within_bounds(name, value):
    result = parse_retry_after({name: value}, now=NOW)
    assert result is None or (0.0 <= result <= 300.0 and math.isfinite(result))
