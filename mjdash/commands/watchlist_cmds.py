"""`mjdash add`, `mjdash rm` and `mjdash ls`: the watchlist from the command line."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from mjdash.commands.common import (
    EXIT_OK,
    Fail,
    Session,
    config_from_args,
    err,
    ids_from,
    load_watchlist,
    out,
    plural,
    save_watchlist,
    shown,
)
from mjdash.model.task import clean, is_task_id


def cmd_add(args: argparse.Namespace, session: Session) -> int:
    config = config_from_args(args, session)
    ids, from_stdin = ids_from(args.ids)
    if args.parent and not is_task_id(args.parent):
        raise Fail(f"--parent {shown(args.parent)} is not a task id")
    watchlist = load_watchlist(config, args)
    added = watchlist.add(ids, parent=args.parent, label=args.label)
    save_watchlist(watchlist)
    already = len(ids) - len(added)
    found = f"found {plural(from_stdin, 'task id')}; " if from_stdin is not None else ""
    note = f" ({already} already watched)" if already else ""
    out(f"{found}added {len(added)}{note} to {watchlist.path}")
    return EXIT_OK


def cmd_rm(args: argparse.Namespace, session: Session) -> int:
    config = config_from_args(args, session)
    ids, _ = ids_from(args.ids)
    watchlist = load_watchlist(config, args)
    removed = watchlist.remove(ids)
    for task_id in ids:
        if task_id not in removed:
            err(f"not watched: {task_id}")
    if not removed:
        raise Fail(f"none of the ids is in the watchlist ({watchlist.path})")
    save_watchlist(watchlist)
    out(f"removed {len(removed)} from {watchlist.path}")
    return EXIT_OK


def cmd_ls(args: argparse.Namespace, session: Session) -> int:
    config = config_from_args(args, session)
    watchlist = load_watchlist(config, args)
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
            out(json.dumps(obj, ensure_ascii=True, separators=(",", ":")))
        return EXIT_OK
    if not entries:
        err(f"the watchlist is empty ({watchlist.path}); add ids with `mjdash add`")
        return EXIT_OK
    out(f"{'ID':<20}  {'ADDED':<16}  {'PARENT':<20}  LABEL")
    for entry in entries:
        added = (
            entry.added.astimezone().strftime("%Y-%m-%d %H:%M")
            if isinstance(entry.added, datetime)
            else ""
        )
        label = clean(entry.label, 200, single_line=True)
        line = f"{entry.id:<20}  {added:<16}  {entry.parent:<20}  {label}"
        out(line.rstrip())
    return EXIT_OK
