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

from mjdash.model.secret import Secret  # noqa: E402
from mjdash.sim.engine import ManualClock  # noqa: E402
from mjdash.sim.server import SimServer  # noqa: E402
from mjdash.store.cache import TaskCache  # noqa: E402
from mjdash.store.config import ApiConfig, Config, PollConfig, UiConfig  # noqa: E402
from mjdash.store.watchlist import Watchlist  # noqa: E402
from mjdash.ui.run import build_dashboard  # noqa: E402

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
        watchlist = Watchlist.load(Path(folder) / "watchlist.toml")
        for task_id in sim.seeded_ids:  # as `mjdash demo` adds them: children under parents
            watchlist.add([task_id], parent=sim.engine.parent_of(task_id))
        config = Config(
            api=ApiConfig(base_url=sim.url, allow_http=True, timeout=5.0),
            poll=PollConfig(interval=0.5),
            ui=UiConfig(theme="textual-dark", bell=False, preview=False),
        )
        app = build_dashboard(
            config,
            Secret("screenshot-key"),
            watchlist,
            cache=TaskCache(Path(folder) / "cache.sqlite3"),
            subtitle="",
            now=lambda: datetime.fromtimestamp(clock(), UTC),
            auto_poll=False,
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
