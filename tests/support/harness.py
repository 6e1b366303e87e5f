"""Build a dashboard wired to a simulator through the CLI's own factory (mjdash.ui.run), for
Pilot tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from mjdash.model.secret import Secret
from mjdash.sim.server import SimServer
from mjdash.store.cache import TaskCache
from mjdash.store.config import ApiConfig, Config, NotifyConfig, PollConfig, UiConfig
from mjdash.store.journal import Journal
from mjdash.store.watchlist import Watchlist
from mjdash.ui.app import MjdashApp
from mjdash.ui.run import build_dashboard


def make_app(
    sim: SimServer,
    folder: Path,
    ids: list[str] | None = None,
    *,
    interval: float = 0.5,
    auto_poll: bool = True,
    now: Callable[[], datetime] | None = None,
    bell: bool = False,
    confirm_actions: bool = True,
    batch_size: int = 100,
    notify: NotifyConfig | None = None,
    journal: Journal | None = None,
    **ui_options: Any,
) -> MjdashApp:
    """`ui_options` are more [ui] settings; the image preview is off unless asked for (it
    downloads images, which tests counting requests do not expect)."""
    ui_options.setdefault("preview", False)
    config = Config(
        api=ApiConfig(base_url=sim.url, allow_http=True, timeout=5.0),
        poll=PollConfig(interval=interval, batch_size=batch_size),
        ui=UiConfig(theme="textual-dark", bell=bell, confirm_actions=confirm_actions, **ui_options),
        notify=notify or NotifyConfig(),
    )
    watchlist = Watchlist.load(folder / "watchlist.toml")
    if ids:
        # As `mjdash demo` does: children under the task they came from. A bare server
        # (a fault server standing in for the simulator) has no engine and no lineage.
        engine = getattr(sim, "engine", None)
        for task_id in ids:
            watchlist.add([task_id], parent=engine.parent_of(task_id) if engine else "")
        watchlist.save()
    return build_dashboard(
        config,
        Secret("test-key"),
        watchlist,
        cache=TaskCache(folder / "cache.sqlite3"),
        journal=journal,
        subtitle="",
        now=now,
        auto_poll=auto_poll,
    )
