"""Terminal graphics in a real pseudo-terminal: with TERM=xterm-kitty the preview is sent with
the Kitty graphics protocol (textual-image) and deleted when the selection moves away."""

from __future__ import annotations

import re
import sys
import time

from tests.support.ptyterm import PtyProcess, child_env

APC = re.compile(rb"\x1b_G([^;\x1b]*)(?:;[^\x1b]*)?\x1b\\")


def kitty_commands(out: bytes) -> list[dict[str, str]]:
    """The control keys of every Kitty graphics command in `out`, in order."""
    commands = []
    for match in APC.finditer(out):
        keys = dict(
            pair.split("=", 1) for pair in match.group(1).decode().split(",") if "=" in pair
        )
        commands.append(keys)
    return commands


def test_kitty_preview_is_sent_placed_and_deleted(tmp_path):
    home = tmp_path / "home"
    env = child_env(home, TERM="xterm-kitty")
    for name in ("TMUX", "STY", "TERM_PROGRAM", "KITTY_WINDOW_ID"):
        env.pop(name, None)
    with PtyProcess([sys.executable, "-m", "mjdash", "demo"], env=env, size=(130, 40)) as app:
        app.wait_for("to triage")
        mark = app.mark()
        app.send("n")  # the next finished task to triage: a grid with an image
        app.wait_for(lambda _text: b"a=p" in app.output[mark:], timeout=20)
        sent = kitty_commands(app.output[mark:])
        placed = [c for c in sent if c.get("a") == "p"]
        assert placed and placed[0].get("U") == "1"  # a virtual placement: Unicode placeholders
        image_id = placed[0]["i"]
        assert any(c.get("i") == image_id and c.get("f") == "100" for c in sent)  # PNG data
        app.wait_for(lambda text: "\U0010eeee" in text, since=mark)  # the placeholder cells
        mark = app.mark()
        app.send("?")  # a dialog over the preview, closed again
        app.wait_for("mjdash keys", since=mark)
        app.send("\x1b")
        time.sleep(0.5)  # apart from the next key: ESC then G would read as alt+G
        app.send("G")  # the table's last row: the image is deleted from the terminal
        app.wait_for(
            lambda _text: any(
                c.get("a") == "d" and c.get("I") == image_id
                for c in kitty_commands(app.output[mark:])
            ),
            timeout=20,
        )
        assert app.process.poll() is None
        app.send("q")
        assert app.wait() == 0
    assert "Traceback" not in app.text
