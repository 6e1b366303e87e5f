"""End to end in tmux at 120x36: a real-size JPEG grid's preview is on screen (half-blocks, the
only drawing tmux passes without setup) within a few seconds of selecting it, and the contact
sheet opens on the batch."""

from __future__ import annotations

import re

import pytest

from mjdash.sim.server import SimServer
from tests.support.tmuxterm import TmuxTerminal, have_tmux, mjdash_command, terminal_env

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(not have_tmux(), reason="tmux is not installed (.ci/run installs it)"),
]

TRACEBACK = re.compile(r"Traceback|Error:|EXITED-")


def image_lines(screen: str) -> list[str]:
    """Lines carrying a run of half-block cells (the preview)."""
    return [line for line in screen.splitlines() if "▀" * 12 in line]


def test_a_2048_jpeg_preview_is_on_screen_soon_after_selecting_it(tmp_path):
    with SimServer(demo=True, speed=1.0, fail_rate=0.0) as sim:
        sim.engine.image_size, sim.engine.image_format = 2048, "jpeg"
        env = terminal_env(tmp_path)
        env["COMETAPI_KEY"] = "sk-test"
        term = TmuxTerminal(
            mjdash_command("--base-url", sim.url, *sim.seeded_ids), width=120, height=36, env=env
        )
        try:
            term.wait_for(lambda s: "to triage" in s and "SUCCESS" in s, what="the rows")
            term.keys("G", "n")  # away, then to the next finished task to triage: a grid
            screen = term.wait_for(
                lambda s: len(image_lines(s)) >= 12, timeout=10, what="the preview"
            )
            lines = image_lines(screen)
            assert any("U1" in line and "U2" in line for line in lines), "grid labels"
            assert any("U3" in line and "U4" in line for line in lines)
            assert sim.stats()["routes"]["image"] >= 1
            # Keys answer: the contact sheet opens and closes.
            term.keys("V")
            sheet = term.wait_for(lambda s: "Contact sheet" in s, what="the contact sheet")
            term.wait_for(lambda s: s.count("▀" * 10) >= 6, timeout=15, what="thumbnails")
            assert "finished tasks in view" in sheet
            term.keys("Escape")
            screen = term.wait_for(lambda s: "Contact sheet" not in s, what="the table again")
            assert not TRACEBACK.search(screen), screen
        finally:
            term.close()
