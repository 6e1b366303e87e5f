"""Shared fixtures. Keep each one small and say what it gives."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mjdash.sim.server import SimServer

# At speed 100 an imagine takes ~0.4-0.7 s of real time and an upscale ~0.1 s.
FAST_SPEED = 100.0


@pytest.fixture
def sim() -> Iterator[SimServer]:
    """A started simulator on 127.0.0.1 (any non-empty key, no faults, no random failures).

    Prompts with `--fail` still fail; `sim.url` is the base URL, `sim.engine` the engine.
    """
    with SimServer(speed=FAST_SPEED, fail_rate=0.0) as server:
        yield server


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., SimServer]]:
    """`sim_factory(**options)` starts a SimServer (defaults: fast, no random failures);
    every server it started is stopped after the test."""
    servers: list[SimServer] = []

    def start(**options: Any) -> SimServer:
        options.setdefault("speed", FAST_SPEED)
        options.setdefault("fail_rate", 0.0)
        server = SimServer(**options).start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch) -> None:
    """Every test gets its own XDG dirs: nothing reads or writes the real user's files."""
    home = tmp_path_factory.mktemp("home")
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(home / name.lower()))
    for name in ("MJDASH_CONFIG", "MJDASH_WATCHLIST", "MJDASH_BASE_URL", "MJDASH_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
