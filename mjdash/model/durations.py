"""Durations as people read them: per-second in a narrow column (the table, `mjdash status`),
or coarse where seconds would only flicker (the poll clock, a stall's age)."""

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


def format_age(seconds: float) -> str:
    """Coarse, in the largest whole unit ("42s", "12m", "3h", "2d"): how long ago or how long
    something has been the case, where the seconds would only flicker (the poll clock, a
    stall's age in the 13-cell status column)."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 48 * 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 86_400}d"
