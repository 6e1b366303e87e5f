"""MjdashApp: wiring, bindings, the poll loop, saving.

The poll loop re-arms after each poll completes (dolphie's shape): a slow server slows the
cadence instead of stacking requests. Each poll result updates only the rows that changed.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Container
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, OptionList, Static
from textual.worker import Worker, WorkerState

from mjdash.model.board import Board
from mjdash.model.task import Task
from mjdash.model.urls import url_refusal
from mjdash.model.view import TreeRow
from mjdash.net.client import MidjourneyClient
from mjdash.net.poller import Poller, PollerState
from mjdash.store.cache import TaskCache
from mjdash.store.cache_writer import CacheWriter
from mjdash.store.config import Config
from mjdash.store.journal import Journal
from mjdash.store.watchlist import Watchlist, WatchlistError
from mjdash.ui.actions import Actions
from mjdash.ui.batch import BatchFeatures
from mjdash.ui.cells import (
    elapsed_text,
    one_line,
    progress_text,
    short_id,
    status_text,
)
from mjdash.ui.clipboard import copy_text
from mjdash.ui.contact_sheet import ContactSheet
from mjdash.ui.crash import PollFailed, redacted, secrets_of
from mjdash.ui.detail import ButtonList, DetailModel, DetailPane
from mjdash.ui.filterbar import FilterBar
from mjdash.ui.images import ImageFeatures
from mjdash.ui.messages import TasksFinished, TasksPolled
from mjdash.ui.screens import AddScreen, ConfirmScreen, HelpScreen
from mjdash.ui.status_line import PollView, render_status_line
from mjdash.ui.summary import SummaryLine
from mjdash.ui.table import ID_WIDTH, TaskTable, columns_for_width

INTERVAL_STEPS = (1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0)
WIDE = 120
SAVE_DELAY = 0.5
TICK_MERGE = 0.3  # s: a tick this close to a poll is left to the poll (one frame, not two)


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
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("a", "add", "Add", id="add"),
        Binding("d,delete", "remove", "Remove", id="remove"),
        Binding("c", "copy_custom_id", "Copy customId", id="copy_custom_id"),
        Binding("y", "copy_task_id", "Copy id", id="copy_task_id"),
        Binding("u", "copy_image_url", "Copy URL", show=False, id="copy_image_url"),
        Binding("o", "open_image", "Open image", show=False, id="open_image"),
        Binding("r", "poll_now", "Refresh", id="poll_now"),
        Binding("p", "toggle_pause", "Pause", id="toggle_pause"),
        Binding("plus,equals_sign", "faster", "Faster", key_display="+", show=False, id="faster"),
        Binding("minus", "slower", "Slower", key_display="-", show=False, id="slower"),
        Binding("space", "toggle_collapse", "Fold", show=False, id="toggle_collapse"),
        # The features' own keys follow, in this order: acting on tasks (ui/actions.py), the
        # batch at a glance (ui/batch.py), images (ui/images.py). `__getattr__` runs them.
        *Actions.BINDINGS,
        *BatchFeatures.BINDINGS,
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
        self.config = config
        self.client = client
        self.poller = poller
        self.watchlist = watchlist
        self.cache = cache
        self.now = now or (lambda: datetime.now(UTC))
        self.auto_poll = auto_poll
        self.sub_title = subtitle
        self.key_env = config.api.key_env
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
        self._poll_started = 0.0  # monotonic time the poll in flight started
        self._tick_timer: Timer | None = None
        self._polling = False
        self._poll_again = False
        self._force_next = False
        self._last_poll_at: datetime | None = None  # on the app's clock (`now`): tests fix it
        self._save_timer: Timer | None = None
        self._save_problem = ""
        self._status_line_text: Text | None = None
        self.actions = Actions(self)
        self.batch = BatchFeatures(self, journal=journal)
        self.images = ImageFeatures(
            self,
            press=self.actions.request_press,
            select=self.actions.action_select_task,
            download_dir=self.batch.download_dir,
        )
        self.features = (self.actions, self.batch, self.images)  # they run their bindings' actions

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
        yield Static(id="status-line")
        yield SummaryLine(id="summary")
        with Container(id="main"):
            yield TaskTable(id="table", cell_source=self._cells_for)
            yield DetailPane(id="detail")
        yield FilterBar(id="filterbar")
        yield Footer()

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
            gc.enable()

    def _start(self) -> None:
        ids = self.watchlist.ids
        if self.cache is not None and ids:
            self.board.load(self.cache.load(ids))
        self.poller.track(ids, known=self.tasks)
        self.batch.start()
        self.images.start()
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

    def _apply_layout(self, width: int) -> None:
        wide = width >= WIDE
        self.query_one("#main").set_class(wide, "-wide")
        detail_width = max(40, int(width * 0.35))
        table_width = width - detail_width if wide else width
        self.detail.styles.width = detail_width if wide else "100%"
        keys, prompt_width = columns_for_width(table_width)
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
        if row.depth:
            prefix = row.branch
        elif row.has_children:
            prefix = "▸ " if task_id in self.collapsed else "▾ "
        else:
            prefix = ""
        if len(prefix) > ID_WIDTH - 5:  # deep lineages: keep room for the id's tail
            prefix = "…" + prefix[-(ID_WIDTH - 6) :]
        tail = short_id(task_id)
        room = ID_WIDTH - len(prefix)
        if len(tail) > room:
            tail = "…" + task_id[-(room - 1) :]
        id_cell = Text(prefix, style="grey50")
        id_cell.append(tail)
        prompt = task.prompt if task else ""
        cells = {
            "id": id_cell,
            "action": Text(one_line(task.action, 9) if task else ""),
            "status": status_text(
                task, not_found=task_id in self.not_found, stale=task_id in self.stale
            ),
            "progress": progress_text(task),
            "elapsed": elapsed_text(task, now),
            "prompt": Text(one_line(prompt, self.table.prompt_width)),
        }
        cells = self.batch.decorate_row(task_id, cells, now)
        return self.actions.decorate_row(task_id, cells)

    # --- the selected task ----------------------------------------------------------------

    @property
    def selected_id(self) -> str | None:
        return self.table.selected_key

    @property
    def selected_task(self) -> Task | None:
        task_id = self.selected_id
        return self.tasks.get(task_id) if task_id else None

    def detail_model(self, task_id: str) -> DetailModel:
        entry = self.watchlist.get(task_id)
        children = self.watchlist.children(task_id)  # indexed, not a scan of every entry
        # Change times survive restarts: the journal restores them (mjdash/ui/batch.py).
        last_change = self.batch.last_change(task_id)
        return DetailModel(
            task_id=task_id,
            task=self.tasks.get(task_id),
            label=entry.label if entry else "",
            parent=entry.parent if entry else "",
            parent_watched=bool(entry and entry.parent in self.watchlist),
            children=children,
            used=frozenset(entry.used) if entry else frozenset(),
            not_found=task_id in self.not_found,
            stale=self.stale.get(task_id, ""),
            last_change=last_change,
            dismissed=bool(entry and entry.dismissed),
            **self.batch.stall_fields(task_id),
        )

    def show_selected(self) -> None:
        task_id = self.selected_id
        self.detail.show(self.detail_model(task_id) if task_id else None, self.now())

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_selected()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if self.buttons.buttons:
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
        self._poll_due = time.monotonic() + delay

    def poll(self, force: bool = False) -> Worker[None] | None:
        """Poll now (unless a poll is in flight: then once more right after it)."""
        self._force_next = self._force_next or force
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
        if result.tasks or result.requests:
            self._last_poll_at = self.now()
        # Member counts, the journal, new stalls, filter/sort re-placing (mjdash/ui/batch.py).
        self.batch.on_poll(changes)
        changed = changes.changed
        if changed:
            if self._cache_writer is not None and changes.fresh:  # off the UI thread, coalesced
                self._cache_writer.put(changes.fresh, urgent=changes.urgent or changes.finished)
            self.sync_rows(changed, triage=False)  # the board counted triage moves itself
            if self.selected_id in changed:
                self.show_selected()
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
            self._schedule_poll(result.next_delay)

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
        for task_id in table.visible_keys():
            task = self.tasks.get(task_id)
            if task is not None and task.status.is_running:
                changes[task_id] = {"elapsed": elapsed_text(task, now)}
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
        )

    def render_status_line(self) -> None:
        # Counting what is left to triage walks every task: the board recounts after a change.
        triage = self.board.triage_left(lambda: self.watchlist.entries)
        text = render_status_line(
            self._poll_view(),
            self.key_env,
            total=len(self.watchlist),
            missing=len(self.not_found),
            triage=triage,
        )
        if text != self._status_line_text:
            self._status_line_text = text
            self.query_one("#status-line", Static).update(text, layout=False)  # always 1 line

    # --- watchlist changes ------------------------------------------------------------------

    def add_ids(self, ids: list[str], *, parent: str = "") -> list[str]:
        added = self.watchlist.add(ids, parent=parent)
        if not added:
            return added
        known = self.cache.load(added) if self.cache is not None else {}
        self.board.load(known)
        self.poller.track(added, known=known)
        self.rebuild_rows()
        self.save_soon()
        if self.auto_poll and not self.poller.paused:
            self.poll()
        return added

    def remove_ids(self, ids: list[str]) -> None:
        removed = self.watchlist.remove(ids)
        self.poller.untrack(removed)
        self.board.forget(removed)
        self.rebuild_rows()
        self.show_selected()
        self.save_soon()

    def save_soon(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY, self.save_watchlist, name="save")

    def save_watchlist(self) -> bool:
        if not self.watchlist.dirty:
            return True
        try:
            self.watchlist.save()
        except WatchlistError as exc:
            problem = str(exc)
            if problem != self._save_problem:
                self.notify(
                    f"{problem}\nYour ids are kept in memory; mjdash retries on the next change.",
                    title="Watchlist not saved",
                    severity="error",
                    markup=False,
                )
            self._save_problem = problem
            self.render_status_line()
            return False
        if self._save_problem:
            self._save_problem = ""
            self.render_status_line()
        before = self.batch.arranged_ids  # every id placed, shown or filtered out
        if set(self.watchlist.ids) != before:
            # Another mjdash changed the file: show its ids too.
            self.poller.track(self.watchlist.ids, known=self.tasks)
            self.rebuild_rows()
        return True

    def _handle_exception(self, error: Exception) -> None:
        # Textual's crash output lists every frame's locals, and the key can be one
        # (docs/reliability.md K1): exit with one redacted line instead (mjdash/ui/crash.py).
        gc.enable()  # a crash before on_mount ran must not leave the collector off either
        secrets = secrets_of(getattr(self, "client", None), getattr(self, "key_env", ""))
        super()._handle_exception(redacted(error, secrets))

    async def on_unmount(self) -> None:
        gc.unfreeze()
        gc.enable()
        self.save_watchlist()
        self.batch.close()  # the journal lines still queued
        if self._cache_writer is not None:
            self._cache_writer.close()  # writes the snapshots still queued
        if self.cache is not None:
            self.cache.close()
        await self.client.aclose()

    # --- actions ----------------------------------------------------------------------------

    def action_help(self) -> None:
        rows = [
            ("j / k / ↑ / ↓", "move"),
            ("enter", "focus the task's buttons; on a button: press it"),
            ("tab", "switch between the table and the buttons"),
            ("space", "fold or unfold a task's children"),
        ]
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action != "toggle_collapse":
                keys = binding.key_display or binding.key.replace(",", " / ")
                rows.append((keys, binding.description))
        self.push_screen(HelpScreen(rows))

    def action_add(self) -> None:
        def added(ids: list[str] | None) -> None:
            if not ids:
                return
            new = self.add_ids(ids)
            already = len(ids) - len(new)
            message = f"Added {len(new)} task{'s' if len(new) != 1 else ''}"
            if already:
                message += f" ({already} already watched)"
            self.notify(message, markup=False)
            if new:
                self.table.select(new[0])

        self.push_screen(AddScreen(), callback=added)

    def action_remove(self) -> None:
        task_id = self.selected_id
        if task_id is None:
            return
        task = self.tasks.get(task_id)
        if (task is not None and task.is_terminal) or task_id in self.not_found:
            self.remove_ids([task_id])
            self.say(f"Removed {task_id}")
            return
        question = Text("Stop watching ")
        question.append(task_id, style="bold")
        question.append("? It has not finished.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.remove_ids([task_id])
                self.say(f"Removed {task_id}")

        self.push_screen(ConfirmScreen(question, yes="Remove"), callback=answered)

    def say(
        self,
        message: str,
        *,
        title: str = "",
        severity: str = "information",
        timeout: float | None = None,
    ) -> None:
        """A toast whose text is never read as markup: messages often quote server text."""
        self.notify(message, title=title, severity=severity, timeout=timeout, markup=False)  # type: ignore[arg-type]

    def copy_value(self, what: str, value: str) -> None:
        report = copy_text(self, value)
        self.notify(
            f"{value}\n{report.describe()}",
            title=f"Copied {what}",
            severity="warning" if report.problem else "information",
            markup=False,
        )

    def action_copy_custom_id(self) -> None:
        button = self.buttons.selected_button
        if button is None:
            self.notify("This task has no buttons (yet).", severity="warning")
            return
        self.copy_value(f"{button.name} customId", button.custom_id)

    def action_copy_task_id(self) -> None:
        if self.selected_id:
            self.copy_value("task id", self.selected_id)

    def action_copy_image_url(self) -> None:
        task = self.selected_task
        if task is None or not task.image_url:
            self.notify("No image URL for this task (yet).", severity="warning")
            return
        self.copy_value("image URL", task.image_url)

    def action_open_image(self) -> None:
        task = self.selected_task
        if task is None or not task.image_url:
            self.notify("No image URL for this task (yet).", severity="warning")
            return
        problem = url_refusal(task.image_url)
        if problem:
            self.say(f"Not opened: {problem}", severity="error")
            return
        self.open_url(task.image_url)
        self.say(f"Opening {task.image_url}")

    def action_poll_now(self) -> None:
        self.poll(force=True)
        self.notify("Polling now", timeout=1.5)

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
        self.say(f"Polling every {new:g}s", timeout=2)
        self.render_status_line()

    def action_faster(self) -> None:
        self._step_interval(-1)

    def action_slower(self) -> None:
        self._step_interval(+1)

    @on(FilterBar.Applied)
    def _filter_applied(self, event: FilterBar.Applied) -> None:
        self.batch.filter_applied(event.text, event.done)

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
        if self.board.toggle_fold(task_id, bool(self.watchlist.children(task_id))):
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
