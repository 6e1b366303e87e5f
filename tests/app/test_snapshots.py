"""SVG snapshots of the dashboard on the demo batch, with a fixed clock and simulator seed.

Update after looking at the differences: `pytest tests/app/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mjdash.sim.engine import ManualClock
from mjdash.sim.server import SimServer
from tests.support.harness import make_app


@pytest.fixture
def demo_app(tmp_path):
    clock = ManualClock()
    with SimServer(
        demo=True,
        clock=clock,
        speed=1.0,
        seed=0,
        fail_rate=0.0,
        public_url="https://api.cometapi.com",
    ) as sim:
        yield make_app(
            sim,
            tmp_path,
            sim.seeded_ids,
            auto_poll=False,
            now=lambda: datetime.fromtimestamp(clock(), UTC),
        )


async def first_poll(pilot) -> None:
    await pilot.app.poll(force=True).wait()
    await pilot.pause()


def test_wide_main_view(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=(120, 36), run_before=first_poll)


def test_narrow_pane(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=(60, 20), run_before=first_poll)


def test_detail_with_buttons_focused(snap_compare, demo_app):
    async def focus_buttons(pilot) -> None:
        await first_poll(pilot)
        await pilot.press("j", "enter", "down")

    assert snap_compare(demo_app, terminal_size=(120, 36), run_before=focus_buttons)
