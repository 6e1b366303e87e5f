"""The one adapter over Textual internals: writing raw escape sequences to the terminal.

Textual has no public API to send an escape sequence (OSC 9/777 desktop notifications) to the
terminal, so this module reads the app's private driver. Keep every Textual private here: when
Textual changes, this is the one file to mend (tests/app/test_textual_seams.py pins it).
"""

from __future__ import annotations

from textual.app import App


def write_escape(app: App, sequence: str) -> bool:
    """Write `sequence` to the terminal; False when headless or not running (nothing sent)."""
    driver = app._driver  # Textual private: the driver that owns the terminal's output
    if driver is None or app.is_headless:
        return False
    driver.write(sequence)
    return True
