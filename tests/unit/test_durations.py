"""The one duration formatter: table, `mjdash status`, summary and the poller's countdown."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mjdash.model.durations import format_age, format_duration
from mjdash.net.poller import PollerState, PollResult


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (42, "42s"),
        (59.9, "59s"),
        (60, "1m 00s"),
        (192, "3m 12s"),
        (3_900, "1h 05m"),
        (47 * 3600 + 59 * 60, "47h 59m"),
        (2 * 86_400 + 3 * 3600, "2d 3h"),
    ],
)
def test_format_duration(seconds: float, shown: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == shown


def test_no_duration_is_blank() -> None:
    assert format_duration(None) == ""


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-3, "0s"),
        (0, "0s"),
        (59.9, "59s"),
        (60, "1m"),
        (3599, "59m"),
        (3600, "1h"),
        (47 * 3600 + 3599, "47h"),
        (2 * 86_400 + 5 * 3600, "2d"),
    ],
)
def test_format_age_keeps_the_largest_whole_unit(seconds: float, shown: str) -> None:
    """The poll clock ("polled 3m ago") and a stall's age ("⚠ stalled 12m", 13 cells)."""
    assert format_age(seconds) == shown


@pytest.mark.parametrize(
    ("left", "shown"), [(11.2, "in 12s"), (0.3, "in 1s"), (0.0, "now"), (60, "in 1m 00s")]
)
def test_the_retry_countdown_uses_it_rounded_up(left: float, shown: str) -> None:
    result = PollResult(
        tasks={},
        not_found=set(),
        bad={},
        state=PollerState.UNREACHABLE,
        error="refused",
        retry_at=100.0 + left,
        next_delay=left,
        requests=1,
        polled_ids=1,
        headline="server unreachable",
    )
    assert result.status_line(100.0) == f"server unreachable, retrying {shown}"
