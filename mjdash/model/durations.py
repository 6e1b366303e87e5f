"""Durations as people read them in a narrow column (the table, `mjdash status`)."""

from __future__ import annotations

from datetime import timedelta


def format_duration(delta: timedelta | None) -> str:
    """Compact and per-second ("42s", "3m 12s", "1h 05m", "2d 3h"), for a narrow column."""
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"
