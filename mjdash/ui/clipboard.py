"""Copy that works inside tmux.

OSC 52 alone is dropped by tmux's default `set-clipboard external`, so inside tmux the text
also goes to tmux's paste buffer with `tmux load-buffer -w -` (`-w` also forwards it to the
outer terminal's clipboard when tmux can). We report what was done, never that the system
clipboard surely has it: no terminal acknowledges OSC 52.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from textual.app import App


@dataclass(frozen=True)
class CopyReport:
    text: str
    via: tuple[str, ...]  # "OSC 52", "tmux buffer"
    problem: str = ""

    def describe(self) -> str:
        how = " + ".join(self.via) if self.via else "nowhere"
        return f"sent via {how}" + (f" ({self.problem})" if self.problem else "")


def _tmux_load_buffer(text: str) -> str:
    """Put `text` in tmux's buffer; returns "" or what went wrong."""
    tmux = shutil.which("tmux")
    if tmux is None:
        return "tmux not found"
    try:
        done = subprocess.run(
            [tmux, "load-buffer", "-w", "-"],
            input=text.encode(),
            capture_output=True,
            timeout=3,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"tmux load-buffer failed: {type(exc).__name__}"
    if done.returncode != 0:
        return "tmux load-buffer failed"
    return ""


def copy_text(app: App, text: str, *, lines: bool = False) -> CopyReport:
    """Copy one line of text (`lines`: keep its lines, one per marked task): OSC 52 always,
    plus tmux's buffer inside tmux."""
    line = "\n".join(text.splitlines()) if lines else " ".join(text.splitlines())
    app.copy_to_clipboard(line)
    via = ["OSC 52"]
    problem = ""
    if os.environ.get("TMUX"):
        problem = _tmux_load_buffer(line)
        if not problem:
            via.append("tmux buffer")
    return CopyReport(line, tuple(via), problem)
