"""What every command shares: exit codes, Fail, the session, loading the config, the key and
the watchlist, making the client, task ids from arguments or stdin, and printing.

Exit codes: 0 ok, 1 a task failed (with --exit-status), 2 usage or config error, 3 key missing
or rejected, 4 server unreachable, 5 the server answered but some answer was unusable (invalid
JSON, an HTML page, a redirect, an answer too large or inflating); 130 after Ctrl+C.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mjdash.model.secret import Secret
from mjdash.model.task import clean, extract_task_ids, is_task_id
from mjdash.store.config import Config, ConfigError, load_config, read_key, watchlist_path
from mjdash.store.watchlist import Watchlist, WatchlistError

if TYPE_CHECKING:
    from mjdash.net.client import MidjourneyClient

# httpx (through mjdash.net.client and mjdash.net.poller) and asyncio are imported inside the
# functions that use them: `mjdash status --cached` in tmux's status line must start in well
# under 150 ms.

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_KEY = 3
EXIT_UNREACHABLE = 4
EXIT_BAD_ANSWER = 5  # reached, but an answer was unusable: not the same fix as "unreachable"
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class Fail(Exception):
    """An error for the user: one line on stderr, then exit with `code`."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Session:
    """What one run learned that error messages need: the key to redact, its variable's name."""

    def __init__(self) -> None:
        self.key: Secret | None = None
        self.key_env = "COMETAPI_KEY"

    def redact(self, text: str) -> str:
        for secret in (self.key, Secret(os.environ.get(self.key_env, "").strip())):
            if secret:
                text = secret.redact(text)
        return text


def config_from_args(args: argparse.Namespace, session: Session) -> Config:
    overrides = {"api.base_url": args.base_url, "poll.interval": args.interval}
    try:
        config = load_config(args.config, overrides=overrides)
    except ConfigError as exc:
        raise Fail(str(exc), EXIT_USAGE) from None
    session.key_env = config.api.key_env
    return config


def need_key(config: Config, session: Session) -> Secret:
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


def load_watchlist(config: Config, args: argparse.Namespace) -> Watchlist:
    path = watchlist_path(config, flag=args.watchlist)
    try:
        watchlist = Watchlist.load(path)
    except WatchlistError as exc:
        raise Fail(str(exc), EXIT_USAGE) from None
    for warning in watchlist.warnings:
        err(f"warning: {clean(warning, 500, single_line=True)}")
    return watchlist


def save_watchlist(watchlist: Watchlist) -> None:
    """Save; on failure say what was and was not saved, keep the added ids in a file, exit 2."""
    try:
        watchlist.save()
    except WatchlistError as exc:
        raise Fail(unsaved_message(watchlist, str(exc)), EXIT_USAGE) from None


def unsaved_message(watchlist: Watchlist, problem: str) -> str:
    """The save error, then what this run did not save and where the added ids were kept."""
    added, removed, other = watchlist.unsaved_changes()
    lost = []
    if added:
        lost.append(f"{len(added)} added ({_some(added)})")
    if removed:
        lost.append(f"{len(removed)} removed ({_some(removed)})")
    if other:
        lost.append(f"{other} other change{'s' if other != 1 else ''}")
    message = f"{problem}; nothing was changed on disk"
    if lost:
        message += "; not saved: " + ", ".join(lost)
    if added:
        try:
            kept = watchlist.write_unsaved()
        except OSError as error:
            message += f"; the added ids could not be kept either ({error.strerror or error})"
        else:
            if kept is not None:
                message += f"; the added ids are kept in {kept} (mjdash add - < {kept})"
    return message


def _some(ids: list[str], limit: int = 5) -> str:
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


def make_client(config: Config, key: Secret) -> MidjourneyClient:
    from mjdash.net.client import MidjourneyClient

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


def check_ids(tokens: Sequence[str]) -> list[str]:
    for token in tokens:
        if not is_task_id(token):
            raise Fail(
                f"{shown(token)} is not a task id"
                " (16 to 20 digits, the first 13 its submit time in ms)"
            )
    return list(dict.fromkeys(tokens))


def read_stdin_ids() -> list[str]:
    if sys.stdin is None:
        raise Fail("`-` reads task ids from stdin, but there is no stdin")
    if sys.stdin.isatty():
        err("reading task ids from stdin (Ctrl+D ends)")
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return extract_task_ids(text)


def ids_from(tokens: Sequence[str]) -> tuple[list[str], int | None]:
    """Ids from arguments, `-` standing for every id found in stdin; (ids, found in stdin)."""
    ids: list[str] = []
    from_stdin: int | None = None
    for token in tokens:
        if token == "-":
            if from_stdin is not None:
                continue
            found = read_stdin_ids()
            if not found:
                raise Fail("no task ids found in the input (a task id is 16 to 20 digits)")
            from_stdin = len(found)
            ids += found
        else:
            ids += check_ids([token])
    return list(dict.fromkeys(ids)), from_stdin


def needs_terminal() -> None:
    if not sys.stdout.isatty():
        raise Fail("the dashboard needs a terminal; try `mjdash status`", EXIT_USAGE)


def out(line: str = "") -> None:
    print(line, flush=True)


def err(line: str) -> None:
    print(f"mjdash: {line}", file=sys.stderr, flush=True)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def shown(text: str) -> str:
    """User text echoed in an error: one inert line, short."""
    return repr(clean(text, 40, single_line=True))
