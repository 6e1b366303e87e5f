"""MjdashApp: wiring, bindings, the poll loop, saving.

The poll loop re-arms after each poll completes (dolphie's shape): a slow server slows the
cadence instead of stacking requests. Each poll result updates only the rows that changed.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container
from textual.css.query import NoMatches
from textual.notifications import Notification, Notify
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, OptionList
from textual.worker import Worker, WorkerState

from mjdash.model.board import Board
from mjdash.model.keys import help_sections
from mjdash.model.task import Task
from mjdash.model.urls import url_refusal
from mjdash.model.view import TreeRow, lineage_parent
from mjdash.net.client import MidjourneyClient
from mjdash.net.poller import Poller, PollerState
from mjdash.store.cache import TaskCache
from mjdash.store.cache_writer import CacheWriter
from mjdash.store.config import ENV_KEY_FILE, Config, ConfigError, read_key
from mjdash.store.journal import Journal
from mjdash.store.watchlist import Watchlist, WatchlistError
from mjdash.ui.actions import Actions
from mjdash.ui.batch import BatchFeatures
from mjdash.ui.browser import browser_problem
from mjdash.ui.cells import (
    elapsed_text,
    fold_glyph,
    id_cell,
    one_line,
    progress_text,
    prompt_cell,
    status_text,
    ticks,
)
from mjdash.ui.clipboard import copy_text
from mjdash.ui.contact_sheet import ContactSheet
from mjdash.ui.crash import PollFailed, redacted, secrets_of
from mjdash.ui.detail import ButtonList, DetailModel, DetailPane
from mjdash.ui.filterbar import FilterBar
from mjdash.ui.footer import FittedFooter
from mjdash.ui.images import ImageFeatures
from mjdash.ui.keybind import bind
from mjdash.ui.marks import Marks
from mjdash.ui.messages import TasksFinished, TasksPolled
from mjdash.ui.moves import Moves
from mjdash.ui.one_line import OneLine
from mjdash.ui.saver import SaveFinished, SaveWaiting, WatchlistSaver
from mjdash.ui.screens import AddScreen, ConfirmScreen, HelpScreen
from mjdash.ui.status_line import PollView, render_status_line
from mjdash.ui.summary import SummaryLine
from mjdash.ui.table import COLUMNS, WIDE_TABLE, TaskTable, columns_for_width
from mjdash.ui.terminal import unpin_styles_caches
from mjdash.ui.toasts import ToastGate

INTERVAL_STEPS = (1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0)
DETAIL_MIN = 40  # cells the detail pane needs beside the table
DETAIL_SHARE = 0.35  # of the screen for the detail beside the table, when the table can spare it
DETAIL_COLUMNS = 100  # a detail under the table this wide puts its buttons and preview beside
# Young objects between two passes of the collector (Python's default: 700). A poll decodes
# up to a megabyte of JSON: tens of thousands of dicts and lists that live a few
# milliseconds. With 700 the collector ran ~25 times in 20 s idle with 1,000 running tasks,
# 5% of the dashboard's CPU (tests/perf/bench.py, in pairs); a pass over 20,000 young
# objects takes a millisecond or two. Restored when the app ends.
GC_YOUNG_THRESHOLD = 20_000
TICK_MERGE = 0.3  # s: a tick this close to a poll is left to the poll (one frame, not two)


def detail_beside(width: int) -> int:
    """The detail pane's width beside the table, or 0: it goes under the table. Beside only when
    the table keeps its wide columns (ui/table.py WIDE_TABLE): squeezed beside the detail at 120
    columns, the table was as narrow as at 80 (no label column, ids cut to 8 digits)."""
    if width - DETAIL_MIN < WIDE_TABLE:
        return 0
    return max(DETAIL_MIN, min(int(width * DETAIL_SHARE), width - WIDE_TABLE))


def tick_left_to_poll(now: float, poll_due: float | None, poll_started: float | None) -> bool:
    """Skip this tick? A poll about to start (or just started) ticks when its answer is
    applied: one frame instead of two a few milliseconds apart. A slow poll does not hold the
    clocks back. Times are monotonic; `poll_started` is None when no poll is in flight."""
    if poll_due is not None and poll_due - now < TICK_MERGE:
        return True
    return poll_started is not None and now - poll_started < TICK_MERGE


class MjdashApp(App[None]):
    CSS_PATH = "mjdash.tcss"
    TITLE = "mjdash"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        # Keys and ids come from the registry (mjdash/model/keys.py); [keys] may rebind them.
        bind("quit", footer="Quit", show=True, key_display="q"),
        bind("help", footer="Help", show=True),
        bind("back", footer="Back"),
        bind("add", footer="Add", show=True),
        bind("remove", footer="Remove", show=True, key_display="d"),
        bind("copy_custom_id", footer="Copy customId", show=True),
        bind("copy_task_id", footer="Copy id", show=True),
        bind("copy_prompt", footer="Copy prompt"),
        bind("copy_image_url", footer="Copy URL"),
        bind("open_image", footer="Open image"),
        bind("poll_now", footer="Refresh", show=True),
        bind("toggle_pause", footer="Pause", show=True),
        bind("faster", footer="Faster"),
        bind("slower", footer="Slower"),
        bind("toggle_collapse", footer="Fold"),
        # The features' own keys follow, in this order: acting on tasks (ui/actions.py),
        # then the batch at a glance (ui/batch.py). See `__getattr__` for how they are run.
        *Actions.BINDINGS,
        *BatchFeatures.BINDINGS,
        # Marks and moves across them (ui/marks.py, ui/moves.py).
        *Marks.BINDINGS,
        *Moves.BINDINGS,
        # Images: the preview, a grid's four images, the contact sheet (ui/images.py).
        *ImageFeatures.BINDINGS,
    ]

    def __init__(
        self,
        *,
        config: Config,
        client: MidjourneyClient,
        poller: Poller,
        watchlist: Watchlist,
        cache: TaskCache | None,
        now: Callable[[], datetime] | None = None,
        auto_poll: bool = True,
        subtitle: str = "",
        journal: Journal | None = None,
    ) -> None:
        super().__init__()
        unpin_styles_caches()  # removed widgets (every toast) would stay in memory otherwise
        self.config = config
        self.client = client
        self.poller = poller
        self.watchlist = watchlist
        self.cache = cache
        self.now = now or (lambda: datetime.now(UTC))
        self.auto_poll = auto_poll
        self.sub_title = subtitle
        self.key_env = config.api.key_env
        # The environment is fixed at start; a key file is re-read on `r` (reread_key).
        self.key_file = os.environ.get(ENV_KEY_FILE, "").strip()
        self.key_source = f"the key file {self.key_file}" if self.key_file else self.key_env
        if config.ui.theme in self.available_themes:
            self.theme = config.ui.theme

        ui = config.ui
        self.board = Board(
            stall_after=ui.stall_minutes * 60, queue_stall_after=ui.queue_stall_minutes * 60
        )
        self.rows: list[TreeRow] = []
        self._row_index: tuple[list[TreeRow], dict[str, TreeRow]] = ([], {})
        self._cache_writer = CacheWriter(cache) if cache is not None else None
        self._poll_timer: Timer | None = None
        self._poll_due: float | None = None  # monotonic time the poll timer fires
        self._poll_armed = 0.0  # monotonic time the poll timer was armed
        self._poll_started = 0.0  # monotonic time the poll in flight started
        self._tick_timer: Timer | None = None
        self._gc_thresholds = gc.get_threshold()  # put back when the app ends (on_unmount)
        self._polling = False
        self._poll_again = False
        self._force_next = False
        self._last_poll_at: datetime | None = None  # on the app's clock (`now`): tests fix it
        self._save_problem = ""
        # Saves run in the "save" worker, never on this thread (ui/saver.py).
        self.saver = WatchlistSaver(self, watchlist)
        self._quitting = False
        self.unsaved_problem = ""  # why the last save before quitting failed; the CLI says it
        self._server_reached = False  # "● ok" only once a poll was answered
        self._refresh_problem = ""  # the watchlist file's last unreadable state, shown once
        self._toasts: dict[str, Notification] = {}  # keyed toasts (say(key=...)) still shown
        self.toast_gate = ToastGate(self, changed=self.render_status_line)  # none over dialogs
        self._status_line_text: Text | None = None
        self._auth_noted = False  # the "other header style worked" toast was shown
        self.actions = Actions(self)
        self.batch = BatchFeatures(self, journal=journal)
        self.images = ImageFeatures(
            self,
            press=self.actions.request_press,
            select=self.actions.action_select_task,
            download_dir=self.batch.download_dir,
        )
        # With marks, 1-4, C, E, x act on the marked tasks: marks and moves come first and
        # hand the key on to actions / batch when nothing is marked.
        self.marks = Marks(self, actions=self.actions, batch=self.batch)
        self.moves = Moves(self, marks=self.marks, actions=self.actions)
        # They run their own bindings' actions.
        self.features = (self.marks, self.moves, self.actions, self.batch, self.images)

    # The board's state, read by the table, the detail pane and the features.
    @property
    def tasks(self) -> dict[str, Task]:
        return self.board.tasks

    @property
    def not_found(self) -> set[str]:
        return self.board.not_found

    @property
    def stale(self) -> dict[str, str]:
        return self.board.stale

    @property
    def collapsed(self) -> set[str]:
        return self.board.collapsed

    # --- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield OneLine(id="status-line")
        yield SummaryLine(id="summary")
        with Container(id="main"):
            yield TaskTable(id="table", cell_source=self._cells_for)
            yield DetailPane(id="detail")
        yield FilterBar(id="filterbar")
        yield FittedFooter()  # whole keys only: narrow screens drop the last ones

    @property
    def table(self) -> TaskTable:
        return self.query_one(TaskTable)

    @property
    def detail(self) -> DetailPane:
        return self.query_one(DetailPane)

    @property
    def buttons(self) -> ButtonList:
        return self.query_one(ButtonList)

    def on_load(self) -> None:
        # Startup allocates ~100 objects per cached task; the collector would rescan the growing
        # heap several times (a quarter of a second at 10,000 tasks). Off until mounted, then
        # what startup built is frozen out of the collector's scans (gc.freeze; undone on exit).
        gc.disable()

    def on_mount(self) -> None:
        try:
            self._start()
        finally:  # on every path: an exception here must not leave the collector off
            gc.freeze()
            self._gc_thresholds = gc.get_threshold()
            gc.set_threshold(GC_YOUNG_THRESHOLD, *self._gc_thresholds[1:])
            gc.enable()

    def _start(self) -> None:
        if self.config.keymap:  # [keys] in the config, checked when it was loaded
            self.set_keymap(self.config.keymap)
        ids = self.watchlist.ids
        if self.cache is not None and ids:
            self.board.load(self.cache.load(ids))
        self.poller.track(ids, known=self.tasks)
        self.batch.start()
        self.images.start()
        self.toast_gate.start()
        self._apply_layout(self.size.width)
        self.rebuild_rows()
        self.table.focus()
        self.show_selected()
        self.render_status_line()
        self._start_ticking()
        if self.watchlist.warnings:
            self.notify(
                "\n".join(self.watchlist.warnings[:5]),
                title="Watchlist",
                severity="warning",
                markup=False,
            )
        if self.auto_poll:
            self._schedule_poll(0)

    def on_resize(self, event) -> None:
        self._apply_layout(event.size.width)
        self.render_status_line()  # what fits the new width

    def _apply_layout(self, width: int) -> None:
        beside = detail_beside(width)
        self.query_one("#main").set_class(bool(beside), "-wide")
        self.detail.styles.width = beside or "100%"
        self.detail.set_columns(not beside and width >= DETAIL_COLUMNS)
        keys, prompt_width = columns_for_width(width - beside)
        if self.table.set_layout(keys, prompt_width):
            self.sync_rows(self.row_ids())

    # --- rows -------------------------------------------------------------------------------

    def row_ids(self) -> list[str]:
        return [row.id for row in self.rows]

    def rebuild_rows(self) -> None:
        """Recompute the tree (watchlist changed, a fold toggled) and sync the table."""
        # The tree, filtered and sorted by the view state (mjdash/ui/batch.py, mjdash/view.py).
        self.rows = self.batch.arrange(self.watchlist.entries, self.collapsed)
        self.sync_rows(self.row_ids())

    def sync_rows(self, changed: Iterable[str], *, triage: bool = True) -> None:
        """Show `self.rows`; the rows in `changed` get new cells. TaskTable builds a row's cells
        (`_cells_for`) only while it is on screen, so 10,000 changed rows cost what 40 do.
        `triage=False`: no task entered or left SUCCESS, the triage count stands."""
        if triage:
            self.board.triage_version += 1
        self.table.show(self.row_ids(), changed)

    def _cells_for(self, task_id: str) -> dict[str, Text]:
        rows, by_id = self._row_index
        if rows is not self.rows:
            rows = self.rows
            by_id = {row.id: row for row in rows}
            self._row_index = (rows, by_id)
        row = by_id.get(task_id) or TreeRow(task_id, 0, False, False)
        return self.row_cells(row, self.now())

    def row_cells(self, row: TreeRow, now: datetime) -> dict[str, Text]:
        task_id = row.id
        task = self.tasks.get(task_id)
        folded = task_id in self.collapsed and row.has_children
        hidden = self._hidden_below(task_id) if folded else 0
        if row.depth:  # a nested parent shows only when folded ("└ ▸+3 "): the id keeps room
            prefix = row.branch + (fold_glyph(True, True, hidden) if folded else "")
        else:
            prefix = fold_glyph(row.has_children, folded, hidden)
        table = self.table
        id_cell_text = id_cell(task_id, prefix, table.id_width)
        prompt = prompt_cell(task)
        entry = self.watchlist.get(task_id) if "label" in table.column_keys else None
        cells = {
            "id": id_cell_text,
            "action": Text(one_line(task.action, 9) if task else ""),
            "status": status_text(
                task, not_found=task_id in self.not_found, stale=task_id in self.stale
            ),
            "progress": progress_text(task),
            "elapsed": elapsed_text(task, now, **self.board.clocks(task_id)),
            "label": Text(one_line(entry.label, COLUMNS["label"].width) if entry else ""),
            "prompt": Text(one_line(prompt, table.prompt_width)),
        }
        cells = self.batch.decorate_row(task_id, cells, now)
        cells = self.moves.decorate_row(task_id, cells)
        cells = self.marks.decorate_row(task_id, cells)
        return self.actions.decorate_row(task_id, cells)

    def _hidden_below(self, task_id: str) -> int:
        """How many watched tasks a folded row hides (its descendants)."""
        seen: set[str] = set()
        stack = list(self.watchlist.children(task_id))
        while stack:
            child = stack.pop()
            if child not in seen and child != task_id:
                seen.add(child)
                stack.extend(self.watchlist.children(child))
        return len(seen)

    # --- the selected task ----------------------------------------------------------------

    @property
    def selected_id(self) -> str | None:
        return self.table.selected_key

    @property
    def selected_task(self) -> Task | None:
        task_id = self.selected_id
        return self.tasks.get(task_id) if task_id else None

    def parent_of(self, task_id: str) -> str:
        """The row's parent: the watchlist's, or the server's parentId (trueai) for an id added
        by hand whose parent is watched (model/view.py, lineage_parent)."""
        entry = self.watchlist.get(task_id)
        own = entry.parent if entry else ""
        return lineage_parent(own, self.board.server_parent(task_id), self.watchlist.id_lookup())

    def children_of(self, task_id: str) -> tuple[str, ...]:
        """The watched children shown under `task_id`: the watchlist's, then the ones whose
        server parentId names it."""
        children = self.watchlist.children(task_id)  # indexed, not a scan of every entry
        linked = self.board.server_children(task_id)
        if linked:
            more = [c for c in linked if c not in children and self.parent_of(c) == task_id]
            children = (*children, *more)
        return children

    def detail_model(self, task_id: str) -> DetailModel:
        entry = self.watchlist.get(task_id)
        parent = self.parent_of(task_id)
        # Change times survive restarts: the journal restores them (mjdash/ui/batch.py).
        last_change = self.batch.last_change(task_id)
        task = self.tasks.get(task_id)
        return DetailModel(
            task_id=task_id,
            task=task,
            label=entry.label if entry else "",
            parent=parent,
            parent_watched=parent in self.watchlist,
            retry_of=entry.retry_of if entry else "",
            children=self.children_of(task_id),
            used=frozenset(entry.used) if entry else frozenset(),
            not_found=task_id in self.not_found,
            stale=self.stale.get(task_id, ""),
            last_change=last_change,
            dismissed=bool(entry and entry.dismissed),
            move_refusal=self.moves.refusal_of(task_id),
            refused=self.actions.refusals(task),
            **self.board.clocks(task_id),
            **self.batch.stall_fields(task_id),
        )

    def show_selected(self) -> None:
        task_id = self.selected_id
        if task_id is None:  # an empty watchlist, or a view that hides every row
            self.detail.show(None, self.now(), empty=self.batch.empty_view_text())
            return
        self.detail.show(self.detail_model(task_id), self.now())

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_selected()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if self.buttons.buttons or self.buttons.copies:  # "Copy prompt N" lines too
            self.buttons.focus()

    @on(OptionList.OptionSelected, "#buttons")
    def _button_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.actions.press_highlighted()

    # --- polling ----------------------------------------------------------------------------

    def _schedule_poll(self, delay: float) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
        # A zero-delay Timer divides by its interval: keep a small floor.
        delay = max(delay, 0.05)
        self._poll_timer = self.set_timer(delay, self._start_poll, name="poll")
        self._poll_armed = time.monotonic()
        self._poll_due = self._poll_armed + delay

    @property
    def next_poll_in(self) -> float | None:
        """Seconds until the waiting poll timer fires; None when none waits (a poll in flight,
        paused, auth failed, or polling only when asked)."""
        if self._poll_due is None:
            return None
        return max(0.0, self._poll_due - time.monotonic())

    @property
    def poll_in_flight(self) -> bool:
        """A poll was started and its answer is not applied yet."""
        return self._polling

    def poll(self, force: bool = False) -> Worker[None] | None:
        """Poll now (unless a poll is in flight: then once more right after it)."""
        self._force_next = self._force_next or force
        self.refresh_watchlist()  # ids another mjdash added or removed are polled now too
        if self._polling:
            self._poll_again = True
            return None
        self._polling = True
        self._poll_started = time.monotonic()
        force, self._force_next = self._force_next, False
        return self._poll_worker(force)

    def _start_poll(self) -> None:
        self._poll_due = None
        self.poll()

    @work(group="poll", exit_on_error=False)
    async def _poll_worker(self, force: bool) -> None:
        try:
            result = await self.poller.poll_once(force=force)
        except Exception as error:  # Textual would log repr(error), which may hold the key
            raise PollFailed(error) from None
        self.post_message(TasksPolled(result))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one handler for every worker group (poll, action, download, ...): a worker
        that raised becomes one line on screen, never a traceback (the error may hold the key,
        so only its kind is shown)."""
        if event.state is not WorkerState.ERROR:
            return
        worker = event.worker
        error = worker.error
        kind = getattr(error, "kind", type(error).__name__)
        if worker.group == "poll":
            # poll_once never raises; if it did, keep the app alive and try again later.
            self._polling = False
            self.say(f"poll failed: {kind}", severity="error")
            self._schedule_poll(30)
        else:
            self.say(f"{worker.name or worker.group} failed: {kind}", severity="error")

    def on_tasks_polled(self, message: TasksPolled) -> None:
        """A poll answer: the board merges it, then only the changed rows are redrawn."""
        result = message.result
        self._polling = False
        changes = self.board.apply(result, self.watchlist.id_lookup(), self.now().timestamp())
        if result.state is PollerState.OK and (result.tasks or result.requests):
            self._last_poll_at = self.now()  # "polled 3s ago" counts answers, not attempts
            self._server_reached = True
        # Member counts, the journal, new stalls, filter/sort re-placing (mjdash/ui/batch.py).
        self.batch.on_poll(changes)
        changed = changes.changed
        if changes.lineage:  # a hand-added id's parentId names a watched task: place it there
            self.rebuild_rows()
        if changed:
            # Off the UI thread, coalesced; not-found answers too (`status --cached` says so).
            missing = [i for i in result.not_found if i in self.not_found]
            if self._cache_writer is not None and (changes.fresh or missing):
                self._cache_writer.put(
                    changes.fresh, not_found=missing, urgent=changes.urgent or changes.finished
                )
            self.sync_rows(changed, triage=False)  # the board counted triage moves itself
            if self.selected_id in changed:
                self.show_selected()
        self._note_auth_switch()
        digest = self.batch.digest(changes.done, changes.failed, changes.modal)
        if digest is not None:
            self.post_message(digest)
        # The poll's frame is also the tick's (the clocks of the rows it did not change), and
        # the next ticks count from here: with polls every 2 s, two frames a poll, not three.
        self.tick()
        self._start_ticking()
        if self._poll_again:
            self._poll_again = False
            self._schedule_poll(0)
        elif result.state is PollerState.AUTH_FAILED or self.poller.paused:
            pass  # nothing more until the user presses r or p
        elif self.auto_poll:
            delay = result.next_delay
            if result.state is PollerState.OK:  # `+` pressed while this poll was in flight
                delay = min(delay, self.poller.interval)
            self._schedule_poll(delay)

    def _note_auth_switch(self) -> None:
        """Once: the server took the key only with the other header style (net/client.py);
        say which `auth` setting to save (the status line keeps a short hint)."""
        note = self.client.auth_note()
        if note and not self._auth_noted:
            self._auth_noted = True
            self.say(note, title="Auth setting", severity="warning", timeout=20)

    @on(TasksFinished)
    def _announce(self, message: TasksFinished) -> None:
        # Toast, bell and desktop notification, each per event as [notify] says (notify.py).
        self.batch.announce(message)

    # --- the once-a-second tick -------------------------------------------------------------

    def _start_ticking(self) -> None:
        """(Re)start the once-a-second tick, its first one a second from now."""
        if self._tick_timer is not None:
            self._tick_timer.stop()
        self._tick_timer = self.set_interval(1.0, self._on_tick_timer, name="tick")

    def _on_tick_timer(self) -> None:
        started = self._poll_started if self._polling else None
        if not tick_left_to_poll(time.monotonic(), self._poll_due, started):
            self.tick()

    def tick(self) -> None:
        try:
            table = self.table
        except NoMatches:
            return  # the screen is being torn down (a tick can fire during shutdown)
        now = self.now()
        changes = {}
        board = self.board
        for task_id in table.visible_keys():
            task = self.tasks.get(task_id)
            if task is not None and ticks(task):  # MODAL rows tick too (issue 16)
                changes[task_id] = {"elapsed": elapsed_text(task, now, **board.clocks(task_id))}
        if changes:
            table.update_cells(changes)
        self.batch.tick(now)  # new stalls, visible stall clocks, the ETA text
        # "(3 minutes ago)" moves for a finished task too; only changed clock lines are redrawn.
        self.detail.refresh_times(now)
        self.render_status_line()

    def _poll_view(self) -> PollView:
        last = self._last_poll_at
        polled_ago = None if last is None else max(0.0, (self.now() - last).total_seconds())
        return PollView(
            state=self.poller.state,
            line=self.poller.status_line(),
            polled_ago=polled_ago,
            interval=self.poller.interval,
            requests_per_minute=self.poller.requests_per_minute(),
            save_problem=self._save_problem,
            auth_hint=self.client.auth_switched or "",
            save_waiting=self.saver.waiting,
            unusable=len(self.stale),
            reached=self._server_reached,
        )

    def render_status_line(self) -> None:
        # Counting what is left to triage walks every task: the board recounts after a change.
        triage = self.board.triage_left(lambda: self.watchlist.entries)
        text = render_status_line(
            self._poll_view(),
            self.key_source,
            total=len(self.watchlist),
            missing=len(self.not_found),
            triage=triage,
            marked=len(self.marks),
            note=self.moves.progress,
            held=len(self.toast_gate.held),
            width=self.size.width,
        )
        if text != self._status_line_text:
            self._status_line_text = text
            self.query_one("#status-line", OneLine).update(text)

    # --- watchlist changes ------------------------------------------------------------------

    def add_ids(self, ids: list[str], *, parent: str = "") -> list[str]:
        """Watch `ids` (under `parent`); saved at once, in the save worker."""
        added = self.watchlist.add(ids, parent=parent)
        if not added:
            return added
        known = self.cache.load(added) if self.cache is not None else {}
        self.board.load(known, now=self.now().timestamp())
        self.poller.track(added, known=known)
        self.rebuild_rows()
        self.saver.save()  # what the user added goes to disk now, not after a debounce
        if self.auto_poll and not self.poller.paused:
            self.poll()
        return added

    def refresh_watchlist(self) -> None:
        """Merge what another mjdash (`mjdash add`, `submit`, a second dashboard) saved to the
        watchlist file: new ids get rows (from the cache, then polled), removed ids go. Cheap
        when the file did not change (one stat). An unreadable file is said once per state."""
        try:
            refresh = self.watchlist.refresh_from_disk()
        except WatchlistError as exc:
            problem = str(exc)
            if problem != self._refresh_problem:
                self._refresh_problem = problem
                self.say(problem, title="Watchlist file", severity="warning", timeout=10)
            return
        self._refresh_problem = ""
        if not refresh:
            return
        if refresh.added:
            known = self.cache.load(refresh.added) if self.cache is not None else {}
            self.board.load(known)
            self.poller.track(refresh.added, known=known)
        if refresh.removed:
            self.poller.untrack(refresh.removed)
            self.board.forget(refresh.removed)
        shown = self.selected_id
        self.rebuild_rows()
        self.sync_rows(refresh.changed)  # labels, used marks, dismissals drawn again
        # The detail follows the cursor: it moved off a removed row, or its task changed.
        selected = self.selected_id
        if selected is None or selected != shown or selected in refresh.changed:
            self.show_selected()
        self.render_status_line()

    def remove_ids(self, ids: list[str]) -> None:
        removed = self.watchlist.remove(ids)
        self.poller.untrack(removed)
        self.board.forget(removed)
        self.rebuild_rows()
        self.show_selected()
        self.saver.save()

    def save_soon(self) -> None:
        """Save view state, marks and labels half a second after the last change."""
        self.saver.save_soon()

    def say_when_saved(self, message: str) -> None:
        """A toast about a change to the watchlist, once the save it asked for ended: "Added 2
        tasks", or "Added 2 tasks (not saved yet: <why>)"."""

        def saved(problem: str) -> None:
            self.say(f"{message} (not saved yet: {problem})" if problem else message)

        self.saver.when_saved(saved)

    @on(SaveWaiting)
    def _save_waiting(self, message: SaveWaiting) -> None:
        self.saver.waiting = True
        self.render_status_line()

    @on(SaveFinished)
    def _save_finished(self, message: SaveFinished) -> None:
        self.saver.waiting = False
        self.show_save_result(message.problem)
        self.saver.finished(message.problem)

    def save_watchlist(self) -> bool:
        """Save on this thread and show the outcome (tests, scripts); the dashboard itself
        saves in the worker (`saver`). False when the save failed."""
        problem = ""
        try:
            self.watchlist.save()
        except WatchlistError as exc:
            problem = str(exc)
        self.show_save_result(problem)
        return not problem

    def show_save_result(self, problem: str) -> None:
        """The status line and a toast say a failed save; a save that worked clears them."""
        if problem:
            if problem != self._save_problem:
                self.notify(
                    f"{problem}\nYour ids are kept in memory; mjdash retries on the next change.",
                    title="Watchlist not saved",
                    severity="error",
                    markup=False,
                )
            self._save_problem = problem
            self.render_status_line()
            return
        self._save_problem = ""
        self.render_status_line()  # the problem and the lock wait are over
        before = self.batch.arranged_ids  # every id placed, shown or filtered out
        if set(self.watchlist.ids) != before:
            # Another mjdash changed the file: show its ids too.
            self.poller.track(self.watchlist.ids, known=self.tasks)
            self.rebuild_rows()

    def _handle_exception(self, error: Exception) -> None:
        # Textual's crash output lists every frame's locals, and the key can be one
        # (docs/reliability.md K1): exit with one redacted line instead (mjdash/ui/crash.py).
        gc.enable()  # a crash before on_mount ran must not leave the collector off either
        gc.set_threshold(*self._gc_thresholds)
        secrets = secrets_of(getattr(self, "client", None), getattr(self, "key_env", ""))
        super()._handle_exception(redacted(error, secrets))

    async def action_quit(self) -> None:
        """q: save first, in the worker, while the screen still answers (it says when the save
        waits for the lock); quit when the save ended. q again while it waits: quit now."""
        if self._quitting or not (self.watchlist.dirty or self.saver.busy):
            self.exit()
            return
        self._quitting = True

        def saved(problem: str) -> None:
            self.unsaved_problem = problem
            self.exit()

        self.saver.save()
        self.saver.when_saved(saved)

    async def on_unmount(self) -> None:
        # The screen is gone: nothing here may touch a widget. The cleanup runs whatever the
        # final save does.
        gc.unfreeze()
        gc.enable()
        gc.set_threshold(*self._gc_thresholds)
        try:
            self._final_save()
        finally:
            try:
                self.batch.close()  # the journal lines still queued
                if self._cache_writer is not None:
                    self._cache_writer.close()  # writes the snapshots still queued
                if self.cache is not None:
                    self.cache.close()
            finally:
                await self.client.aclose()

    def _final_save(self) -> None:
        """What is not on disk yet, saved without the screen; on failure the added ids go to
        `<watchlist>.unsaved` and `unsaved_problem` says why (the CLI prints both)."""
        if self.saver.busy and not self.unsaved_problem:
            # q twice while a save waits for another's lock: that save's outcome is the answer
            # (a failed one is not tried again: it would wait for the lock once more).
            if not self.saver.wait_idle():
                self.unsaved_problem = "mjdash quit while waiting for the watchlist lock"
            elif self.watchlist.dirty:
                self.unsaved_problem = self.saver.last_problem
        if self.watchlist.dirty and not self.unsaved_problem:
            try:
                self.watchlist.save()
            except WatchlistError as exc:
                self.unsaved_problem = str(exc)
        if self.unsaved_problem and not self.watchlist.dirty:
            self.unsaved_problem = ""  # a save that ended meanwhile wrote everything
        if self.unsaved_problem:
            with contextlib.suppress(OSError):  # the CLI tries again and prints the ids
                self.watchlist.write_unsaved()

    # --- actions ----------------------------------------------------------------------------

    def action_help(self) -> None:
        """Every key of the screen the user is on, grouped by purpose, as [keys] rebound them:
        the dashboard's (app, table, buttons, filter bar), or an open dialog's (its
        HELP_SCOPES names its part of mjdash/model/keys.py)."""
        scopes = getattr(self.screen, "HELP_SCOPES", ("main", "table", "buttons", "filter"))
        self.push_screen(HelpScreen(help_sections(scopes, self.config.keymap)))

    def action_back(self) -> None:
        """Esc backs out one level, the innermost first: the buttons -> the table, a filter ->
        cleared, marks -> cleared. (A dialog closes on its own Esc; the filter bar clears on
        its own Esc while typing.) Each step says whether it did something."""
        for step in (self._back_to_table, self._clear_filter, self._clear_marks):
            if step():
                return

    def _back_to_table(self) -> bool:
        if self.focused is self.table:
            return False
        self.table.focus()
        return True

    def _clear_filter(self) -> bool:
        if not self.batch.view.text:
            return False
        self.batch.filter_applied("", True)
        self.say("Filter cleared", timeout=2, key="view")
        return True

    def _clear_marks(self) -> bool:
        return self.marks.clear()  # ui/marks.py: whether there were any

    def action_help_quit(self) -> None:
        """Ctrl-C quits, with the same save as q (Textual's default only hints at ctrl+q).
        q never quits from a dialog: every dialog binds q (or types it) to close itself."""
        self.exit()

    def action_add(self) -> None:
        def added(ids: list[str] | None) -> None:
            if not ids:
                return
            new = self.add_ids(ids)
            already = len(ids) - len(new)
            message = f"Added {len(new)} task{'s' if len(new) != 1 else ''}"
            if already:
                message += f" ({already} already watched)"
            if new:
                self.table.select(new[0])
                self.say_when_saved(message)  # the toast comes once the ids are on disk
            else:
                self.say(message)

        self.push_screen(AddScreen(), callback=added)

    def action_remove(self) -> None:
        if self.marks.remove():  # the marked tasks, after asking
            return
        task_id = self.selected_id
        if task_id is None:
            return
        task = self.tasks.get(task_id)
        if (task is not None and task.is_terminal) or task_id in self.not_found:
            self.remove_ids([task_id])
            self.say_when_saved(f"Removed {task_id}")
            return
        question = Text("Stop watching ")
        question.append(task_id, style="bold")
        question.append("? It has not finished.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.remove_ids([task_id])
                self.say_when_saved(f"Removed {task_id}")

        self.push_screen(ConfirmScreen(question, yes="Remove"), callback=answered)

    def say(
        self,
        message: str,
        *,
        title: str = "",
        severity: str = "information",
        timeout: float | None = None,
        key: str = "",
    ) -> None:
        """A toast whose text is never read as markup: messages often quote server text.

        A `key` makes it replace the toast said with the same key before (twelve presses of
        `-` leave one "Polling every 2m" toast, not a column of twelve): the old notification
        is expired (its `timeout` set to 0), so Textual's rack drops it when the new one comes.
        """
        if not key:
            self.notify(message, title=title, severity=severity, timeout=timeout, markup=False)  # type: ignore[arg-type]
            return
        old = self._toasts.pop(key, None)
        if old is not None:
            old.timeout = 0  # expired: Notifications reaps it, the rack removes its toast
        notification = Notification(
            message,
            title,
            severity,  # type: ignore[arg-type]
            self.NOTIFICATION_TIMEOUT if timeout is None else timeout,
            markup=False,
        )
        self._toasts[key] = notification
        self.post_message(Notify(notification))

    def on_notify(self, message: Notify) -> None:
        """Every toast passes here: while a dialog is open it waits (ui/toasts.py), instead of
        being drawn over the dialog by Textual's own handler."""
        if not self.toast_gate.admit(message.notification):
            message.prevent_default()

    def copy_value(self, what: str, value: str, *, lines: bool = False) -> None:
        """Copy `value` (one line; `lines`: keep its lines, as for marked tasks)."""
        report = copy_text(self, value, lines=lines)
        shown = value.splitlines() or [""]
        if len(shown) > 3:
            shown = [*shown[:3], f"… {len(shown) - 3} more lines"]
        self.notify(
            "\n".join([*shown, report.describe()]),
            title=f"Copied {what}",
            severity="warning" if report.problem else "information",
            markup=False,
        )

    def action_copy_custom_id(self) -> None:
        copy = self.buttons.selected_copy  # a "Copy prompt N" line of a describe or shorten
        if copy is not None:
            self.copy_value(copy.name, copy.text)
            return
        button = self.buttons.selected_button
        if button is None:
            self.notify("This task has no buttons (yet).", severity="warning")
            return
        self.copy_value(f"{button.name} customId", button.custom_id)

    def action_copy_task_id(self) -> None:
        if self.marks.copy_ids():  # the marked tasks' ids, one a line
            return
        if self.selected_id:
            self.copy_value("task id", self.selected_id)

    def action_copy_prompt(self) -> None:
        task = self.selected_task
        if task is None or not task.prompt:
            self.say("This task has no prompt (yet).", severity="warning")
            return
        self.copy_value("prompt", task.prompt)

    def action_copy_image_url(self) -> None:
        task = self.selected_task
        if task is None or not task.image_url:
            self.notify("No image URL for this task (yet).", severity="warning")
            return
        self.copy_value("image URL", task.image_url)

    def action_open_image(self) -> None:
        """o: a video task's first video, else the image, in the browser."""
        task = self.selected_task
        url = ((task.video_links or (task.image_url,))[0]) if task is not None else ""
        if not url:
            self.notify("No image URL for this task (yet).", severity="warning")
            return
        problem = url_refusal(url)
        if problem:
            self.say(f"Not opened: {problem}", severity="error")
            return
        no_browser = browser_problem()
        if no_browser:  # "Opening …" would promise what cannot happen here
            self.say(no_browser, severity="warning")
            return
        self.open_url(url)
        self.say(f"Opening {url}")

    def reread_key(self) -> None:
        """A key from a key file is read again (the user fixed the file after "key
        rejected"); a key from the environment cannot change while mjdash runs."""
        if not self.key_file:
            return
        try:
            key = read_key(self.config, {ENV_KEY_FILE: self.key_file})
        except ConfigError as exc:
            self.say(str(exc), title="Key file", severity="error", key="key")
            return
        self.client.replace_key(key)

    def action_poll_now(self) -> None:
        self.reread_key()
        self.poll(force=True)
        self.say("Polling now", timeout=1.5, key="poll")

    def action_toggle_pause(self) -> None:
        self.poller.paused = not self.poller.paused
        if not self.poller.paused and self.auto_poll:
            self._schedule_poll(0)
        self.render_status_line()

    def _step_interval(self, direction: int) -> None:
        current = self.poller.interval
        if direction < 0:
            options = [s for s in INTERVAL_STEPS if s < current]
            new = options[-1] if options else INTERVAL_STEPS[0]
        else:
            options = [s for s in INTERVAL_STEPS if s > current]
            new = options[0] if options else INTERVAL_STEPS[-1]
        self.poller.interval = new
        self.say(f"Polling every {new:g}s", timeout=2, key="interval")
        self._rearm_poll()
        self.render_status_line()

    def _rearm_poll(self) -> None:
        """The waiting poll is due one new interval after its timer was armed, or sooner if it
        already was: from 2 min down to 1 s, the next poll is at most 1 s away (not the rest of
        the 2 minutes); slowing down lets the current wait run out, the next one is longer.
        A poll in flight arms the timer itself when it answers."""
        if self._poll_due is None or self._polling or self.poller.paused or not self.auto_poll:
            return
        due = self._poll_armed + self.poller.interval
        if due >= self._poll_due:
            return
        armed = self._poll_armed
        self._schedule_poll(max(0.0, due - time.monotonic()))
        self._poll_armed = armed  # the next change counts from the same start

    def action_faster(self) -> None:
        self._step_interval(-1)

    def action_slower(self) -> None:
        self._step_interval(+1)

    @on(FilterBar.Applied)
    def _filter_applied(self, event: FilterBar.Applied) -> None:
        self.batch.filter_applied(event.text, event.done)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A feature may disable its own actions (e.g. Esc stops a move only while one runs)."""
        for feature in self.__dict__.get("features", ()):
            check = getattr(feature, "check_action", None)
            if check is not None and (verdict := check(action, parameters)) is not True:
                return verdict
        return True

    def __getattr__(self, name: str):
        """A binding's action the app does not define is run by the feature that declares it:
        features (ui/actions.py, ui/batch.py, ...) keep their BINDINGS and `action_*` methods
        together, and the app's BINDINGS list theirs. Only `action_*` names are looked up."""
        if name.startswith("action_"):
            for feature in self.__dict__.get("features", ()):
                method = getattr(feature, name, None)
                if method is not None:
                    return method
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def on_contact_sheet_press_button(self, message: ContactSheet.PressButton) -> None:
        self.images.press_from_sheet(message)  # mjdash/ui/images.py

    def action_toggle_collapse(self) -> None:
        task_id = self.selected_id
        if task_id is None:
            return
        if self.board.toggle_fold(task_id, bool(self.children_of(task_id))):
            self.rebuild_rows()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding):
                keys = binding.key_display or binding.key.split(",")[0]
                yield SystemCommand(
                    binding.description,
                    f"key {keys}",
                    lambda action=binding.action: self.run_action(action),
                )
