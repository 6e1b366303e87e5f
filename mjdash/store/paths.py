"""Where mjdash keeps its files: the XDG dirs (platformdirs), so tests can point them elsewhere."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "mjdash"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME))


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME))


def ensure_private_dir(path: Path) -> Path:
    """Create a folder readable by its owner only (watchlists and caches name private work)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
