"""The one adapter over Textual internals: writing raw escape sequences to the terminal, and
un-pinning the style caches of removed widgets.

Textual has no public API to send an escape sequence (OSC 9/777 desktop notifications) to the
terminal, so this module reads the app's private driver. Keep every Textual private here: when
Textual changes, this is the one file to mend (tests/app/test_textual_seams.py pins it).
"""

from __future__ import annotations

from functools import lru_cache

from textual._styles_cache import StylesCache
from textual.app import App
from textual.color import Color
from textual.style import Style


def write_escape(app: App, sequence: str) -> bool:
    """Write `sequence` to the terminal; False when headless or not running (nothing sent)."""
    driver = app._driver  # Textual private: the driver that owns the terminal's output
    if driver is None or app.is_headless:
        return False
    driver.write(sequence)
    return True


def unpin_styles_caches() -> bool:
    """Stop Textual keeping every widget's render cache alive after the widget is gone.

    Textual 8.2 puts `@lru_cache(1024)` on the *method* `StylesCache.get_inner_outer`, so the
    cache's keys hold the StylesCache (each widget has one) and with it the widget's rendered
    lines (Strips, each with its own crop and style caches). Every toast the dashboard showed
    stayed in memory that way until 1,024 newer keys pushed it out: a 10-minute soak grew
    +20.7% (no plateau), +11.3% with this (Textual issue 6665).
    The two styles depend on the colours only, so the same bounded cache is keyed on the
    colours. Idempotent; does nothing once Textual no longer caches on the instance.
    True when the method was replaced (now or before)."""
    method = StylesCache.__dict__.get("get_inner_outer")
    if getattr(method, "unpinned", False):
        return True
    if not hasattr(method, "cache_info") or not hasattr(method, "__wrapped__"):
        return False  # Textual changed it: nothing to mend here
    original = method.__wrapped__  # uses its colour arguments only, never its first one

    # 1,024 colour pairs, as Textual bounds it: a theme has a few dozen, an animation a few more.
    @lru_cache(1024)
    def inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
        return original(None, base_background, background)

    def get_inner_outer(
        self: StylesCache, base_background: Color, background: Color
    ) -> tuple[Style, Style]:
        return inner_outer(base_background, background)

    get_inner_outer.unpinned = True  # type: ignore[attr-defined]
    get_inner_outer.cache_info = inner_outer.cache_info  # type: ignore[attr-defined]
    StylesCache.get_inner_outer = get_inner_outer  # type: ignore[method-assign]
    return True
