"""`mjdash export`: the command-line side (ids, the cache, --output). The rendering is
mjdash.model.export.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mjdash.commands.common import (
    EXIT_OK,
    Fail,
    Session,
    check_ids,
    config_from_args,
    err,
    load_watchlist,
    plural,
)


def cmd_export(args: argparse.Namespace, session: Session) -> int:
    import sqlite3

    from mjdash.model import export
    from mjdash.store import atomic, cache, cached_status, paths

    config = config_from_args(args, session)
    ids = check_ids(args.ids) if args.ids else load_watchlist(config, args).ids
    try:
        tasks = cached_status.cached_tasks(cache.default_path(), ids, config.api.base_url)
    except sqlite3.Error as exc:
        raise Fail(f"the task cache cannot be read ({exc}); run `mjdash status` once") from None
    text = export.render(export.records_for(ids, tasks), args.format)
    if args.output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return EXIT_OK
    target = Path(args.output).expanduser()
    try:
        paths.ensure_private_dir(target.parent)  # 0700 when mjdash makes it
        atomic.write_atomic(atomic.real_target(target), text.encode("utf-8"))
    except OSError as exc:
        raise Fail(f"cannot write {target}: {exc.strerror or type(exc).__name__}") from None
    err(f"exported {plural(len(ids), 'task')} to {target}")
    return EXIT_OK
