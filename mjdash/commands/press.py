"""`mjdash press`: one button pressed across many tasks, from a script. The planning is
mjdash.model.moves, the paced sending mjdash.net.batch_press; this is the command line.
"""

from __future__ import annotations

import argparse

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
from mjdash.model.task import Status, Task, clean


def cmd_press(args: argparse.Namespace, session: Session) -> int:
    from mjdash.model.moves import expand_buttons, is_grid, plan_press, press_question
    from mjdash.net.batch_press import press_jobs

    if not args.button:
        raise Fail(
            "which button? give --button U1 (a label, a name like 'Upscale (Subtle)', "
            "a customId, or 'all four' for U1-U4)"
        )
    if args.all_grids and args.ids:
        raise Fail("give task ids or --all-grids, not both")
    if not args.all_grids and not args.ids:
        raise Fail("no tasks: give task ids (or - to read them from stdin) or --all-grids")
    config = config_from_args(args, session)
    key = need_key(config, session)
    watchlist = load_watchlist(config, args)
    ids = watchlist.ids if args.all_grids else ids_from(args.ids)[0]
    if not ids:
        raise Fail("the watchlist is empty: nothing to press")
    tasks = fetch_tasks(config, key, ids)
    if args.all_grids:  # every finished grid; the other tasks are not part of the move
        watched = len(ids)
        ids = [i for i in ids if (task := tasks.get(i)) is not None and is_grid(task)]
        if not ids:
            err(_no_grid(watched, tasks))
            return EXIT_FAILED

    def used(task_id: str) -> list[str]:
        entry = watchlist.get(task_id)
        return entry.used if entry is not None else []

    plan = plan_press(ids, tasks, args.button, used, again=args.again)
    report_skips(plan.lacking)
    report_skips(plan.already)
    if plan.already and not args.again:
        err("pressed before: add --again to press those too")
    names = ", ".join(clean(b, 40, single_line=True) for b in args.button)
    if not plan.presses:
        err(f"nothing to press ({names})")
        return EXIT_OK if not plan.lacking else EXIT_FAILED
    jobs = press_jobs(plan.presses)
    if args.dry_run:
        print_dry_run(jobs, config.api.base_url, args.json)
        return EXIT_OK
    question = press_question(plan, expand_buttons(args.button), args.pace)
    confirm(question, len(jobs), config, args)
    return run_and_print(config, key, jobs, watchlist, args)


def _no_grid(watched: int, tasks: dict[str, Task | None]) -> str:
    """Why --all-grids found nothing to press: no finished grid, or no buttons at all (a
    server without /submit/action, novicezk's midjourney-proxy v2, sends none)."""
    text = f"no finished grid (a task with U1-U4) among the {plural(watched, 'watched task')}"
    finished = [t for t in tasks.values() if t is not None and t.status is Status.SUCCESS]
    if finished and not any(t.buttons for t in finished):
        text += ": this server sends no buttons, so none can be pressed"
    return text
