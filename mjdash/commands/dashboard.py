"""`mjdash [TASK_ID ...]` (the dashboard) and `mjdash demo` (the dashboard on the simulator).

textual (mjdash.ui), the poller and the simulator are imported inside the commands.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from mjdash.commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Fail,
    Session,
    check_ids,
    config_from_args,
    err,
    load_watchlist,
    need_key,
    needs_terminal,
    save_watchlist,
    unsaved_message,
)
from mjdash.model.secret import Secret
from mjdash.store.cache import TaskCache
from mjdash.store.config import Config
from mjdash.store.watchlist import Watchlist, WatchlistError

if TYPE_CHECKING:
    from mjdash.sim.server import SimServer
    from mjdash.store.journal import Journal

# The demo batch was planned at speed 1 (finishing over ~4 minutes); at 2 the first seconds
# already show progress moving and statuses changing, and the batch stays alive ~2 minutes.
DEMO_SPEED = 2.0
DEMO_INTERVAL = 2.0


def cmd_dashboard(args: argparse.Namespace, session: Session) -> int:
    config = config_from_args(args, session)
    ids = check_ids(args.ids)
    key = need_key(config, session)
    watchlist = load_watchlist(config, args)
    needs_terminal()
    if ids:
        watchlist.add(ids)
        save_watchlist(watchlist)
    return open_dashboard(config, key, watchlist)


def open_dashboard(
    config: Config,
    key: Secret,
    watchlist: Watchlist,
    *,
    cache: TaskCache | None = None,
    journal: Journal | None = None,
    subtitle: str = "",
) -> int:
    """Build the dashboard (mjdash.ui.run, the one wiring) and run it until the user quits."""
    from mjdash.ui.run import build_dashboard, run_dashboard

    try:
        app = build_dashboard(
            config,
            key,
            watchlist,
            cache=cache if cache is not None else TaskCache(server=config.api.base_url),
            journal=journal,
            subtitle=subtitle or None,
        )
    except ValueError as exc:  # an unusable base URL
        raise Fail(str(exc), EXIT_USAGE) from None
    code = run_dashboard(app)
    if app.unsaved_problem:
        # The screen is gone: the terminal now says what the last save could not write and
        # where the added ids are kept (`<watchlist>.unsaved`). Exit 2, like a one-shot
        # command whose save failed.
        told = unsaved_message(watchlist, app.unsaved_problem)
        err(f"the dashboard closed with changes not saved: {told}")
        return code or EXIT_USAGE
    return code


def cmd_demo(args: argparse.Namespace, session: Session) -> int:
    config = config_from_args(args, session)
    needs_terminal()
    from mjdash.sim.server import SimServer

    interval = config.poll.interval if args.interval is not None else DEMO_INTERVAL
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mjdash-demo-")))
        try:
            sim = SimServer(
                demo=True, speed=args.speed, tasks=args.tasks, flavor=args.flavor
            ).start()
        except (OSError, RuntimeError) as exc:
            raise Fail(f"could not start the simulator: {exc}", EXIT_FAILED) from None
        stack.callback(sim.stop)
        sim.engine.image_size = getattr(args, "image_size", 128)  # real-size images on demand
        sim.engine.image_format = getattr(args, "image_format", "png")
        # Only new-api takes a Bearer header; the proxies read mj-api-secret.
        auth = "bearer" if args.flavor == "newapi" else "mj-api-secret"
        config = dataclasses.replace(
            config,
            api=dataclasses.replace(config.api, base_url=sim.url, auth=auth),
            poll=dataclasses.replace(config.poll, interval=interval),
        )
        path = Path(args.watchlist).expanduser() if args.watchlist else folder / "watchlist.toml"
        try:
            watchlist = Watchlist.load(path)
        except WatchlistError as exc:
            raise Fail(str(exc), EXIT_USAGE) from None
        watch_demo_batch(watchlist, sim)
        save_watchlist(watchlist)
        from mjdash.store.journal import Journal

        return open_dashboard(
            config,
            Secret("demo"),
            watchlist,
            cache=TaskCache(folder / "tasks.sqlite3", server=sim.url),
            journal=Journal(folder / "journal.jsonl"),  # demo ids stay out of the real one
            subtitle=f"demo · simulator at {sim.url}",
        )
    return EXIT_OK  # pragma: no cover - the with block returns


# A few of the demo's first tasks carry a label, as a user's would (the Label column, 120+).
DEMO_LABELS = ("moodboard", "client: Acme", "draft")


def watch_demo_batch(watchlist: Watchlist, sim: SimServer) -> None:
    """The simulator's demo batch, watched as `mjdash demo` shows it: children under their
    parents, the first few top-level tasks labelled."""
    labels = iter(DEMO_LABELS)
    for task_id in sim.seeded_ids:
        parent = sim.engine.parent_of(task_id)
        watchlist.add([task_id], parent=parent, label="" if parent else next(labels, ""))
