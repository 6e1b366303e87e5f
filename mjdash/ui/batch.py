"""Batch features wired into the app: summary and ETA, stalls, the journal, notifications,
filter and sort, image downloads and export.

The app keeps thin hooks (`arrange`, `on_poll`, `digest`, `announce`, `tick`, `decorate_row`);
this module binds the keys and renders. The decisions are in the UI-free model: the view, its
members and their counts are the board's (`Board.view`, model/view.py `BoardView`), the rest is
in insight, journal, notify, images and export. The tick costs O(rows on screen).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.actions import SkipAction
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import Input, TextArea

from mjdash.media import images
from mjdash.model import export, notify
from mjdash.model.board import Changes
from mjdash.model.durations import format_age
from mjdash.model.insight import Summary
from mjdash.model.task import Status, Task
from mjdash.model.view import SORT_LABELS, TreeRow, ViewState, show_announcement
from mjdash.store import atomic, paths
from mjdash.store.journal import Journal, JournalWriter, Record
from mjdash.ui.detail import NO_TASK
from mjdash.ui.messages import TasksFinished
from mjdash.ui.terminal import write_escape

if TYPE_CHECKING:
    from mjdash.ui.filterbar import FilterBar
    from mjdash.ui.host import Dashboard
    from mjdash.ui.summary import SummaryLine

DOWNLOAD_CONCURRENCY = 4


def download_folder(setting: str) -> Path:
    """[ui] download_dir, or the "images" folder in the user data dir."""
    return Path(setting).expanduser() if setting.strip() else paths.data_dir() / "images"


def export_folder(setting: str) -> Path:
    """[ui] export_dir, or the "exports" folder beside "images" in the user data dir: exports
    are not images, and a folder of images is often synced or shared."""
    return Path(setting).expanduser() if setting.strip() else paths.data_dir() / "exports"


class BatchFeatures:
    """The batch at a glance: the keys (filter, sort, downloads, export) and what they do.
    The preview and the contact sheet are ImageFeatures' (ui/images.py)."""

    BINDINGS = [
        # Priority: keys typed right after "/" must reach the filter (action_filter skips
        # when a text field has the focus or a dialog is open).
        Binding("slash", "filter", "Filter", key_display="/", priority=True, id="filter"),
        Binding(
            "f", "cycle_show", "Show: all/unfinished/failed/stalled", show=False, id="cycle_show"
        ),
        Binding("s", "cycle_sort", "Sort", show=False, id="cycle_sort"),
        Binding("D", "download_images", "Download image(s)", show=False, id="download_images"),
        Binding("E", "export", "Export view", show=False, id="export"),
    ]

    def __init__(self, app: Dashboard, journal: Journal | None = None) -> None:
        self.app = app
        ui = app.config.ui
        self.board_view = app.board.view  # the view, the tasks that pass it, their counts
        self.board_view.set_state(ViewState.from_dict(app.watchlist.view))  # saved last run
        self.everything = app.board.everything  # every watched task: "batch complete"
        self.stalls = app.board.stalls
        self.journal = journal if journal is not None else Journal()
        self.journal_writer = JournalWriter(self.journal)
        cfg = app.config.notify
        self.channels = notify.Channels(
            bell=frozenset(cfg.bell), toast=frozenset(cfg.toast), desktop=frozenset(cfg.desktop)
        )
        self.download_dir = download_folder(ui.download_dir)
        self.export_dir = export_folder(ui.export_dir)
        self.digests = notify.DigestKeeper()  # new stalls and "batch complete", once
        self.sent_osc: list[str] = []  # escape strings sent (or, headless, that would be)
        self.desktop_sent: list[str] = []
        self.downloads: list[Path] = []

    # --- helpers ----------------------------------------------------------------------------

    def _now(self) -> float:
        return self.app.now().timestamp()

    @property
    def view(self) -> ViewState:
        """The view in use (filter text, quick filter, sort)."""
        return self.board_view.state

    @property
    def summary(self) -> Summary:
        """The summary line's numbers, as last counted."""
        return self.board_view.summary

    @property
    def summary_line(self) -> SummaryLine | None:
        """None while the screen is being torn down (a save on quit rebuilds the rows)."""
        from mjdash.ui.summary import SummaryLine

        try:
            return self.app.query_one(SummaryLine)
        except NoMatches:
            return None

    @property
    def filter_bar(self) -> FilterBar:
        from mjdash.ui.filterbar import FilterBar

        return self.app.query_one(FilterBar)

    # --- start ------------------------------------------------------------------------------

    def start(self) -> None:
        """On mount, after the cache is loaded: restore stall clocks from the journal."""
        app = self.app
        ids = app.watchlist.ids
        now = self._now()
        records = self.journal.latest(ids)
        latest = ((r.id, r.ts, r.new, r.progress) for r in records.values())
        app.board.restore_clocks(latest, ids, now)
        # Unfinished tasks loaded from the cache (a last run, `mjdash status`) that the journal
        # never saw: their stall clocks start now, and a task stuck from here on makes no
        # transition to journal. Their first sight goes in, as a poll's would, so `mjdash
        # retry --stalled` judges them by the dashboard's own clock.
        tasks = app.tasks
        first = [
            Record(now, task.id, None, task.status_text, task.progress)
            for task_id in ids
            if task_id not in records
            and (task := tasks.get(task_id)) is not None
            and task.needs_polling
        ]
        if first:
            self.journal_writer.put(first)
        app.table.show_sort(self.view.sort)  # a sort saved by the last run

    # --- rows -------------------------------------------------------------------------------

    def arrange(self, entries, collapsed) -> list[TreeRow]:
        """The rows for the table (app.rebuild_rows), and the summary recounted."""
        rows = self.board_view.arrange(entries, collapsed, self.app.now())
        self._refresh_summary()
        return rows

    @property
    def arranged_ids(self) -> set[str]:
        """The watchlist ids the last `arrange` placed (filtered-out and folded ones too)."""
        return self.board_view.arranged_ids

    def decorate_row(self, task_id: str, cells: dict[str, Text], now: datetime) -> dict[str, Text]:
        if task_id in self.stalls.stalled:
            return {**cells, "status": self.stall_cell(task_id, now.timestamp())}
        return cells

    def stall_cell(self, task_id: str, now: float) -> Text:
        stall = self.stalls.stall(task_id, now)
        seconds = stall.seconds if stall else 0.0
        return Text(f"⚠ stalled {format_age(seconds)}", style="bold yellow")

    # --- polls ------------------------------------------------------------------------------

    def on_poll(self, changes: Changes) -> None:
        """After the board merged a poll (before the changed rows are synced): the summary's
        member counts, the journal, new stalls, re-placing rows under a filter or a sort."""
        app = self.app
        changed = changes.changed
        watchlist = app.watchlist

        def label_of(task_id: str) -> str:
            entry = watchlist.get(task_id)
            return entry.label if entry else ""

        replace = self.board_view.count_changes(changed, label_of)
        if changes.transitions:
            now = self._now()
            self.journal_writer.put(
                [Record(now, *t) for t in changes.transitions]
            )  # written off the UI thread
        new = changes.new_stalls
        if new:
            self.digests.stalled(new)
            replace = replace or self.board_view.shows_stalled_only
            app.sync_rows(new)
        if replace:
            app.rebuild_rows()
            app.show_selected()
        elif changed or new:  # nothing changed: nothing to recount (the ETA ticks by itself)
            self._refresh_summary()
        succeeded = changes.succeeded
        if succeeded and app.config.ui.auto_download:
            # One file a task (a grid's grid, a video's first MP4): D on a task saves the rest.
            self._start_downloads([t for t in succeeded if images.main_link(t)], quiet=True)

    def digest(self, done: list[str], failed: list[str], modal: list[str]) -> TasksFinished | None:
        """The one digest of this poll: the app's done/failed/modal plus new stalls and, once,
        "batch complete" (model/notify.py DigestKeeper decides)."""
        everything = self.everything
        digest = self.digests.digest(
            done,
            failed,
            modal,
            still_stalled=self.stalls.stalled,
            finished=everything.finished,
            total=len(everything),
            failed_total=everything.count("failed"),
        )
        if digest is None:
            return None
        return TasksFinished(
            list(digest.done),
            list(digest.failed),
            list(digest.modal),
            stalled=list(digest.stalled),
            complete=digest.batch_complete,
            total=digest.total,
            failed_total=digest.failed_total,
        )

    def announce(self, message: TasksFinished) -> None:
        """Toast, bell and desktop notification for one digest, per the [notify] config."""
        app = self.app
        digest = notify.Digest(
            done=tuple(message.done),
            failed=tuple(message.failed),
            modal=tuple(message.modal),
            stalled=tuple(message.stalled),
            batch_complete=message.complete,
            total=message.total,
            failed_total=message.failed_total,
        )
        plan = notify.plan(digest, self.channels, bell_enabled=app.config.ui.bell)
        if plan.toast:
            app.notify(plan.toast, title=plan.title, severity=plan.severity, markup=False)
        if plan.bell:
            app.bell()
        if plan.desktop:
            how = notify.send_desktop(f"mjdash: {plan.title}", plan.desktop, osc_writer=self._osc)
            if how:
                self.desktop_sent.append(plan.desktop)

    def close(self) -> None:
        """On unmount: write the journal lines still queued."""
        self.journal_writer.close()

    def _osc(self, sequence: str) -> None:
        self.sent_osc.append(sequence)
        write_escape(self.app, sequence)

    # --- the tick ---------------------------------------------------------------------------

    def tick(self, now_dt: datetime) -> None:
        """Once a second: new stalls (cheap heap check), visible stall clocks, the ETA text."""
        app = self.app
        now = now_dt.timestamp()
        new = self.stalls.check(now)
        if new:
            self.digests.stalled(new)
            if self.board_view.shows_stalled_only:
                app.rebuild_rows()
            else:
                app.sync_rows(new)
                self._refresh_summary()
            if app.selected_id in new:
                app.show_selected()
        stalled = self.stalls.stalled
        if stalled:
            changes = {
                task_id: {"status": self.stall_cell(task_id, now)}
                for task_id in app.table.visible_keys()
                if task_id in stalled
            }
            if changes:
                app.table.update_cells(changes)
        line = self.summary_line
        if line is not None:
            line.tick(now)

    def _refresh_summary(self) -> None:
        now = self._now()
        summary = self.board_view.recount(now)
        line = self.summary_line
        if line is not None:
            line.set_summary(summary, now, self.view.describe(), self.view.show)

    # --- the detail pane ------------------------------------------------------------------

    def last_change(self, task_id: str) -> datetime | None:
        when = self.stalls.last_change(task_id)
        return datetime.fromtimestamp(when, UTC) if when is not None else None

    def stall_fields(self, task_id: str) -> dict:
        """DetailModel fields: the kind of stall and since when ({} when not stalled)."""
        stall = self.stalls.stall(task_id, self._now())
        if stall is None:
            return {}
        since = datetime.fromtimestamp(self._now() - stall.seconds, UTC)
        return {"stall_kind": stall.kind, "stall_since": since}

    # --- view: filter and sort ------------------------------------------------------------

    def set_view(self, view: ViewState, *, announce: str = "", counted: bool = True) -> None:
        if not self.board_view.set_state(view):
            return
        app = self.app
        app.table.show_sort(view.sort)
        app.rebuild_rows()
        app.show_selected()
        with contextlib.suppress(TypeError, ValueError):
            app.watchlist.view = {**app.watchlist.view, **view.to_dict()}
            app.save_soon()
        if announce and counted:
            shown, total = self.board_view.shown, self.board_view.total
            app.say(f"{announce} ({shown} of {total} tasks)", timeout=2)
        elif announce:
            app.say(announce, timeout=2)

    def empty_view_text(self) -> str:
        """What the detail pane says when no row is selected: nothing is watched, or the view
        (a filter typed now or saved by the last run) hides every row, and how to undo it."""
        return self.board_view.hides_everything(len(self.app.rows)) or NO_TASK

    def action_filter(self) -> None:
        """/ opens the filter bar; while typing somewhere (or in a dialog) "/" is just a "/"."""
        app = self.app
        if app.screen is not app.screen_stack[0] or isinstance(app.focused, (Input, TextArea)):
            raise SkipAction()
        self.filter_bar.open(self.view.text)

    def filter_applied(self, text: str, done: bool) -> None:
        self.set_view(self.view.with_text(text))
        if done:
            self.app.table.focus()

    def action_cycle_show(self) -> None:
        view = self.view.next_show()
        if view == self.view:
            return
        self.set_view(view)
        shown, total = self.board_view.shown, self.board_view.total
        self.app.say(show_announcement(view.show, shown, total), timeout=2)

    def action_cycle_sort(self) -> None:
        view = self.view.next_sort()
        self.set_view(view, announce=f"Sorted by {SORT_LABELS[view.sort]}", counted=False)

    # --- downloads and export -------------------------------------------------------------

    def action_download_images(self) -> None:
        """D: everything the selected task has (a grid and its four images, a video's MP4s);
        with no finished task selected, one file for each finished task in view."""
        app = self.app
        task = app.selected_task
        if _downloadable(task):
            self._start_downloads([task], quiet=False, overwrite=True, everything=True)
            return
        ids = [row.id for row in app.rows] or list(self.board_view.member_order)
        tasks = [app.tasks[i] for i in ids if _downloadable(app.tasks.get(i))]
        if not tasks:
            app.notify("No finished task with an image in view.", severity="warning")
            return
        app.say(f"Downloading {_count(len(tasks), 'image')} to {self.download_dir}")
        self._start_downloads(tasks, quiet=False)

    def _start_downloads(
        self, tasks: list[Task], *, quiet: bool, overwrite: bool = False, everything: bool = False
    ) -> None:
        if tasks:
            self.app.run_worker(
                self._download_all(tasks, quiet=quiet, overwrite=overwrite, everything=everything),
                group="download",
                exit_on_error=False,
            )

    async def _download_all(
        self, tasks: list[Task], *, quiet: bool, overwrite: bool, everything: bool
    ) -> None:
        import asyncio

        app = self.app
        folder = self.download_dir
        gate = asyncio.Semaphore(DOWNLOAD_CONCURRENCY)
        saved: list[Path] = []
        problems: list[str] = []

        async def one(task: Task) -> None:
            async with gate:
                if not overwrite and any(folder.glob(f"{task.id}-*")):
                    return  # saved before (a D over everything, or auto-download)
                try:
                    saved.append(
                        await images.download(app.client, task, folder, everything=everything)
                    )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # MjError, ImageError, OSError: one line each
                    problems.append(f"{task.id}: {_one_line(exc)}")

        await asyncio.gather(*(one(task) for task in tasks))
        self.downloads += saved
        if problems:
            more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
            app.notify(
                "\n".join(problems[:3]) + more,
                title="Image not downloaded",
                severity="error",
                markup=False,
            )
        if saved and not quiet:
            what = saved[0] if len(saved) == 1 else f"{len(saved)} images in {folder}"
            extra = len(images.extra_links(tasks[0])) if everything and len(tasks) == 1 else 0
            if len(saved) == 1 and extra:  # a grid's four images, a video's other MP4s
                what = f"{what} and {extra} more beside it"
            app.say(f"Saved {what}", title="Download")

    def action_export(self) -> Path | None:
        """E: the rows in view (filter and sort applied) to a file in the export folder."""
        return self.export_ids(self.board_view.export_order([row.id for row in self.app.rows]))

    def export_ids(self, order: list[str]) -> Path | None:
        """These tasks (the view, or the marked ones) to a file in the download folder."""
        app = self.app
        fmt = app.config.ui.export_format
        text = export.render(export.records_for(order, app.tasks), fmt)
        stamp = app.now().astimezone().strftime("%Y%m%d-%H%M%S")
        target = self.export_dir / f"mjdash-{stamp}.{fmt}"
        try:
            paths.ensure_private_dir(target.parent)  # 0700, as every folder mjdash makes
            atomic.write_atomic(atomic.real_target(target), text.encode("utf-8"))
        except OSError as exc:
            app.notify(
                f"Export failed: {exc.strerror or type(exc).__name__}",
                severity="error",
                markup=False,
            )
            return None
        app.say(f"Exported {_count(len(order), 'task')} to {target}", title="Export")
        return target


def _count(number: int, word: str) -> str:
    """ "1 task", "3 tasks"."""
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def _downloadable(task: Task | None) -> bool:
    return task is not None and task.status is Status.SUCCESS and bool(images.main_link(task))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
