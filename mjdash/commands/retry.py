"""`mjdash retry`: submit failed (or stalled) tasks' prompts again as new imagines, each
linked to the task it replaces. The planning is mjdash.model.moves; this is the command line.
"""

from __future__ import annotations

import argparse
import time

from mjdash.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    Fail,
    Session,
    config_from_args,
    err,
    ids_from,
    load_watchlist,
    need_key,
    plural,
)
from mjdash.commands.moves_cli import (
    confirm,
    fetch_tasks,
    print_dry_run,
    report_skips,
    run_and_print,
)
from mjdash.model.task import Task
from mjdash.store.config import Config
from mjdash.store.watchlist import Watchlist


def _stalled(config: Config, tasks: dict[str, Task | None]) -> set[str]:
    """Stalled by the dashboard's rule, on the history the dashboard journals."""
    from mjdash.model.moves import stalled_ids
    from mjdash.store.journal import Journal

    present = [t for t in tasks.values() if t is not None]
    records = Journal().latest([t.id for t in present])
    history = {r.id: (r.ts, (r.new, r.progress)) for r in records.values()}
    unjudged = [t.id for t in present if t.needs_polling and t.id not in history]
    if unjudged:
        err(
            f"{plural(len(unjudged), 'unfinished task')} never seen by the dashboard: "
            "no history to tell whether they are stalled"
        )
    return stalled_ids(
        present,
        history,
        time.time(),
        after=config.ui.stall_minutes * 60,
        queue_after=config.ui.queue_stall_minutes * 60,
    )


def _retried(watchlist: Watchlist) -> set[str]:
    return {entry.retry_of for entry in watchlist if entry.retry_of}


def cmd_retry(args: argparse.Namespace, session: Session) -> int:
    from mjdash.model.moves import RETRYABLE, plan_retry
    from mjdash.net.batch_press import retry_jobs

    over_watchlist = args.failed or args.stalled
    if over_watchlist and args.ids:
        raise Fail("give task ids or --failed / --stalled, not both")
    if not over_watchlist and not args.ids:
        raise Fail("no tasks: give task ids (or - to read them from stdin), --failed or --stalled")
    config = config_from_args(args, session)
    key = need_key(config, session)
    watchlist = load_watchlist(config, args)
    if over_watchlist:  # dismissed tasks were dealt with (a retry dismisses its original)
        ids = [entry.id for entry in watchlist if not entry.dismissed]
    else:
        ids = ids_from(args.ids)[0]
    if not ids:
        raise Fail("the watchlist is empty: nothing to retry")
    tasks = fetch_tasks(config, key, ids)
    stalled = _stalled(config, tasks) if args.stalled or not over_watchlist else set()
    if over_watchlist:
        wanted = set()
        if args.failed:
            wanted |= {i for i, t in tasks.items() if t is not None and t.status in RETRYABLE}
        if args.stalled:
            wanted |= stalled
        ids = [i for i in ids if i in wanted]
    plan = plan_retry(ids, tasks, stalled, _retried(watchlist), again=args.again)
    report_skips(plan.skipped)
    if not plan.retries:
        err("nothing to retry")
        return EXIT_OK if over_watchlist or not plan.skipped else EXIT_FAILED
    jobs = retry_jobs(plan.retries)
    if args.dry_run:
        print_dry_run(jobs, config.api.base_url, args.json)
        return EXIT_OK
    question = f"retry {plural(len(jobs), 'task')} (new imagines), {args.pace:g} s apart"
    confirm(question, len(jobs), config, args)
    return run_and_print(config, key, jobs, watchlist, args)
