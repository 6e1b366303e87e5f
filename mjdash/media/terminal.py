"""Which image drawing the terminal supports, from its environment (no terminal queries here).

`[ui] preview` = "auto" | "halfblocks" | "sixel" | "kitty" | "off"; "auto" picks:
- half-blocks inside tmux or screen: they drop Kitty and Sixel output unless passthrough is set
  up, and even then pane switches leave pixels behind (set preview = "kitty" to try anyway);
- the Kitty graphics protocol in Kitty and Ghostty (the terminals that draw its Unicode
  placeholders, which Textual can place and erase like text);
- Sixel in terminals known to draw it (foot, mlterm, WezTerm, iTerm2, mintty, a TERM naming it);
- half-blocks everywhere else (every terminal with 24-bit colour draws them).
"""

from __future__ import annotations

from collections.abc import Mapping

MODES = ("auto", "halfblocks", "sixel", "kitty", "off")
_SIXEL_TERMS = ("foot", "foot-extra", "mlterm", "yaft-256color", "contour")
_SIXEL_PROGRAMS = ("WezTerm", "iTerm.app", "mintty", "contour")


def in_multiplexer(env: Mapping[str, str]) -> bool:
    term = env.get("TERM", "")
    return bool(env.get("TMUX")) or bool(env.get("STY")) or term.startswith(("screen", "tmux"))


def detect(env: Mapping[str, str]) -> str:
    """ "kitty", "sixel" or "halfblocks" for the terminal these variables describe."""
    if in_multiplexer(env):
        return "halfblocks"
    term = env.get("TERM", "")
    program = env.get("TERM_PROGRAM", "")
    if term in ("xterm-kitty", "xterm-ghostty") or env.get("KITTY_WINDOW_ID"):
        return "kitty"
    if program.lower() == "ghostty":
        return "kitty"
    if term in _SIXEL_TERMS or "sixel" in term or program in _SIXEL_PROGRAMS:
        return "sixel"
    return "halfblocks"


def resolve(setting: str, env: Mapping[str, str]) -> str:
    """The drawing to use: the setting unless it is "auto" (or unknown: then detected)."""
    setting = (setting or "auto").strip().lower()
    if setting in MODES and setting != "auto":
        return setting
    return detect(env)
