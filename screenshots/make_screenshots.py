"""Regenerate the README's screenshots from the demo batch (fixed clock, fixed seed).

    .venv/bin/python screenshots/make_screenshots.py [name ...]

Run it whenever the UI changes; it writes the SVGs beside this file.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from mjdash.commands.dashboard import watch_demo_batch  # noqa: E402
from mjdash.model.secret import Secret  # noqa: E402
from mjdash.sim.engine import ManualClock  # noqa: E402
from mjdash.sim.server import SimServer  # noqa: E402
from mjdash.store.cache import TaskCache  # noqa: E402
from mjdash.store.config import ApiConfig, Config, PollConfig, UiConfig  # noqa: E402
from mjdash.store.watchlist import Watchlist  # noqa: E402
from mjdash.ui.run import build_dashboard  # noqa: E402

# (file name, terminal size, keys pressed after the first poll)
SHOTS = [
    ("main-wide", (160, 40), ()),  # from 155 columns the detail sits beside the table
    ("narrow-pane", (60, 20), ()),
    ("detail-buttons", (120, 36), ("j", "enter", "down")),
    ("help", (100, 34), ("question_mark",)),
]
# The image shots (issue 14): the preview of the first grid (half-blocks, U1-U4 over its
# quadrants) and the contact sheet. Their images are downloaded from the simulator itself, so
# its links stay on 127.0.0.1 (no public_url) and the detail pane hides nothing it would show.
IMAGE_SHOTS = [
    ("preview", (120, 36), ()),
    ("contact-sheet", (120, 36), ("V",)),
]
IMAGE_SIZE = 512  # soft gradients, like a photograph (128 px would be flat quadrants)


async def shoot(
    name: str, size: tuple[int, int], keys: tuple[str, ...], *, images: bool = False
) -> Path:
    clock = ManualClock()
    with (
        SimServer(
            demo=True,
            clock=clock,
            speed=1.0,
            fail_rate=0.0,
            public_url="" if images else "https://api.cometapi.com",
        ) as sim,
        tempfile.TemporaryDirectory() as folder,
    ):
        if images:
            sim.engine.image_size, sim.engine.image_format = IMAGE_SIZE, "mixed"
        watchlist = Watchlist.load(Path(folder) / "watchlist.toml")
        watch_demo_batch(watchlist, sim)  # as `mjdash demo` does
        config = Config(
            api=ApiConfig(base_url=sim.url, allow_http=True, timeout=5.0),
            poll=PollConfig(interval=0.5),
            ui=UiConfig(
                theme="textual-dark", bell=False, preview="halfblocks" if images else False
            ),
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
            if images:  # the preview waits 0.3 s for the selection to settle, then downloads
                await pilot.pause(0.5)
                await app.workers.wait_for_complete()
                await pilot.pause()
            if keys:
                await pilot.press(*keys)
                await pilot.pause()
            if images:  # the sheet's thumbnails
                await pilot.pause(0.2)
                await app.workers.wait_for_complete()
                await pilot.pause()
            path = app.save_screenshot(f"{name}.svg", str(HERE))
    return Path(path)


async def main() -> None:
    # The thumbnail cache and the journal go to a folder that is thrown away, not the user's.
    with tempfile.TemporaryDirectory() as home:
        for variable in ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
            os.environ[variable] = str(Path(home) / variable.lower())
        only = set(sys.argv[1:])  # names to make (default: all)
        for name, size, keys in SHOTS:
            if not only or name in only:
                print(await shoot(name, size, keys))
        for name, size, keys in IMAGE_SHOTS:
            if not only or name in only:
                print(await shoot(name, size, keys, images=True))


if __name__ == "__main__":
    asyncio.run(main())
