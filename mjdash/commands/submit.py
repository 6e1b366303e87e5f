"""`mjdash submit`: the command-line side (prompts from arguments or --file, the summary,
--watch). The submitting itself, free of any UI, is mjdash.net.submit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mjdash.commands.common import (
    EXIT_FAILED,
    EXIT_KEY,
    EXIT_OK,
    EXIT_UNREACHABLE,
    Fail,
    Session,
    config_from_args,
    err,
    load_watchlist,
    make_client,
    need_key,
    needs_terminal,
    out,
    plural,
    unsaved_message,
)
from mjdash.model.task import clean
from mjdash.store.watchlist import WatchlistError


def _read_prompt_file(name: str) -> list[str]:
    from mjdash.net.submit import read_prompts

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
    # A prompts file may carry notes: `#` starts a comment line (read_prompts drops blanks).
    return [prompt for prompt in read_prompts(text) if not prompt.startswith("#")]


def cmd_submit(args: argparse.Namespace, session: Session) -> int:
    from mjdash.net.submit import Outcome, SubmitAborted, submit_prompts

    config = config_from_args(args, session)
    prompts = [p.strip() for p in args.prompts if p.strip()]
    if args.file is not None:
        prompts += _read_prompt_file(args.file)
    if not prompts:
        raise Fail("no prompts: give them as arguments or with --file PATH (one a line)")
    key = need_key(config, session)
    watchlist = load_watchlist(config, args)
    if args.watch:
        needs_terminal()  # before spending credits
    outcomes: list[Outcome] = []

    def report(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if outcome.ok and outcome.task_id:
            watchlist.add([outcome.task_id], label=args.label)
        out(outcome.line())

    async def run() -> None:
        client = make_client(config, key)
        try:
            await submit_prompts(client, prompts, pace=args.pace, report=report)
        finally:
            await client.aclose()
            if note := client.auth_note():
                err(note)

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
                err(unsaved_message(watchlist, str(exc)))
    ok = sum(1 for o in outcomes if o.ok)
    refused = len(outcomes) - ok
    summary = f"{plural(ok, 'task')} submitted"
    if refused:
        summary += f", {refused} refused"
    them = "it" if ok == 1 else "them"
    err(f"{summary}; watching {them} in {watchlist.path}" if ok else summary)
    code = EXIT_FAILED if refused else EXIT_OK
    if not args.watch or not ok:
        return code
    from mjdash.commands.dashboard import open_dashboard

    shown = open_dashboard(config, key, watchlist)
    return code or shown
