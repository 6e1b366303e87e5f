"""A real terminal for end-to-end tests: mjdash inside a private tmux server."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path


class TmuxTerminal:
    """One tmux server (its own socket) running one command in a pane of a fixed size."""

    def __init__(self, command: list[str], *, width: int, height: int, env: dict[str, str]):
        self.socket = f"mjdash-test-{uuid.uuid4().hex[:8]}"
        self.width = width
        self.height = height
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # `env -i` drops the caller's environment; $TMUX (set by tmux for the pane) is kept.
        line = f'env -i TMUX="$TMUX" {exports} {shlex.join(command)}; echo EXITED-$?; sleep 60'
        self._tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), line)

    def _tmux(self, *args: str, input: bytes | None = None) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            input=input,
            capture_output=True,
            timeout=10,
            check=True,
        )
        return done.stdout.decode(errors="replace")

    def keys(self, *keys: str, pause: float = 0.25) -> None:
        for key in keys:
            self._tmux("send-keys", "-t", "t", key)
            time.sleep(pause)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-t", "t", "-p")

    def wait_for(self, predicate, timeout: float = 30.0, what: str = "") -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.2)
        size = self._tmux("list-windows", "-F", "#{window_width}x#{window_height}").strip()
        raise AssertionError(f"timed out waiting for {what or predicate} ({size}):\n{screen}")

    def buffer(self) -> str:
        try:
            return self._tmux("show-buffer")
        except subprocess.CalledProcessError:
            return ""

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


def have_tmux() -> bool:
    return shutil.which("tmux") is not None


def mjdash_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mjdash", *args]


def terminal_env(home: Path) -> dict[str, str]:
    """XDG dirs in `home`, a plain TERM; nothing else of the caller's environment
    (COLUMNS/LINES from pytest would pin the app's size; MJDASH_* would leak settings)."""
    env = {f"XDG_{n}_HOME": str(home / n.lower()) for n in ("CONFIG", "DATA", "CACHE", "STATE")}
    env["TERM"] = "xterm-256color"
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    env["PATH"] = os.environ.get("PATH", "")
    env["HOME"] = str(home)
    env["LANG"] = "C.UTF-8"
    return env
