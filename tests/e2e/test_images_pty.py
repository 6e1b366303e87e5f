"""Terminal graphics in a real pseudo-terminal: with TERM=xterm-kitty the preview is sent with
the Kitty graphics protocol (textual-image) and deleted from the terminal when the selection
moves away, a dialog opens or the terminal resizes (no pixels left behind); with
`preview = "sixel"` it is sent as Sixel and its cells are written over in the same cases."""

from __future__ import annotations

import fcntl
import os
import re
import signal
import struct
import sys
import termios
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


def wait_placed(app: PtyProcess, mark: int) -> str:
    """The id of the first image placed (virtually: Unicode placeholders) after `mark`."""
    app.wait_for(
        lambda _text: any(c.get("a") == "p" for c in kitty_commands(app.output[mark:])),
        timeout=20,
    )
    sent = kitty_commands(app.output[mark:])
    placed = [c for c in sent if c.get("a") == "p"]
    assert placed[0].get("U") == "1", placed  # a virtual placement
    image_id = placed[0]["i"]
    assert any(c.get("i") == image_id and c.get("f") == "100" for c in sent)  # its PNG data
    return image_id


def wait_deleted(app: PtyProcess, mark: int, image_id: str) -> None:
    """Wait for the Kitty delete command of `image_id` written after `mark`."""
    app.wait_for(
        lambda _text: any(
            c.get("a") == "d" and c.get("I") == image_id for c in kitty_commands(app.output[mark:])
        ),
        timeout=20,
    )


def resize(app: PtyProcess, size: tuple[int, int]) -> None:
    """Resize the pseudo-terminal and tell the child (its own session: no controlling tty to
    send SIGWINCH for us)."""
    columns, rows = size
    fcntl.ioctl(app.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    os.kill(app.process.pid, signal.SIGWINCH)


def test_kitty_preview_is_sent_placed_and_deleted(tmp_path):
    home = tmp_path / "home"
    env = child_env(home, TERM="xterm-kitty")
    for name in ("TMUX", "STY", "TERM_PROGRAM", "KITTY_WINDOW_ID"):
        env.pop(name, None)
    with PtyProcess([sys.executable, "-m", "mjdash", "demo"], env=env, size=(130, 40)) as app:
        app.wait_for("to triage")
        mark = app.mark()
        app.send("n")  # the next finished task to triage: a grid with an image
        image_id = wait_placed(app, mark)
        app.wait_for(lambda text: "\U0010eeee" in text, since=mark)  # the placeholder cells
        # A dialog over the preview: the image is deleted from the terminal (pixels are not text
        # the dialog covers), and placed again once the dialog is closed.
        mark = app.mark()
        app.send("?")
        app.wait_for("mjdash keys", since=mark)
        wait_deleted(app, mark, image_id)
        mark = app.mark()
        app.send("\x1b")
        image_id = wait_placed(app, mark)
        # The terminal resized: the image at the old size is deleted, a new one placed.
        mark = app.mark()
        time.sleep(0.5)  # apart from the ESC: a key right after it would read as alt+key
        resize(app, (112, 36))
        wait_deleted(app, mark, image_id)
        image_id = wait_placed(app, mark)
        mark = app.mark()
        app.send("G")  # the table's last row: the image is deleted from the terminal
        wait_deleted(app, mark, image_id)
        assert app.process.poll() is None
        app.send("q")
        assert app.wait() == 0
    # Every image placed on the way (a repaint sends the image again; the last row's own
    # preview) was deleted, the last one when the app closed.
    sent = kitty_commands(app.output)
    placed = {c["i"] for c in sent if c.get("a") == "p"}
    deleted = {c["I"] for c in sent if c.get("a") == "d" and "I" in c}
    assert len(placed) >= 3 and placed <= deleted, (placed, deleted)
    assert "Traceback" not in app.text


SIXEL = re.compile(rb"\x1bP[0-9;]*q")
CURSOR = re.compile(rb"\x1b\[(\d+);(\d+)H")


def cells_not_written(out: bytes, top: int, left: int, rows: int) -> list[int]:
    """The rows of the image's box (from `top`, starting at column `left`) that `out` does not
    move the cursor into at or left of `left`, to write text over (a terminal drops the sixel
    pixels under the cells written)."""
    written = {int(row) for row, column in CURSOR.findall(out) if int(column) <= left}
    return [row for row in range(top, top + rows) if row not in written]


def test_sixel_preview_is_drawn_and_written_over_when_it_goes(tmp_path):
    """`[ui] preview = "sixel"`: the image is sent as Sixel (textual-image) where the preview
    is; when a dialog opens, the terminal resizes or the selection moves, the cells under it
    are written again (Sixel has no delete: text written over the cells is the erase), and no
    image is sent while the dialog is open."""
    home = tmp_path / "home"
    env = child_env(home, TERM="xterm-256color")
    for name in ("TMUX", "STY", "TERM_PROGRAM", "KITTY_WINDOW_ID"):
        env.pop(name, None)
    config = home / "config" / "mjdash"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('[ui]\npreview = "sixel"\n')
    with PtyProcess([sys.executable, "-m", "mjdash", "demo"], env=env, size=(130, 40)) as app:

        def drawn_at(mark: int) -> tuple[int, int]:
            app.wait_for(lambda _text: SIXEL.search(app.output[mark:]) is not None, timeout=20)
            out = app.output[mark:]
            moves = CURSOR.findall(out[: SIXEL.search(out).start()])
            row, column = moves[-1]  # where the cursor was put for the image
            return int(row), int(column)

        app.wait_for("to triage")
        mark = app.mark()
        app.send("n")  # the next finished task to triage: a grid with an image
        top, left = drawn_at(mark)
        mark = app.mark()
        app.send("?")
        app.wait_for("mjdash keys", since=mark)
        opened = app.mark()
        time.sleep(0.5)
        # A draw already on its way when `?` was pressed may land just before the dialog (a
        # loaded machine); what counts is that the last image sent is written over, and that
        # none is sent once the dialog is up.
        out = app.output[mark:]
        sent = list(SIXEL.finditer(out))
        after_last = out[sent[-1].end() :] if sent else out
        assert cells_not_written(after_last, top, left, 8) == []
        assert SIXEL.search(app.output[opened:]) is None  # not drawn over the dialog
        mark = app.mark()
        app.send("\x1b")
        top, left = drawn_at(mark)  # back once the dialog is closed
        time.sleep(0.5)
        mark = app.mark()
        resize(app, (112, 36))
        app.wait_for(lambda _text: len(app.output) - mark > 1000)
        time.sleep(1.0)
        assert cells_not_written(app.output[mark:], top, left, 8) == []
        top, left = drawn_at(mark)  # drawn again in the new layout
        time.sleep(0.5)
        mark = app.mark()
        app.send("G")  # the table's last row
        app.wait_for(lambda _text: cells_not_written(app.output[mark:], top, left, 8) == [])
        assert app.process.poll() is None
        app.send("q")
        assert app.wait() == 0
    assert "Traceback" not in app.text
