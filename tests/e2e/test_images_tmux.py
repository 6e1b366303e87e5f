"""End to end in tmux at 120x36: a real-size grid's preview is on screen (half-blocks, the only
drawing tmux passes without setup) within a few seconds of selecting it, the contact sheet
opens on the batch and presses U1 on a grid after the confirm; `mjdash demo --image-size 2048
--image-format ...` draws its first grid."""

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
    """Lines carrying a run of half-block cells (the preview; at 120x36 it has a column of its
    own beside the detail's text, as tall as the pane: 12 rows of 24 cells, labels included)."""
    return [line for line in screen.splitlines() if "▀" * 8 in line]


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
            # Keys answer: the contact sheet opens on the selected grid, and 1 presses U1 on it
            # after the usual confirm.
            term.keys("V")
            sheet = term.wait_for(lambda s: "Contact sheet" in s, what="the contact sheet")
            term.wait_for(lambda s: s.count("▀" * 10) >= 6, timeout=15, what="thumbnails")
            assert "finished tasks in view" in sheet
            actions = sim.stats()["routes"]["action"]
            term.keys("1")
            term.wait_for(lambda s: "Press (y)" in s, what="the confirm")
            assert sim.stats()["routes"]["action"] == actions  # nothing sent before the yes
            term.keys("y")
            term.wait_for(lambda s: "U1 on" in s and "new task" in s, what="the press's answer")
            assert sim.stats()["routes"]["action"] == actions + 1
            assert "Contact sheet" in term.screen()  # still on the sheet
            term.keys("Escape")
            screen = term.wait_for(lambda s: "Contact sheet" not in s, what="the table again")
            assert not TRACEBACK.search(screen), screen
        finally:
            term.close()


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_mjdash_demo_with_real_size_images_draws_the_first_grid(tmp_path, fmt):
    env = terminal_env(tmp_path)
    term = TmuxTerminal(
        mjdash_command("demo", "--image-size", "2048", "--image-format", fmt),
        width=120,
        height=36,
        env=env,
    )
    try:
        # The first row (selected at start) is a finished grid: its preview, labelled.
        screen = term.wait_for(lambda s: len(image_lines(s)) >= 12, timeout=20, what="preview")
        lines = image_lines(screen)
        assert any("U1" in line and "U2" in line for line in lines), screen
        assert not TRACEBACK.search(screen), screen
        term.keys("q")
        term.wait_for(lambda s: "EXITED-0" in s, what="a clean exit")
    finally:
        term.close()
