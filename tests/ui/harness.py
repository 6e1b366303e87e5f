"""Build a dashboard wired to a simulator, as the CLI would, for Pilot tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from mjdash.cache import TaskCache
from mjdash.client import MidjourneyClient
from mjdash.config import ApiConfig, Config, PollConfig, UiConfig
from mjdash.poller import Poller
from mjdash.secret import Secret
from mjdash.sim.server import SimServer
from mjdash.ui.app import MjdashApp
from mjdash.watchlist import Watchlist


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
) -> MjdashApp:
    config = Config(
        api=ApiConfig(base_url=sim.url, allow_http=True),
        poll=PollConfig(interval=interval, batch_size=batch_size),
        ui=UiConfig(theme="textual-dark", bell=bell, confirm_actions=confirm_actions),
    )
    watchlist = Watchlist.load(folder / "watchlist.toml")
    if ids:
        watchlist.add(ids)
        watchlist.save()
    client = MidjourneyClient(
        sim.url, Secret("test-key"), batch_size=batch_size, timeout=5.0, key_env="COMETAPI_KEY"
    )
    poller = Poller(client, interval=interval)
    return MjdashApp(
        config=config,
        client=client,
        poller=poller,
        watchlist=watchlist,
        cache=TaskCache(folder / "cache.sqlite3"),
        now=now,
        auto_poll=auto_poll,
    )
