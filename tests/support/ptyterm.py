"""Run a command in a real pseudo-terminal and keep every byte it writes to the terminal.

For whole-app checks that Pilot cannot make: what reaches the terminal (escape sequences from the
server must not), what a crash prints, whether the key shows anywhere. `PtyProcess` starts the
command on the slave side of a pty (stdin, stdout and stderr, with a window size), reads the
master side in a thread, and lets the test type keys and wait for text on the screen.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Escape sequences, to turn the byte stream into the words a user would see.
_ESCAPES = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    rb"|\x1b[PX^_][^\x1b]*\x1b\\"  # DCS, SOS, PM, APC
    rb"|\x1b[@-Z\\-_]"  # other two-byte sequences
    rb"|\x1b[()][0-9A-Za-z]"  # charset selection
)


def visible(data: bytes) -> str:
    """The text in `data` with every escape sequence taken out (cursor moves become nothing)."""
    return _ESCAPES.sub(b"", data).decode("utf-8", "replace")


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for a child mjdash: its own XDG dirs under `home`, no MJDASH_* or key."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MJDASH_", "XDG_", "TEXTUAL")) and name != "COMETAPI_KEY"
    }
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        env[f"XDG_{name}_HOME"] = str(home / name.lower())
    env.update(TERM="xterm-256color", COLORTERM="truecolor", PYTHONPATH=str(ROOT), HOME=str(home))
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


class PtyProcess:
    """A child process on a pty of `size` (columns, rows); `.output` holds every byte it wrote."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        size: tuple[int, int] = (160, 45),
        cwd: Path = ROOT,
    ) -> None:
        master, slave = os.openpty()
        columns, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.master = master
        self._output = bytearray()
        self._lock = threading.Lock()
        try:
            self.process = subprocess.Popen(
                list(argv),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=dict(env),
                cwd=cwd,
                close_fds=True,
                start_new_session=True,  # its own session: signals to it never reach pytest
            )
        finally:
            os.close(slave)
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()

    @classmethod
    def python(cls, code: str, *args: str, **kwargs) -> PtyProcess:
        return cls([sys.executable, "-c", code, *args], **kwargs)

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not chunk:
                return
            with self._lock:
                self._output += chunk

    @property
    def output(self) -> bytes:
        with self._lock:
            return bytes(self._output)

    @property
    def text(self) -> str:
        return visible(self.output)

    def mark(self) -> int:
        """A position in the output, to wait for text written after it."""
        with self._lock:
            return len(self._output)

    def wait_for(
        self,
        what: str | Callable[[str], bool],
        *,
        timeout: float = 15.0,
        since: int = 0,
    ) -> str:
        """Wait until the visible text (after `since`) contains `what` or satisfies it."""
        check = what if callable(what) else (lambda text: what in text)
        deadline = time.monotonic() + timeout
        while True:
            text = visible(self.output[since:])
            if check(text):
                return text
            if self.process.poll() is not None:
                time.sleep(0.1)  # the last bytes may still be in flight
                text = visible(self.output[since:])
                if check(text):
                    return text
                raise AssertionError(
                    f"exited ({self.process.returncode}) before showing {what!r}:\n{text[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"{what!r} not shown within {timeout}s:\n{text[-3000:]}")
            time.sleep(0.05)

    def send(self, keys: str | bytes) -> None:
        os.write(self.master, keys.encode() if isinstance(keys, str) else keys)

    def wait(self, timeout: float = 15.0) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def close(self) -> None:
        """Stop the child if it still runs, then release the terminal."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._reader.join(timeout=5)
        with contextlib.suppress(OSError):
            os.close(self.master)

    def __enter__(self) -> PtyProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
