"""Where mjdash keeps its files: the XDG dirs (platformdirs), so tests can point them elsewhere."""

from __future__ import annotations

import errno
import os
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


PRIVATE_DIR_MODE = 0o700


def ensure_private_dir(path: Path) -> Path:
    """Create a folder, and every missing folder above it, for its owner only (0700).

    Watchlists, caches and downloads name private work. `mkdir(parents=True)` would give the
    parents the umask's mode (0777 under umask 0); an existing folder keeps its mode (it may
    be the user's own Downloads). Raises OSError.
    """
    path = Path(path).expanduser()
    missing: list[Path] = []
    folder = path
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process
        os.chmod(folder, PRIVATE_DIR_MODE)  # the umask can narrow the mode, never widen it
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{path} is not a folder")
    return path
