"""Regenerate the README's screenshots from the demo batch (fixed clock, fixed seed).

    .venv/bin/python screenshots/make_screenshots.py

Run it whenever the UI changes; it writes the SVGs beside this file.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from mjdash.sim.engine import ManualClock  # noqa: E402
from mjdash.sim.server import SimServer  # noqa: E402
from tests.support.harness import make_app  # noqa: E402

# (file name, terminal size, keys pressed after the first poll)
SHOTS = [
    ("main-wide", (140, 36), ()),
    ("narrow-pane", (60, 20), ()),
    ("detail-buttons", (120, 36), ("j", "enter", "down")),
    ("help", (100, 34), ("question_mark",)),
]


async def shoot(name: str, size: tuple[int, int], keys: tuple[str, ...]) -> Path:
    clock = ManualClock()
    with (
        SimServer(
            demo=True,
            clock=clock,
            speed=1.0,
            fail_rate=0.0,
            public_url="https://api.cometapi.com",
        ) as sim,
        tempfile.TemporaryDirectory() as folder,
    ):
        app = make_app(
            sim,
            Path(folder),
            sim.seeded_ids,
            auto_poll=False,
            now=lambda: datetime.fromtimestamp(clock(), UTC),
        )
        async with app.run_test(size=size) as pilot:
            await app.poll(force=True).wait()
            await pilot.pause()
            if keys:
                await pilot.press(*keys)
                await pilot.pause()
            path = app.save_screenshot(f"{name}.svg", str(HERE))
    return Path(path)


async def main() -> None:
    for name, size, keys in SHOTS:
        print(await shoot(name, size, keys))


if __name__ == "__main__":
    asyncio.run(main())
