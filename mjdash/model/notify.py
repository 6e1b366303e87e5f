"""Telling the user: the digest text, which channel rings for which event, desktop notifications.

One digest per poll ("3 done, 1 failed"), and "batch complete" once when every task is settled.
Channels: the terminal bell, the in-app toast, and a desktop notification, each switched per
event in the config's [notify] section. Desktop notifications use `notify-send` when it is on
PATH, else an OSC 777 (or OSC 9 for terminals known to prefer it) escape string that the UI
writes to the terminal; inside tmux it is wrapped for passthrough (needs
`set -g allow-passthrough on`).

Digest text holds counts and short task ids only, never server text, so nothing hostile reaches
the desktop or the terminal's title bar.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Collection, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mjdash.model.task import short_id

EVENTS = ("done", "failed", "modal", "stalled", "batch_complete")
APP_NAME = "mjdash"
_UNSAFE_RE = re.compile(r"[\x00-\x1f\x7f-\x9f;]")
_OSC9_TERMINALS = {"iTerm.app", "WezTerm", "ghostty", "vscode"}
MAX_IDS_SHOWN = 3
# notify-send needs a desktop session to talk to (over SSH it has none: use the terminal's OSC).
_SESSION_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")


@dataclass(frozen=True)
class Digest:
    """What one poll brought worth telling."""

    done: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    modal: tuple[str, ...] = ()
    stalled: tuple[str, ...] = ()
    batch_complete: bool = False
    total: int = 0  # for the batch-complete line
    failed_total: int = 0

    def events(self) -> set[str]:
        found = {name for name in ("done", "failed", "modal", "stalled") if getattr(self, name)}
        if self.batch_complete:
            found.add("batch_complete")
        return found

    def __bool__(self) -> bool:
        return bool(self.events())

    def parts(self, events: Collection[str] = EVENTS) -> list[str]:
        parts = []
        if "done" in events and self.done:
            parts.append(f"{len(self.done)} done")
        if "failed" in events and self.failed:
            parts.append(f"{len(self.failed)} failed")
        if "modal" in events and self.modal:
            parts.append(f"{len(self.modal)} waiting for you (MODAL)")
        if "stalled" in events and self.stalled:
            parts.append(f"{len(self.stalled)} stalled")
        return parts

    def text(self, events: Collection[str] = EVENTS) -> str:
        """ "3 done, 1 failed: …12345678, …" then "Batch complete: …" on its own line."""
        lines = []
        parts = self.parts(events)
        if parts:
            ids = [
                *(self.failed if "failed" in events else ()),
                *(self.modal if "modal" in events else ()),
                *(self.stalled if "stalled" in events else ()),
                *(self.done if "done" in events else ()),
            ]
            shown = ", ".join(short_id(i) for i in ids[:MAX_IDS_SHOWN])
            more = " …" if len(ids) > MAX_IDS_SHOWN else ""
            lines.append(f"{', '.join(parts)}: {shown}{more}")
        if self.batch_complete and "batch_complete" in events:
            lines.append(self.complete_line())
        return "\n".join(lines)

    def complete_line(self) -> str:
        failed = f", {self.failed_total} failed" if self.failed_total else ""
        return f"Batch complete: {self.total} task{'s' if self.total != 1 else ''}{failed}"


class DigestKeeper:
    """What the next digest holds beyond a poll's done/failed/modal: the tasks flagged stalled
    since the last one (those still stalled), and "batch complete" once, when every watched
    task has finished and this poll finished something (not at start, not again)."""

    def __init__(self) -> None:
        self._stalled: list[str] = []
        self._complete = False

    def stalled(self, ids: Iterable[str]) -> None:
        """Tasks newly flagged stalled (by a poll or by the tick)."""
        self._stalled += ids

    def digest(
        self,
        done: Sequence[str],
        failed: Sequence[str],
        modal: Sequence[str],
        *,
        still_stalled: Container[str],
        finished: bool,
        total: int,
        failed_total: int,
    ) -> Digest | None:
        """This poll's one digest; None when there is nothing to tell. `finished`: every
        watched task has finished; `total` and `failed_total` count them for its line."""
        stalled = tuple(i for i in self._stalled if i in still_stalled)
        self._stalled = []
        complete = finished and not self._complete and bool(done or failed)
        self._complete = finished
        digest = Digest(
            tuple(done),
            tuple(failed),
            tuple(modal),
            stalled,
            batch_complete=complete,
            total=total,
            failed_total=failed_total,
        )
        return digest if digest else None


@dataclass(frozen=True)
class Channels:
    """Which events each channel announces (the [notify] config)."""

    bell: frozenset[str] = frozenset(EVENTS)
    toast: frozenset[str] = frozenset(EVENTS)
    desktop: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Plan:
    """What to do for one digest."""

    bell: bool = False
    toast: str = ""  # the toast's text ("" = none)
    desktop: str = ""  # the desktop notification's text ("" = none)
    severity: str = "information"
    title: str = "Tasks"
    events: frozenset[str] = field(default_factory=frozenset)


def plan(digest: Digest, channels: Channels, *, bell_enabled: bool = True) -> Plan:
    events = digest.events()
    if not events:
        return Plan()
    title = "Batch complete" if digest.batch_complete and len(events) == 1 else "Tasks"
    severity = "error" if digest.failed and "failed" in channels.toast else "information"
    return Plan(
        bell=bell_enabled and bool(events & channels.bell),
        toast=digest.text(channels.toast),
        desktop=digest.text(channels.desktop),
        severity=severity,
        title=title,
        events=frozenset(events),
    )


# --- desktop notifications --------------------------------------------------------------------


def _safe(text: str, limit: int = 300) -> str:
    """One line with no control characters or ';' (the OSC field separator)."""
    return _UNSAFE_RE.sub(" ", " ".join(text.split()))[:limit]


def osc_sequence(title: str, body: str, env: Mapping[str, str] = os.environ) -> str:
    """The escape string that asks the terminal for a notification.

    OSC 9 (iTerm2, WezTerm, ghostty, VS Code) shows only a body; OSC 777 (urxvt, foot, kitty,
    Konsole, Windows Terminal...) has a title and a body. Inside tmux the sequence is wrapped
    in tmux's DCS passthrough.
    """
    title, body = _safe(title, 80), _safe(body)
    if env.get("TERM_PROGRAM") in _OSC9_TERMINALS:
        sequence = f"\x1b]9;{title}: {body}\x07"
    else:
        sequence = f"\x1b]777;notify;{title};{body}\x1b\\"
    if env.get("TMUX"):
        sequence = "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return sequence


def notify_send_path() -> str | None:
    return shutil.which("notify-send")


def send_desktop(
    title: str,
    body: str,
    *,
    osc_writer: Callable[[str], object] | None = None,
    env: Mapping[str, str] = os.environ,
) -> str:
    """Show a desktop notification; returns how ("notify-send", "OSC") or "" when it could not.

    `osc_writer(str)` writes the escape string to the terminal when notify-send is missing.
    notify-send runs in the background (no shell, arguments as a list), never waited for.
    """
    program = notify_send_path()
    if program is not None and any(env.get(name) for name in _SESSION_VARS):
        try:
            subprocess.Popen(
                [program, "--app-name", APP_NAME, "--", _safe(title, 80), _safe(body)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            return "notify-send"
        except OSError:
            pass
    if osc_writer is not None:
        osc_writer(osc_sequence(title, body, env))
        return "OSC"
    return ""
