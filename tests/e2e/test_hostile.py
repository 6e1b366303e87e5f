"""P5 (docs/reliability.md) through the whole app: hostile server text reaches the terminal inert.

The simulator serves tasks whose prompt, failReason, button labels and customIds carry terminal
escapes, OSC 52 clipboard writes, BEL, CR, NUL, bidi overrides, Rich markup and a 1 MB prompt
(mjdash/sim/texts.py). The real `mjdash` runs in a pseudo-terminal against it; every byte it
writes is kept and searched for the server's sequences. The app's own sequences (cursor moves,
colours, modes, its OSC 22 pointer shape) are allowed; nothing from the server is.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from mjdash.model.task import Task, parse_task
from mjdash.sim import texts
from mjdash.sim.server import SimServer
from mjdash.ui.cells import one_line, progress_text, status_text
from mjdash.ui.detail import DetailModel, render_detail
from tests.support.ptyterm import PtyProcess, child_env

KEY = "sk-hostile-test-key"

# The server's sequences, each with enough of its context that the app cannot write it by chance.
SERVER_SEQUENCES = [
    b"\x1b[2J\x1b[31m",
    b"\x1b[31mred text",
    b"\x1b]52",  # any OSC 52: the app copies only on a key press, and none is pressed here
    b"ZWNobyBwd25lZA==\x07",
    b"bell\x07",
    b"carriage\rreturn",
    b"nul\x00byte",
    b"\x1b[5mblink",
    b"blink\x1b[0m\x07",
    b"U1\x1b[7m",
    b"\x1b]8;",  # hyperlinks: none in mjdash's own output
    b"\x00",
]
# Bidi overrides and isolates, and C1 controls, as UTF-8.
FORBIDDEN_CHARS = [chr(c) for c in (0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067)]
FORBIDDEN_CHARS += [chr(c) for c in range(0x80, 0xA0)]

_CSI = rb"\x1b\[[0-?]*[ -/]*[@-~]"
_APP_OSC = rb"\x1b\]22;[^\x07\x1b]*(?:\x07|\x1b\\)"  # Textual's pointer shape
_APP_SEQUENCES = re.compile(_CSI + b"|" + _APP_OSC)


def assert_no_server_sequences(out: bytes) -> None:
    for sequence in SERVER_SEQUENCES:
        assert sequence not in out, sequence
    text = out.decode("utf-8", "replace")
    for char in FORBIDDEN_CHARS:
        assert char not in text, hex(ord(char))
    # Take out the app's own sequences: no ESC and no BEL may remain.
    rest = _APP_SEQUENCES.sub(b"", out)
    assert b"\x1b" not in rest, rest[rest.index(b"\x1b") :][:40]
    assert b"\x07" not in rest
    oscs = re.findall(rb"\x1b\](\d*)", out)
    assert set(oscs) <= {b"22"}, set(oscs)


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    config = home / "config" / "mjdash"
    config.mkdir(parents=True)
    # No bell: then any BEL in the output could only have come from the server.
    (config / "config.toml").write_text("[ui]\nbell = false\n")
    return home


def test_P5_dashboard_in_a_real_terminal_shows_hostile_text_inert(tmp_path: Path) -> None:
    home = _home(tmp_path)
    env = child_env(home, COMETAPI_KEY=KEY)
    with SimServer(hostile=True, speed=50, fail_rate=0.0) as sim:
        ids = sim.seeded_ids
        argv = ["-m", "mjdash", "--base-url", sim.url, *ids]
        # 200 columns: the detail beside the table is wide enough for a hostile URL on one line.
        with PtyProcess([sys.executable, *argv], env=env, size=(200, 50)) as app:
            # The first row is selected: its prompt in the table and in full in the detail pane.
            app.wait_for("[@click=app.quit]quit[/]")
            shown = app.wait_for("gnp.exe")
            for words in ("red text", "]52;c;ZWNobyBwd25lZA==", "[bold]bold[/bold]", "[/]"):
                assert words in shown, words
            mark = app.mark()
            app.send("j")  # the failed task: its hostile failReason
            app.wait_for("deliaf", since=mark)
            mark = app.mark()
            app.send("j")  # the 1 MB prompt, cut
            app.wait_for("tapestry", since=mark)
            mark = app.mark()
            app.send("j")  # unknown action and status, sent with escapes
            app.wait_for(lambda text: "SHORTEN" in text and "DONE" in text, since=mark)
            app.send("jjjj")  # the rows with hostile image URLs
            app.wait_for("user:pw@example.invalid")
            assert app.process.poll() is None, "the app stopped"
            app.send("q")
            assert app.wait() == 0
            out = app.output
    assert_no_server_sequences(out)
    # The 1 MB prompt was never written out whole.
    assert len(out) < 1_000_000, len(out)
    assert "Traceback" not in app.text


def test_P5_status_in_a_real_terminal_prints_hostile_text_inert(tmp_path: Path) -> None:
    home = _home(tmp_path)
    env = child_env(home, COMETAPI_KEY=KEY)
    with SimServer(hostile=True, speed=50, fail_rate=0.0) as sim:
        ids = sim.seeded_ids
        outputs = []
        for extra in ([], ["--json"], ["--format", "{done}/{total} {failed} failed"]):
            argv = [sys.executable, "-m", "mjdash", "status", "--base-url", sim.url, *extra, *ids]
            with PtyProcess(argv, env=env, size=(120, 40)) as run:
                assert run.wait() == 0
                outputs.append(run.output)
    table, as_json, line = outputs
    assert b"\x1b[" in table, "a terminal gets a coloured table"
    for out in outputs:
        assert_no_server_sequences(out)
        assert KEY.encode() not in out
    shown = table.decode()
    assert "red text" in shown and "[@click=app.quit]x[/] deliaf" in shown
    assert b"\\u001b" not in as_json.lower()  # cleaned before it was encoded, not escaped
    assert re.search(rb"\d+/8 \d+ failed", line)


# --- any server text, rendered ----------------------------------------------------------------

_NASTY = st.sampled_from(
    [
        "\x1b[2J",
        "\x1b]52;c;ZWNobyBwd25lZA==\x07",
        "\x07",
        "\r",
        "\x00",
        "\u202e",
        "\u2066",
        "\x9b31m",
        "\x85",
        "[/]",
        "[@click=app.quit]",
        "[bold]",
        "\ud800",
        "\n",
        "\t",
    ]
)
_hostile_text = st.lists(st.text(max_size=12) | _NASTY, max_size=8).map("".join)
_task_json = st.fixed_dictionaries(
    {"id": st.just("1773314942177684")},
    optional={
        "status": _hostile_text | st.sampled_from(["SUCCESS", "IN_PROGRESS", "FAILURE"]),
        "action": _hostile_text,
        "progress": _hostile_text | st.integers(-5, 500).map(lambda n: f"{n}%"),
        "prompt": _hostile_text,
        "promptEn": _hostile_text,
        "description": _hostile_text,
        "failReason": _hostile_text,
        "imageUrl": _hostile_text,
        "customId": _hostile_text,
        "submitTime": st.integers(-(10**15), 10**15) | _hostile_text,
        "startTime": st.integers(0, 2 * 10**12),
        "buttons": st.lists(
            st.fixed_dictionaries(
                {"customId": _hostile_text, "label": _hostile_text, "emoji": _hostile_text}
            ),
            max_size=3,
        ),
    },
)
_SGR = re.compile(r"\x1b\[[0-9;]*m")  # the colours rich adds itself


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=_task_json)
def test_P5_any_server_text_renders_without_control_characters(obj) -> None:
    task = parse_task(obj)
    assert isinstance(task, Task)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    console = Console(
        width=80, force_terminal=True, color_system="truecolor", record=False, legacy_windows=False
    )
    model = DetailModel(
        task_id=task.id,
        task=task,
        label="",
        parent="",
        children=(),
        used=frozenset(),
        not_found=False,
        stale="",
        last_change=None,
    )
    renderables = [
        status_text(task),
        progress_text(task),
        Text(one_line(task.prompt, 40)),
        render_detail(model, now),
    ]
    for renderable in renderables:
        with console.capture() as capture:
            console.print(renderable)
        out = _SGR.sub("", capture.get())
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", out), out


def test_P5_the_byte_checker_catches_every_hostile_string_written_raw() -> None:
    app_output = b"\x1b[?1049h\x1b[1;1H\x1b[38;2;1;2;3mok\x1b[0m\x1b]22;default\x07"
    assert_no_server_sequences(app_output)
    for hostile in (
        texts.HOSTILE_PROMPT,
        texts.HOSTILE_REASON,
        texts.HOSTILE_LABEL,
        texts.HOSTILE_EMOJI,
        texts.HOSTILE_CUSTOM_ID_TAIL,
    ):
        with pytest.raises(AssertionError):
            assert_no_server_sequences(app_output + hostile.encode())
