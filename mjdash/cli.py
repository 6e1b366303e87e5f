"""The `mjdash` command: argument parsing, subcommands and exit codes.

It builds the pieces (Config, Watchlist, TaskCache, MidjourneyClient, Poller) and hands them to
the dashboard or to the headless commands. The dashboard (textual) and the simulator (uvicorn)
are imported inside the functions that use them, so `mjdash status` or `mjdash --help` never
load them.

Exit codes: 0 ok, 1 a task failed (with --exit-status), 2 usage or config error, 3 key missing
or rejected, 4 server unreachable; 130 after Ctrl+C.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from mjdash import __version__, status_report
from mjdash.cache import TaskCache
from mjdash.config import Config, ConfigError, load_config, read_key, watchlist_path
from mjdash.secret import Secret
from mjdash.status_report import NOT_FOUND, Row, TemplateError
from mjdash.task import clean, extract_task_ids, is_task_id
from mjdash.watchlist import Watchlist, WatchlistError

if TYPE_CHECKING:
    from mjdash.client import MidjourneyClient

# httpx (through mjdash.client and mjdash.poller) and asyncio are imported inside the functions
# that use them: `mjdash status --cached` in tmux's status line must start in well under 150 ms.

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_KEY = 3
EXIT_UNREACHABLE = 4
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

COMMANDS = ("demo", "status", "add", "rm", "ls", "sim", "submit", "export")
DEFAULT_TIMEOUT = 20.0
# The demo batch was planned at speed 1 (finishing over ~4 minutes); at 2 the first seconds
# already show progress moving and statuses changing, and the batch stays alive ~2 minutes.
DEMO_SPEED = 2.0
DEMO_INTERVAL = 2.0
SIM_PORT = 8787
BAD_ANSWERS_TO_GIVE_UP = 3  # --watch stops waiting for an id the server keeps answering junk for

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
    }
)


class Fail(Exception):
    """An error for the user: one line on stderr, then exit with `code`."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


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
`mjdash COMMAND --help` describes each one."""

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
  3 key missing or rejected, 4 server unreachable"""

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
        "faults are retried for --timeout seconds, then exit 4. Fetched tasks are cached so\n"
        "the dashboard starts fast. --cached reads only that cache: no key, no request, fast\n"
        "enough for tmux's status-right: mjdash status --cached --format '{done}/{total}'"
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
    "sim": (
        "Serve the simulator (a fake CometAPI) in the foreground until Ctrl+C. It accepts any\n"
        "non-empty key, or only the one given with --key (the fake server's own setting)."
    ),
}


def build_parser(command: str | None) -> _Parser:
    prog = "mjdash" if command is None else f"mjdash {command}"
    description = _TOP_DESCRIPTION if command is None else _DESCRIPTIONS[command]
    parser = _Parser(
        prog=prog,
        description=description,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # --watch must never be read as --watchlist
    )
    common = parser.add_argument_group("common options (before or after the command)")
    common.add_argument("--config", metavar="PATH", help="config file (default: $MJDASH_CONFIG)")
    common.add_argument(
        "--watchlist", metavar="PATH", help="watchlist file (default: $MJDASH_WATCHLIST)"
    )
    common.add_argument("--base-url", metavar="URL", help="API base URL ($MJDASH_BASE_URL)")
    common.add_argument(
        "--interval", metavar="SECONDS", help="seconds between polls (poll.interval, >= 0.5)"
    )
    common.add_argument("--version", action="version", version=f"mjdash {__version__}")

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
    elif command == "status":
        parser.add_argument("ids", nargs="*", metavar="TASK_ID", help="ids (default: watchlist)")
        output = parser.add_mutually_exclusive_group()
        output.add_argument("--json", action="store_true", help="one JSON object per line")
        output.add_argument(
            "--format",
            metavar="TEMPLATE",
            help="one line from a template: "
            + " ".join("{" + name + "}" for name in status_report.FORMAT_FIELDS)
            + " (e.g. '{done}/{total}' for tmux)",
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
            "--file", metavar="PATH", help="read prompts from this file, one a line (- = stdin)"
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
    return parser


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {_shown(text)}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0, got {_shown(text)}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {_shown(text)}") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600, got {_shown(text)}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {_shown(text)}") from None
    if not 0 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1000000, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {_shown(text)}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {value}")
    return value


def _shown(text: str) -> str:
    """User text echoed in an error: one inert line, short."""
    return repr(clean(text, 40, single_line=True))


# --- shared setup ---------------------------------------------------------------------------


class _Session:
    """What one run learned that error messages need: the key to redact, its variable's name."""

    def __init__(self) -> None:
        self.key: Secret | None = None
        self.key_env = "COMETAPI_KEY"

    def redact(self, text: str) -> str:
        for secret in (self.key, Secret(os.environ.get(self.key_env, "").strip())):
            if secret:
                text = secret.redact(text)
        return text


def _load_config(args: argparse.Namespace, session: _Session) -> Config:
    overrides = {"api.base_url": args.base_url, "poll.interval": args.interval}
    try:
        config = load_config(args.config, overrides=overrides)
    except ConfigError as exc:
        raise Fail(str(exc), EXIT_USAGE) from None
    session.key_env = config.api.key_env
    return config


def _need_key(config: Config, session: _Session) -> Secret:
    env_name = config.api.key_env
    try:
        key = read_key(config)
    except ConfigError as exc:
        raise Fail(str(exc), EXIT_KEY) from None
    if key is None:
        raise Fail(
            f"set {env_name} (the environment variable that holds your API key; "
            "its name is [api].key_env in the config, or use MJDASH_KEY_FILE)",
            EXIT_KEY,
        )
    session.key = key
    return key


def _load_watchlist(config: Config, args: argparse.Namespace) -> Watchlist:
    path = watchlist_path(config, flag=args.watchlist)
    try:
        watchlist = Watchlist.load(path)
    except WatchlistError as exc:
        raise Fail(str(exc), EXIT_USAGE) from None
    for warning in watchlist.warnings:
        _err(f"warning: {clean(warning, 500, single_line=True)}")
    return watchlist


def _save(watchlist: Watchlist) -> None:
    try:
        watchlist.save()
    except WatchlistError as exc:
        raise Fail(str(exc), EXIT_USAGE) from None


def _make_client(config: Config, key: Secret) -> MidjourneyClient:
    from mjdash.client import MidjourneyClient

    try:
        return MidjourneyClient(
            config.api.base_url,
            key,
            auth=config.api.auth,
            key_env=config.api.key_env,
            timeout=config.api.timeout,
            batch_size=config.poll.batch_size,
            concurrency=config.poll.concurrency,
        )
    except ValueError as exc:
        raise Fail(str(exc), EXIT_USAGE) from None


def _check_ids(tokens: Sequence[str]) -> list[str]:
    for token in tokens:
        if not is_task_id(token):
            raise Fail(f"{_shown(token)} is not a task id (a task id is 16 to 20 digits)")
    return list(dict.fromkeys(tokens))


def _read_stdin_ids() -> list[str]:
    if sys.stdin is None:
        raise Fail("`-` reads task ids from stdin, but there is no stdin")
    if sys.stdin.isatty():
        _err("reading task ids from stdin (Ctrl+D ends)")
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return extract_task_ids(text)


def _ids_from(tokens: Sequence[str]) -> tuple[list[str], int | None]:
    """Ids from arguments, `-` standing for every id found in stdin; (ids, found in stdin)."""
    ids: list[str] = []
    from_stdin: int | None = None
    for token in tokens:
        if token == "-":
            if from_stdin is not None:
                continue
            found = _read_stdin_ids()
            if not found:
                raise Fail("no task ids found in the input (a task id is 16 to 20 digits)")
            from_stdin = len(found)
            ids += found
        else:
            ids += _check_ids([token])
    return list(dict.fromkeys(ids)), from_stdin


def _needs_terminal() -> None:
    if not sys.stdout.isatty():
        raise Fail("the dashboard needs a terminal; try `mjdash status`", EXIT_USAGE)


def _out(line: str = "") -> None:
    print(line, flush=True)


def _err(line: str) -> None:
    print(f"mjdash: {line}", file=sys.stderr, flush=True)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# --- commands -------------------------------------------------------------------------------


def cmd_dashboard(args: argparse.Namespace, session: _Session) -> int:
    config = _load_config(args, session)
    ids = _check_ids(args.ids)
    key = _need_key(config, session)
    watchlist = _load_watchlist(config, args)
    _needs_terminal()
    if ids:
        watchlist.add(ids)
        _save(watchlist)
    client = _make_client(config, key)
    from mjdash.poller import Poller
    from mjdash.ui.run import run_dashboard

    poller = Poller(client, interval=config.poll.interval)

    return run_dashboard(
        config=config,
        client=client,
        poller=poller,
        watchlist=watchlist,
        cache=TaskCache(),
        subtitle=client.host,
    )


def cmd_demo(args: argparse.Namespace, session: _Session) -> int:
    config = _load_config(args, session)
    _needs_terminal()
    from mjdash.sim.server import SimServer

    interval = config.poll.interval if args.interval is not None else DEMO_INTERVAL
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mjdash-demo-")))
        try:
            sim = SimServer(demo=True, speed=args.speed, tasks=args.tasks).start()
        except (OSError, RuntimeError) as exc:
            raise Fail(f"could not start the simulator: {exc}", EXIT_FAILED) from None
        stack.callback(sim.stop)
        config = dataclasses.replace(
            config,
            api=dataclasses.replace(config.api, base_url=sim.url, auth="bearer"),
            poll=dataclasses.replace(config.poll, interval=interval),
        )
        path = Path(args.watchlist).expanduser() if args.watchlist else folder / "watchlist.toml"
        try:
            watchlist = Watchlist.load(path)
        except WatchlistError as exc:
            raise Fail(str(exc), EXIT_USAGE) from None
        for task_id in sim.seeded_ids:  # with their lineage: children under their parents
            watchlist.add([task_id], parent=sim.engine.parent_of(task_id))
        _save(watchlist)
        client = _make_client(config, Secret("demo"))
        from mjdash import journal
        from mjdash.poller import Poller
        from mjdash.ui.run import run_dashboard

        poller = Poller(client, interval=interval)

        return run_dashboard(
            config=config,
            client=client,
            poller=poller,
            watchlist=watchlist,
            cache=TaskCache(folder / "tasks.sqlite3"),
            subtitle=f"demo · simulator at {sim.url}",
            journal=journal.Journal(folder / "journal.jsonl"),  # demo ids stay out of the real one
        )
    return EXIT_OK  # pragma: no cover - the with block returns


def cmd_add(args: argparse.Namespace, session: _Session) -> int:
    config = _load_config(args, session)
    ids, from_stdin = _ids_from(args.ids)
    if args.parent and not is_task_id(args.parent):
        raise Fail(f"--parent {_shown(args.parent)} is not a task id")
    watchlist = _load_watchlist(config, args)
    added = watchlist.add(ids, parent=args.parent, label=args.label)
    _save(watchlist)
    already = len(ids) - len(added)
    found = f"found {_plural(from_stdin, 'task id')}; " if from_stdin is not None else ""
    note = f" ({already} already watched)" if already else ""
    _out(f"{found}added {len(added)}{note} to {watchlist.path}")
    return EXIT_OK


def cmd_rm(args: argparse.Namespace, session: _Session) -> int:
    config = _load_config(args, session)
    ids, _ = _ids_from(args.ids)
    watchlist = _load_watchlist(config, args)
    removed = watchlist.remove(ids)
    for task_id in ids:
        if task_id not in removed:
            _err(f"not watched: {task_id}")
    if not removed:
        raise Fail(f"none of the ids is in the watchlist ({watchlist.path})")
    _save(watchlist)
    _out(f"removed {len(removed)} from {watchlist.path}")
    return EXIT_OK


def cmd_ls(args: argparse.Namespace, session: _Session) -> int:
    config = _load_config(args, session)
    watchlist = _load_watchlist(config, args)
    entries = watchlist.entries
    if args.json:
        for entry in entries:
            obj = {
                "id": entry.id,
                "added": entry.added.isoformat() if isinstance(entry.added, datetime) else None,
                "label": entry.label,
                "parent": entry.parent,
                "used": list(entry.used),
                "dismissed": entry.dismissed,
            }
            _out(json.dumps(obj, ensure_ascii=True, separators=(",", ":")))
        return EXIT_OK
    if not entries:
        _err(f"the watchlist is empty ({watchlist.path}); add ids with `mjdash add`")
        return EXIT_OK
    _out(f"{'ID':<20}  {'ADDED':<16}  {'PARENT':<20}  LABEL")
    for entry in entries:
        added = (
            entry.added.astimezone().strftime("%Y-%m-%d %H:%M")
            if isinstance(entry.added, datetime)
            else ""
        )
        label = clean(entry.label, 200, single_line=True)
        line = f"{entry.id:<20}  {added:<16}  {entry.parent:<20}  {label}"
        _out(line.rstrip())
    return EXIT_OK


def cmd_sim(args: argparse.Namespace, session: _Session) -> int:
    from mjdash.sim.faults import FaultSpecError
    from mjdash.sim.server import run_sim

    try:
        run_sim(
            host=args.host,
            port=args.port,
            speed=args.speed,
            tasks=args.tasks,
            key=args.key,
            faults=args.faults,
            seed=args.seed,
            demo=args.demo,
            hostile=args.hostile,
        )
    except FaultSpecError as exc:
        raise Fail(f"--faults: {exc}") from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise Fail(f"cannot serve on {args.host}:{args.port}: {reason}") from None
    except KeyboardInterrupt:
        pass  # Ctrl+C is how the simulator stops
    return EXIT_OK


# --- submit -----------------------------------------------------------------------------------


def _read_prompt_file(name: str) -> list[str]:
    from mjdash.submit import read_prompts

    shown = clean(name, 300, single_line=True)

    if name == "-":
        if sys.stdin is None:
            raise Fail("--file - reads prompts from stdin, but there is no stdin")
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    else:
        try:
            data = Path(name).expanduser().read_bytes()
        except OSError as exc:
            raise Fail(f"--file {shown}: {exc.strerror or type(exc).__name__}") from None
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise Fail(f"--file {shown} is not UTF-8 text") from None
    return read_prompts(text)


def cmd_submit(args: argparse.Namespace, session: _Session) -> int:
    from mjdash.submit import Outcome, SubmitAborted, submit_prompts

    config = _load_config(args, session)
    prompts = [p.strip() for p in args.prompts if p.strip()]
    if args.file is not None:
        prompts += _read_prompt_file(args.file)
    if not prompts:
        raise Fail("no prompts: give them as arguments or with --file PATH (one a line)")
    key = _need_key(config, session)
    watchlist = _load_watchlist(config, args)
    if args.watch:
        _needs_terminal()  # before spending credits
    outcomes: list[Outcome] = []

    def report(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if outcome.ok and outcome.task_id:
            watchlist.add([outcome.task_id], label=args.label)
        _out(outcome.line())

    async def run() -> None:
        client = _make_client(config, key)
        try:
            await submit_prompts(client, prompts, pace=args.pace, report=report)
        finally:
            await client.aclose()

    import asyncio

    try:
        asyncio.run(run())
    except SubmitAborted as exc:
        raise Fail(exc.message, EXIT_KEY if exc.kind == "key" else EXIT_UNREACHABLE) from None
    finally:
        if watchlist.dirty:
            try:
                watchlist.save()
            except WatchlistError as exc:
                _err(str(exc))
    ok = sum(1 for o in outcomes if o.ok)
    refused = len(outcomes) - ok
    summary = f"{_plural(ok, 'task')} submitted"
    if refused:
        summary += f", {refused} refused"
    _err(f"{summary}; watching them in {watchlist.path}" if ok else summary)
    code = EXIT_FAILED if refused else EXIT_OK
    if not args.watch or not ok:
        return code
    client = _make_client(config, key)
    from mjdash.poller import Poller
    from mjdash.ui.run import run_dashboard

    poller = Poller(client, interval=config.poll.interval)
    shown = run_dashboard(
        config=config,
        client=client,
        poller=poller,
        watchlist=watchlist,
        cache=TaskCache(),
        subtitle=client.host,
    )
    return code or shown


# --- status -----------------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace, session: _Session) -> int:
    config = _load_config(args, session)
    if args.format is not None:
        try:
            status_report.check_template(args.format)
        except TemplateError as exc:
            raise Fail(str(exc)) from None
    if args.ids:
        ids = _check_ids(args.ids)
    elif args.cached:  # tmux's status line: the watchlist's ids from a small index if unchanged
        from mjdash import cached_status

        path = watchlist_path(config, flag=args.watchlist)
        ids = cached_status.watchlist_ids(path, lambda: _load_watchlist(config, args).ids)
    else:
        watchlist = _load_watchlist(config, args)
        ids = watchlist.ids
        if not ids:
            _err(f"the watchlist is empty ({watchlist.path}); add ids with `mjdash add`")
    if not ids:
        if args.format is not None:
            _out(status_report.render_template(args.format, status_report.Counts()))
        return EXIT_OK
    if args.cached:
        return _status_cached(args, ids)
    key = _need_key(config, session)
    report = _Report(args, sys.stdout)
    import asyncio

    rows = asyncio.run(_status(config, key, ids, args, report))
    if args.exit_status and any(row.failed for row in rows):
        return EXIT_FAILED
    return EXIT_OK


def _status_cached(args: argparse.Namespace, ids: list[str]) -> int:
    """status --cached: counts (or rows) from the cache alone; no key, no request."""
    import sqlite3

    from mjdash import cache, cached_status

    if args.watch:
        raise Fail("--cached reads the cache once; it cannot --watch")
    try:
        if args.format is not None:
            counts = cached_status.cached_counts(cache.default_path(), ids)
            _out(status_report.render_template(args.format, counts))
            return EXIT_OK
        tasks = cached_status.cached_tasks(cache.default_path(), ids)
    except sqlite3.Error as exc:
        raise Fail(f"the task cache cannot be read ({exc}); run `mjdash status` once") from None
    rows = [Row(i, tasks.get(i)) for i in ids]  # never polled: no task, no error
    _Report(args, sys.stdout).show(rows, interval=0, final=True)
    if args.exit_status and any(row.failed for row in rows):
        return EXIT_FAILED
    return EXIT_OK


def cmd_export(args: argparse.Namespace, session: _Session) -> int:
    import sqlite3

    from mjdash import atomic, cache, cached_status, export

    config = _load_config(args, session)
    ids = _check_ids(args.ids) if args.ids else _load_watchlist(config, args).ids
    try:
        tasks = cached_status.cached_tasks(cache.default_path(), ids)
    except sqlite3.Error as exc:
        raise Fail(f"the task cache cannot be read ({exc}); run `mjdash status` once") from None
    text = export.render(export.records_for(ids, tasks), args.format)
    if args.output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return EXIT_OK
    target = Path(args.output).expanduser()
    try:
        atomic.write_atomic(atomic.real_target(target), text.encode("utf-8"))
    except OSError as exc:
        raise Fail(f"cannot write {target}: {exc.strerror or type(exc).__name__}") from None
    _err(f"exported {_plural(len(ids), 'task')} to {target}")
    return EXIT_OK


class _Report:
    """Prints the rows in the chosen shape; in --watch, reprints what changed."""

    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        self.json = args.json
        self.template: str | None = args.format
        self.watch = args.watch
        self.out = out
        self.tty = out.isatty()
        self.color = (
            self.tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        )
        self._printed: dict[str, tuple] = {}
        self._last_text: str | None = None

    def show(self, rows: list[Row], *, interval: float, final: bool) -> None:
        if self.json:
            for row in rows:
                sig = _signature(row)
                if self._printed.get(row.id) != sig:
                    self._printed[row.id] = sig
                    self.out.write(status_report.json_line(row) + "\n")
        elif self.template is not None:
            text = status_report.render_template(self.template, status_report.Counts.of(rows))
            if text != self._last_text or not self.watch:
                self._last_text = text
                self.out.write(text + "\n")
        else:
            self._table(rows, interval=interval, final=final)
        self.out.flush()

    def _table(self, rows: list[Row], *, interval: float, final: bool) -> None:
        signature = tuple(_signature(row) for row in rows)
        if self.watch and not self.tty and self._printed.get("") == signature:
            return  # piped: print a table again only when something changed
        first = "" not in self._printed
        self._printed[""] = signature
        width = shutil.get_terminal_size((120, 24)).columns
        lines = status_report.render_table(
            rows, width=width, now=datetime.now(UTC), color=self.color
        )
        if self.watch and self.tty:
            self.out.write("\x1b[H\x1b[2J")  # redraw in place
        elif self.watch and not first:
            self.out.write("\n")
        self.out.write("\n".join(lines) + "\n")
        if self.watch and self.tty and not final:
            counts = status_report.Counts.of(rows)
            self.out.write(
                f"\n{counts.done}/{counts.total} done · polled {datetime.now():%H:%M:%S}"
                f" · every {interval:g}s · Ctrl+C stops\n"
            )


def _signature(row: Row) -> tuple:
    task = row.task
    if task is None:
        return (row.error,)
    return (task.status, task.status_raw, task.progress, task.image_url, row.error)


async def _status(
    config: Config, key: Secret, ids: list[str], args: argparse.Namespace, report: _Report
) -> list[Row]:
    """Poll until every id is answered (or, with --watch, settled); print; return the rows."""
    import asyncio

    from mjdash.poller import Poller, PollerState

    client = _make_client(config, key)
    cache = TaskCache()
    try:
        poller = Poller(client, interval=config.poll.interval)
        # Finished tasks never change: the cache answers for them without a request.
        known = {i: t for i, t in cache.load(ids).items() if t.is_terminal}
        poller.track(ids, known=known)
        rows = {task_id: Row(task_id, known.get(task_id)) for task_id in ids}
        bad_streak: dict[str, int] = {}
        failing_since: float | None = None
        force = False
        while True:
            started = time.monotonic()
            if failing_since is None:
                failing_since = started
            remaining = failing_since + args.timeout - started
            try:
                async with asyncio.timeout(max(remaining, 0.05)):
                    result = await poller.poll_once(force=force)
            except TimeoutError:
                raise Fail(
                    f"server unreachable at {client.base_url}: no answer within {args.timeout:g}s",
                    EXIT_UNREACHABLE,
                ) from None
            force = False
            if result.state is PollerState.OK:
                failing_since = None
                cache.put_many(result.tasks.values())
                for task_id, task in result.tasks.items():
                    rows[task_id] = Row(task_id, task)
                    bad_streak.pop(task_id, None)
                for task_id in result.not_found:
                    rows[task_id] = Row(task_id, None, NOT_FOUND)
                for task_id, reason in result.bad.items():
                    rows[task_id] = Row(task_id, rows[task_id].task, reason)
                    bad_streak[task_id] = bad_streak.get(task_id, 0) + 1
                ordered = [rows[i] for i in ids]
                settled = all(
                    row.settled or bad_streak.get(row.id, 0) >= BAD_ANSWERS_TO_GIVE_UP
                    for row in ordered
                )
                answered = all(row.task is not None or row.error for row in ordered)
                if not args.watch:
                    if answered:
                        report.show(ordered, interval=poller.interval, final=True)
                        return ordered
                    await asyncio.sleep(min(result.next_delay, 1.0))
                    continue
                report.show(ordered, interval=poller.interval, final=settled)
                if settled:
                    return ordered
                await asyncio.sleep(result.next_delay)
                continue
            if result.state is PollerState.AUTH_FAILED:
                raise Fail(result.error or f"key rejected: check {config.api.key_env}", EXIT_KEY)
            # Unreachable, server errors, rate limits, junk answers: the poller's backoff says
            # when to try again; give up once --timeout has passed since the failures began.
            now = time.monotonic()
            remaining = failing_since + args.timeout - now
            error = (result.error or "no usable answer").removeprefix("server unreachable: ")
            if result.state is PollerState.RATE_LIMITED and result.next_delay > remaining:
                raise Fail(
                    f"{error} at {client.base_url}; try again in {result.next_delay:.0f}s",
                    EXIT_UNREACHABLE,
                )
            if remaining <= 0:
                if result.state is PollerState.UNREACHABLE:
                    message = f"server unreachable at {client.base_url}: {error}"
                else:
                    message = f"no usable answer from {client.base_url}: {error}"
                raise Fail(message, EXIT_UNREACHABLE)
            wait = min(result.next_delay, remaining)
            force = wait < result.next_delay  # the last try, at the deadline
            await asyncio.sleep(wait)
    finally:
        cache.close()
        await client.aclose()


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
}


def _run(argv: list[str], session: _Session) -> int:
    command, rest = split_command(argv)
    args = build_parser(command).parse_args(rest)
    return _HANDLERS[command](args, session)


def main(argv: Sequence[str] | None = None) -> int:
    """The `mjdash` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):
        # Whatever the locale, text that cannot be encoded becomes "?" instead of a traceback.
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    session = _Session()
    try:
        return _run(argv, session)
    except Fail as exc:
        _err(session.redact(exc.message))
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
        message = session.redact(clean(str(exc), 500, single_line=True))
        _err(f"internal error: {type(exc).__name__}: {message}")
        return EXIT_FAILED
