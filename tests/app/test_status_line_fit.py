"""The top line in a narrow pane: whole parts or none, the health and the task count first."""

from __future__ import annotations

from mjdash.net.poller import PollerState
from mjdash.ui.status_line import PollView, render_status_line

VIEW = PollView(
    state=PollerState.OK,
    line=None,
    polled_ago=3.0,
    interval=5.0,
    requests_per_minute=12.0,
)


def test_a_narrow_line_drops_whole_parts_and_keeps_health_and_count() -> None:
    wide = render_status_line(VIEW, "COMETAPI_KEY", total=20, triage=8, width=0).plain
    assert "polled 3s ago" in wide and "12 req/min" in wide and "20 tasks" in wide
    for width in (60, 50, 40):
        line = render_status_line(VIEW, "COMETAPI_KEY", total=20, triage=8, width=width).plain
        assert len(line) <= width
        assert "● ok" in line and "20 tasks" in line, line
        # Every part shown is shown whole: no part ends cut ("req/mi", "│ 20").
        for part in (" · polled 3s ago", " · every 5s", " · 12 req/min", " ⚑8 to triage"):
            kept = part.strip(" ·")
            assert kept in line or kept.split()[0] not in line.replace("● ok", ""), line


def test_one_task_is_not_tasks() -> None:
    line = render_status_line(VIEW, "COMETAPI_KEY", total=1).plain
    assert "│ 1 task" in line and "1 tasks" not in line
