"""The `mjdash` command: argument parsing and dispatch to the subcommands in mjdash.commands.

The commands build the pieces (Config, Watchlist, TaskCache, MidjourneyClient, Poller) and hand
them to the dashboard or run headless. The dashboard (textual) and the simulator (uvicorn) are
imported inside the functions that use them, so `mjdash status` or `mjdash --help` never load
them.

Exit codes: 0 ok, 1 a task failed (with --exit-status), 2 usage or config error, 3 key missing
or rejected, 4 server unreachable; 130 after Ctrl+C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from mjdash import __version__
from mjdash.commands.common import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Fail,
    Session,
    err,
    shown,
)
from mjdash.commands.dashboard import DEMO_INTERVAL, DEMO_SPEED, cmd_dashboard, cmd_demo
from mjdash.commands.export import cmd_export
from mjdash.commands.press import cmd_press
from mjdash.commands.retry import cmd_retry
from mjdash.commands.sim import cmd_sim
from mjdash.commands.status import cmd_status
from mjdash.commands.submit import cmd_submit
from mjdash.commands.watchlist_cmds import cmd_add, cmd_ls, cmd_rm
from mjdash.model import report as status_report
from mjdash.model.task import clean

COMMANDS = ("demo", "status", "add", "rm", "ls", "sim", "submit", "export", "press", "retry")
DEFAULT_TIMEOUT = 20.0
SIM_PORT = 8787

# Options that take a value, to find the subcommand among the arguments (see split_command).
_VALUE_OPTIONS = frozenset(
    {
        "--config",
        "--watchlist",
        "--base-url",
        "--interval",
        "--format",
        "--timeout",
        "--tasks",
        "--speed",
        "--host",
        "--port",
        "--key",
        "--faults",
        "--seed",
        "--label",
        "--parent",
        "--file",
        "--pace",
        "--output",
        "--button",
    }
)


# --- parsing --------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise Fail(f"{message} (see `{self.prog} --help`)", EXIT_USAGE)


def split_command(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """(subcommand or None for the dashboard, the other arguments).

    The subcommand is the first positional argument when it is a command's name, wherever the
    common options are (`mjdash --watchlist w.toml ls` and `mjdash ls --watchlist w.toml`).
    """
    args = list(argv)
    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":
            break
        if token.startswith("-") and token != "-":
            index += 2 if token in _VALUE_OPTIONS else 1
            continue
        if token in COMMANDS:
            return token, args[:index] + args[index + 1 :]
        break
    return None, args


_TOP_DESCRIPTION = """\
A terminal dashboard for Midjourney tasks (CometAPI, midjourney-proxy).

commands:
  mjdash [TASK_ID ...]         open the dashboard; ids given are added to the watchlist first
  mjdash demo                  the dashboard against the built-in simulator (no key, no network)
  mjdash status [TASK_ID ...]  one poll, printed as a table, JSON lines or a --format line
  mjdash add TASK_ID ... | -   watch ids (`-`: every task id found in stdin)
  mjdash rm TASK_ID ...        stop watching ids
  mjdash ls                    list the watchlist
  mjdash sim                   run the simulator in the foreground
  mjdash submit PROMPT ...     submit prompts (or --file, one a line) and watch the new tasks
  mjdash export --format F     the watched tasks as csv, json or md, from the cache (no network)
  mjdash press ID... --button U1   press one button on many tasks (or --all-grids)
  mjdash retry ID...           submit failed tasks' prompts again (or --failed, --stalled)
`mjdash COMMAND --help` describes each one; the common options below work with every
command but sim, before or after the command's name."""

_EPILOG = """\
environment:
  COMETAPI_KEY      the API key (the variable's name is [api].key_env in the config);
                    the key is never a command-line argument
  MJDASH_KEY_FILE   read the key from this file instead (mode 0600)
  MJDASH_CONFIG     the config file (default: the user config dir, config.toml)
  MJDASH_WATCHLIST  the watchlist file (default: the user data dir, watchlist.toml)
  MJDASH_BASE_URL   the API base URL (default: https://api.cometapi.com)

exit status:
  0 ok, 1 a task failed (status --exit-status) or a prompt was refused (submit),
  2 usage or config error,
  3 key missing or rejected, 4 server unreachable,
  5 the server answered but an answer was unusable (invalid JSON, HTML, a redirect, too large
    or inflating without bound); `status` prints the tasks it could read first"""

_DESCRIPTIONS = {
    "demo": (
        "Open the dashboard against the built-in simulator on 127.0.0.1: no key, no network.\n"
        "A realistic batch (queued, running, finished, failed, a MODAL task) is watched in a\n"
        f"temporary watchlist. The default speed is {DEMO_SPEED:g}: progress moves in the first\n"
        "seconds and the batch keeps changing for about two minutes (speed 1 is real time\n"
        f"as planned by the simulator). Polls every {DEMO_INTERVAL:g} s unless --interval says."
    ),
    "status": (
        "Poll the watchlist (or the ids given, which are not added to it) once and print a\n"
        "table, JSON lines (--json) or one line from a template (--format). Transient server\n"
        "faults are retried for --timeout seconds, then exit 4 (unreachable) or 5 (the answers\n"
        "are unusable; also after printing when some task's answer was). Fetched tasks are\n"
        "cached so the dashboard starts fast. --cached reads only that cache: no key, no\n"
        "request, fast enough for tmux's status-right: mjdash status --cached --format\n"
        "'{done}/{total}'"
    ),
    "export": (
        "Print the watched tasks (or the ids given) as CSV, JSON or a Markdown table, from the\n"
        "task cache the dashboard and `mjdash status` keep (no key, no request): id, action,\n"
        "status, progress, prompt, finalPrompt, imageUrl, failReason, times, buttons with their\n"
        "customIds. Ids never polled have only their id. --output writes a file instead."
    ),
    "add": "Add task ids to the watchlist. `-` reads stdin and adds every task id found in it\n"
    "(submit answers, image URLs, log lines: anything).",
    "rm": "Remove task ids from the watchlist (exit 2 when none of them was watched).",
    "ls": "List the watchlist: id, when added, label, parent.",
    "submit": (
        "Submit prompts to /mj/submit/imagine, one request per --pace seconds (default 1),\n"
        "print `<task id>  <prompt>` for each (or `error (<code> <reason>)  <prompt>`) and add\n"
        "the new ids to the watchlist. A banned prompt (24) or a full queue (23) is reported\n"
        "and the rest continue; exit 1 when some prompt was refused. --watch then opens the\n"
        "dashboard. Each submit spends credits."
    ),
    "press": (
        "Press one button on each task given (or on every finished grid in the watchlist\n"
        "with --all-grids): --button U1, a derived name ('Upscale (Subtle)', 'Zoom Out 2x'),\n"
        "a customId, or 'all four' for U1-U4. One request per --pace seconds (default 1);\n"
        "prints `<new id>  <parent>  <button>` for each (or `error (<code> <reason>)  <parent>\n"
        "<button>`) and watches the new tasks under their parents. Buttons pressed before are\n"
        "skipped unless --again. Asks first when stdin is a terminal (the number is typed over\n"
        "[act] confirm_over jobs); otherwise --yes is needed. Exit 1 when some press was\n"
        "refused. Each press spends credits."
    ),
    "retry": (
        "Submit the prompt of each failed (or stalled) task again as a new imagine (the server's\n"
        "final prompt when it gave one, the original options kept), linked to the old task as\n"
        "its retry (a child of it; the old one is dismissed). --failed and --stalled take them\n"
        "from the watchlist (stalled: the dashboard's rule, on the history it journals). Tasks\n"
        "retried before are skipped unless --again. Same output, pacing, confirm and exit codes\n"
        "as `mjdash press`. Each retry spends credits."
    ),
    "sim": (
        "Serve the simulator (a fake CometAPI) in the foreground until Ctrl+C. It accepts any\n"
        "non-empty key, or only the one given with --key (the fake server's own setting)."
    ),
}


# Shown under every subcommand's own options instead of repeating the common ones.
_SUB_EPILOG = (
    "common options (--config, --watchlist, --base-url, --interval), the environment and the\n"
    "exit status: see `mjdash --help`"
)

_SIM_EPILOG = "the simulator reads no config, watchlist or key; the other commands: `mjdash --help`"


def _add_common_options(parser: argparse.ArgumentParser, *, shown: bool) -> None:
    """--config, --watchlist, --base-url, --interval: described once, in `mjdash --help`;
    subcommands accept them with their help suppressed."""
    from mjdash.store import paths
    from mjdash.store.config import CONFIG_FILE_NAME
    from mjdash.store.watchlist import DEFAULT_FILE_NAME

    def text(line: str) -> str:
        return line if shown else argparse.SUPPRESS

    group = parser.add_argument_group("common options (before or after the command)")
    config_default = paths.config_dir() / CONFIG_FILE_NAME
    watchlist_default = paths.data_dir() / DEFAULT_FILE_NAME
    group.add_argument(
        "--config",
        metavar="PATH",
        help=text(f"config file (default: $MJDASH_CONFIG, else {config_default})"),
    )
    group.add_argument(
        "--watchlist",
        metavar="PATH",
        help=text(
            f"watchlist file (default: $MJDASH_WATCHLIST, else [watchlist].path, else "
            f"{watchlist_default})"
        ),
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        help=text("API base URL (default: $MJDASH_BASE_URL, else [api].base_url)"),
    )
    group.add_argument(
        "--interval", metavar="SECONDS", help=text("seconds between polls (poll.interval, >= 0.5)")
    )


def build_parser(command: str | None) -> _Parser:
    prog = "mjdash" if command is None else f"mjdash {command}"
    description = _TOP_DESCRIPTION if command is None else _DESCRIPTIONS[command]
    parser = _Parser(
        prog=prog,
        description=description,
        epilog=_EPILOG if command is None else _SIM_EPILOG if command == "sim" else _SUB_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # --watch must never be read as --watchlist
    )
    if command != "sim":  # the simulator reads no config, watchlist or server
        _add_common_options(parser, shown=command is None)
    parser.add_argument("--version", action="version", version=f"mjdash {__version__}")

    if command is None:
        parser.add_argument("ids", nargs="*", metavar="TASK_ID", help="task ids to watch")
    elif command == "demo":
        parser.add_argument(
            "--tasks", type=_count, default=0, metavar="N", help="extra seeded tasks (default 0)"
        )
        parser.add_argument(
            "--speed",
            type=_positive,
            default=DEMO_SPEED,
            metavar="X",
            help=f"simulated time per real second (default {DEMO_SPEED:g})",
        )
        _add_simulator_arguments(parser)
    elif command == "status":
        parser.add_argument("ids", nargs="*", metavar="TASK_ID", help="ids (default: watchlist)")
        output = parser.add_mutually_exclusive_group()
        output.add_argument("--json", action="store_true", help="one JSON object per line")
        output.add_argument(
            "--format",
            metavar="TEMPLATE",
            help="one line from a template, e.g. '{done}/{total}' for tmux; every id counts "
            "in exactly one of the fields after {total}: "
            + "; ".join(
                "{" + name + "} " + meaning
                for name, meaning in status_report.FORMAT_FIELD_HELP.items()
            ),
        )
        parser.add_argument(
            "--watch",
            action="store_true",
            help="poll at the interval until every task is finished (or MODAL); with --json "
            "only tasks that changed are printed again",
        )
        parser.add_argument(
            "--exit-status",
            action="store_true",
            help="exit 1 when a task failed or was cancelled, is not found or unreadable",
        )
        parser.add_argument(
            "--timeout",
            type=_positive,
            default=DEFAULT_TIMEOUT,
            metavar="SECONDS",
            help=f"give up on an unreachable server after this long (default {DEFAULT_TIMEOUT:g})",
        )
        parser.add_argument(
            "--cached",
            action="store_true",
            help="no request: what the task cache last saw (for tmux's status line)",
        )
    elif command == "export":
        parser.add_argument("ids", nargs="*", metavar="TASK_ID", help="ids (default: watchlist)")
        parser.add_argument(
            "--format", choices=("csv", "json", "md"), default="csv", help="default csv"
        )
        parser.add_argument("--output", metavar="PATH", help="write this file instead of stdout")
    elif command == "add":
        parser.add_argument("ids", nargs="+", metavar="TASK_ID", help="ids, or - to read stdin")
        parser.add_argument("--label", default="", help="a label for the added ids")
        parser.add_argument("--parent", default="", metavar="TASK_ID", help="their parent task")
    elif command == "rm":
        parser.add_argument("ids", nargs="+", metavar="TASK_ID", help="ids, or - to read stdin")
    elif command == "ls":
        parser.add_argument("--json", action="store_true", help="one JSON object per line")
    elif command == "submit":
        parser.add_argument("prompts", nargs="*", metavar="PROMPT", help="prompts to submit")
        parser.add_argument(
            "--file",
            metavar="PATH",
            help="read prompts from this file, one a line; blank lines and lines starting "
            "with # are skipped (- = stdin)",
        )
        parser.add_argument(
            "--pace",
            type=_seconds,
            default=1.0,
            metavar="SECONDS",
            help="seconds between submits (default 1; 0 = no wait)",
        )
        parser.add_argument("--label", default="", help="a label for the new tasks")
        parser.add_argument(
            "--watch", action="store_true", help="open the dashboard after submitting"
        )
    elif command in ("press", "retry"):
        _add_move_arguments(parser, command)
    elif command == "sim":
        parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
        parser.add_argument(
            "--port", type=_port, default=SIM_PORT, help=f"port (default {SIM_PORT}; 0 = any)"
        )
        parser.add_argument("--speed", type=_positive, default=1.0, metavar="X", help="default 1")
        parser.add_argument("--tasks", type=_count, default=0, metavar="N", help="seeded tasks")
        parser.add_argument(
            "--key", default=None, help="the only key the fake server accepts (default: any)"
        )
        parser.add_argument(
            "--faults", default="", metavar="SPEC", help="e.g. 429=0.1,500=0.05,slow=0.05"
        )
        parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        parser.add_argument("--demo", action="store_true", help="seed the demo batch")
        parser.add_argument("--hostile", action="store_true", help="seed hostile-text tasks")
        _add_simulator_arguments(parser)
    return parser


def _add_simulator_arguments(parser: _Parser) -> None:
    """`sim` and `demo`: the server family the simulator answers like, and its images."""
    parser.add_argument(
        "--flavor",
        choices=("newapi", "trueai", "novicezk"),
        default="newapi",
        help="which server family the simulator answers like (default newapi, CometAPI's)",
    )
    parser.add_argument(
        "--image-size",
        type=_bounded(int, 16, 4096, "a whole number of pixels"),
        default=128,
        metavar="PX",
        help="image side in pixels (default 128; Midjourney's grids are 2048)",
    )
    parser.add_argument(
        "--image-format",
        choices=("png", "jpeg", "webp", "mixed"),
        default="png",
        help="image format (default png; mixed: one per task)",
    )


def _add_move_arguments(parser: _Parser, command: str) -> None:
    """`press` and `retry`: which tasks, then what every batch move shares."""
    parser.add_argument("ids", nargs="*", metavar="TASK_ID", help="task ids (- reads stdin)")
    if command == "press":
        parser.add_argument(
            "--button",
            action="append",
            default=[],
            metavar="NAME",
            help="U1, 'Upscale (Subtle)', a customId or 'all four' (may be repeated)",
        )
        parser.add_argument(
            "--all-grids", action="store_true", help="every finished grid in the watchlist"
        )
    else:
        parser.add_argument("--failed", action="store_true", help="failed tasks in the watchlist")
        parser.add_argument("--stalled", action="store_true", help="stalled tasks in the watchlist")
    what = "buttons pressed before" if command == "press" else "tasks retried before"
    parser.add_argument("--again", action="store_true", help=f"include {what}")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the requests (no key), send nothing"
    )
    parser.add_argument("--yes", action="store_true", help="confirm: do not ask")
    parser.add_argument(
        "--pace",
        type=_seconds,
        default=1.0,
        metavar="SECONDS",
        help="seconds between requests, start to start (default 1; 0 = no wait)",
    )


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {shown(text)}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0, got {shown(text)}")
    return value


def _bounded(cast: type, low: float, high: float, expected: str):
    """An argparse type: `cast(text)` within low..high, with one clear sentence otherwise."""

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {shown(text)}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, got {value}")
        return value

    return parse


_seconds = _bounded(float, 0, 3600, "seconds")
_count = _bounded(int, 0, 1_000_000, "a whole number")
_port = _bounded(int, 0, 65535, "a port number")


# --- main -----------------------------------------------------------------------------------

_HANDLERS = {
    None: cmd_dashboard,
    "demo": cmd_demo,
    "status": cmd_status,
    "add": cmd_add,
    "rm": cmd_rm,
    "ls": cmd_ls,
    "sim": cmd_sim,
    "submit": cmd_submit,
    "export": cmd_export,
    "press": cmd_press,
    "retry": cmd_retry,
}


def _misspelt_command(args: Sequence[str]) -> tuple[str, str] | None:
    """`mjdash stauts`: the command meant, when the first positional argument is close to one
    (and is neither a task id nor `-`). Python 3.14's argparse suggest_on_error cannot help:
    the subcommand is found by split_command, not by argparse."""
    import difflib

    from mjdash.model.task import is_task_id

    index = 0
    while index < len(args):
        token = args[index]
        if token == "--":
            return None
        if token.startswith("-") and token != "-":
            index += 2 if token in _VALUE_OPTIONS else 1
            continue
        if token == "-" or is_task_id(token):
            return None
        close = difflib.get_close_matches(token.lower(), COMMANDS, n=1, cutoff=0.6)
        return (token, close[0]) if close else None
    return None


def _run(argv: list[str], session: Session) -> int:
    command, rest = split_command(argv)
    if command is None:
        misspelt = _misspelt_command(rest)
        if misspelt is not None:
            typed, meant = misspelt
            raise Fail(
                f"unknown command {shown(typed)}; did you mean `mjdash {meant}`? "
                "(see `mjdash --help`)"
            )
    args = build_parser(command).parse_args(rest)
    return _HANDLERS[command](args, session)


def main(argv: Sequence[str] | None = None) -> int:
    """The `mjdash` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):
        # Whatever the locale, text that cannot be encoded becomes "?" instead of a traceback.
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    session = Session()
    try:
        return _run(argv, session)
    except Fail as exc:
        err(session.redact(exc.message))
        return exc.code
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`mjdash ls | head -1`): stop quietly.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        # Redact, then cut (a cut could hide part of the key from a whole-key search).
        message = session.redact(clean(session.redact(str(exc)), 500, single_line=True))
        err(f"internal error: {type(exc).__name__}: {message}")
        return EXIT_FAILED
