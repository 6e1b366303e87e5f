"""What the dashboard prints when something inside it fails unexpectedly (docs/reliability.md, K1).

Textual's default is a rich traceback with every frame's local variables: the API key, revealed
for a header or a request, can be one of them. Instead the app exits with one line: the exception
type, its message with every known secret replaced by ***, and the innermost mjdash frame, so a
bug report still says where. No locals, no traceback, no server text left uncleaned.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable

from rich.text import Text
from textual.worker import WorkerFailed

from mjdash.model.secret import Secret
from mjdash.model.task import clean

MAX_MESSAGE = 300


class AppCrash(Exception):
    """An unexpected error, already reduced to one safe line; Textual prints it via __rich__."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line

    def __rich__(self) -> Text:
        return Text(self.line, style="bold red")


class PollFailed(Exception):
    """Stands in for an exception that escaped a poll worker: its type name, no message.

    Textual logs a failed worker's `repr(error)` (TEXTUAL_LOG, devtools); the message of the
    original error may hold the key.
    """

    def __init__(self, error: BaseException) -> None:
        self.kind = type(error).__name__
        super().__init__(self.kind)


def _where(error: BaseException) -> str:
    """`file.py:line in function` of the innermost frame inside mjdash, if any."""
    try:
        frames = traceback.extract_tb(error.__traceback__)
    except Exception:  # a traceback is a convenience, never a second crash
        return ""
    for frame in reversed(frames):
        if f"{os.sep}mjdash{os.sep}" in frame.filename:
            name = os.path.basename(frame.filename)
            return f"{name}:{frame.lineno} in {frame.name}"
    return ""


def _message(error: BaseException) -> str:
    try:
        text = str(error)
    except Exception:  # a broken __str__ must not hide the crash
        text = ""
    return clean(text, MAX_MESSAGE, single_line=True)


def crash_line(error: BaseException, secrets: Iterable[Secret | None]) -> str:
    """One line for the user: `mjdash crashed: Type: message (at file.py:12 in f)`, redacted."""
    if isinstance(error, WorkerFailed):
        error = error.error
    name = type(error).__name__
    message = _message(error)
    where = _where(error)
    line = f"mjdash crashed: {name}" + (f": {message}" if message else "")
    if where:
        line += f" (at {where})"
    for secret in secrets:
        if secret:
            line = secret.redact(line)
    return line


def secrets_of(client: object, key_env: str) -> list[Secret]:
    """Every form of the key this process knows: the client's, and the environment's."""
    found: list[Secret] = []
    key = getattr(client, "_key", None)
    if isinstance(key, Secret) and key:
        found.append(key)
    from_env = os.environ.get(key_env, "").strip() if key_env else ""
    if from_env:
        found.append(Secret(from_env))
    return found


def redacted(error: BaseException, secrets: Iterable[Secret | None]) -> AppCrash:
    """The error to hand to Textual in place of `error` (which stays as its __cause__)."""
    crash = AppCrash(crash_line(error, secrets))
    crash.__cause__ = error
    return crash
