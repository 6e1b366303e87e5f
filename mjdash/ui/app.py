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
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, OptionList, Static
from textual.worker import Worker, WorkerState

from mjdash.model.task import Status, Task
from mjdash.model.view import TreeRow
from mjdash.net.client import MidjourneyClient
from mjdash.net.poller import Poller, PollerState, PollResult
from mjdash.net.urls import url_refusal
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
from mjdash.ui.contact_sheet import ContactSheet, find_button
from mjdash.ui.crash import PollFailed, redacted, secrets_of
from mjdash.ui.detail import ButtonList, DetailModel, DetailPane
from mjdash.ui.filterbar import FilterBar
from mjdash.ui.messages import TasksFinished, TasksPolled
from mjdash.ui.screens import AddScreen, ConfirmScreen, HelpScreen
from mjdash.ui.status_line import PollView, render_status_line
from mjdash.ui.summary import SummaryLine
from mjdash.ui.table import ID_WIDTH, TaskTable, columns_for_width

INTERVAL_STEPS = (1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0)
WIDE = 120
SAVE_DELAY = 0.5
TICK_MERGE = 0.3  # s: a tick this close to a poll is left to the poll (one frame, not two)


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
        # Acting on tasks (mjdash/ui/actions.py): enter on a button presses it.
        Binding("1", "press_upscale(1)", "Press U1", show=False, id="press_u1"),
        Binding("2", "press_upscale(2)", "Press U2", show=False, id="press_u2"),
        Binding("3", "press_upscale(3)", "Press U3", show=False, id="press_u3"),
        Binding("4", "press_upscale(4)", "Press U4", show=False, id="press_u4"),
        Binding(
            "exclamation_mark",
            "press_variation(1)",
            "Press V1",
            key_display="!",
            show=False,
            id="press_v1",
        ),
        Binding("at", "press_variation(2)", "Press V2", key_display="@", show=False, id="press_v2"),
        Binding(
            "number_sign",
            "press_variation(3)",
            "Press V3",
            key_display="#",
            show=False,
            id="press_v3",
        ),
        Binding(
            "dollar_sign",
            "press_variation(4)",
            "Press V4",
            key_display="$",
            show=False,
            id="press_v4",
        ),
        Binding("z", "choose_zoom", "Zoom…", show=False, id="choose_zoom"),
        Binding("P", "choose_pan", "Pan…", show=False, id="choose_pan"),
        Binding("m", "finish_modal", "MODAL prompt", show=False, id="finish_modal"),
        Binding("C", "copy_as", "Copy as…", show=False, id="copy_as"),
        Binding("n", "next_triage", "Next to triage", id="next_triage"),
        Binding("x", "toggle_dismissed", "Dismiss", show=False, id="toggle_dismissed"),
        Binding("h", "jump_parent", "Parent", show=False, id="jump_parent"),
        # The batch at a glance (mjdash/ui/batch.py): filter, sort, images, export.
        # Priority: keys typed right after "/" must reach the filter (batch.open_filter skips
        # when a text field has the focus or a dialog is open).
        Binding("slash", "filter", "Filter", key_display="/", priority=True, id="filter"),
        Binding(
            "f", "cycle_show", "Show: all/unfinished/failed/stalled", show=False, id="cycle_show"
        ),
        Binding("s", "cycle_sort", "Sort", show=False, id="cycle_sort"),
        Binding("D", "download_images", "Download image(s)", show=False, id="download_images"),
        Binding("E", "export", "Export view", show=False, id="export"),
        Binding("v", "toggle_preview", "Image preview", show=False, id="toggle_preview"),
        Binding("i", "cycle_preview", "Grid image U1-U4", show=False, id="cycle_preview"),
        Binding("t", "contact_sheet", "Contact sheet", show=False, id="contact_sheet"),
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

        self.tasks: dict[str, Task] = {}
        self.not_found: set[str] = set()
        self.stale: dict[str, str] = {}
        self.collapsed: set[str] = set()
        self._rows: list[TreeRow] = []
        self._row_index: tuple[list[TreeRow], dict[str, TreeRow]] = ([], {})
        self._triage_version = 0  # bumped when the triage count may have moved: recounted then
        self._triage_counted: tuple[int, int] | None = None  # (triage version, tasks to triage)
        self._cache_writer = CacheWriter(cache) if cache is not None else None
        self._poll_timer: Timer | None = None
        self._poll_due: float | None = None  # monotonic time the poll timer fires
        self._poll_started = 0.0  # monotonic time the poll in flight started
        self._tick_timer: Timer | None = None
        self._polling = False
        self._poll_again = False
        self._force_next = False
        self._last_result: PollResult | None = None
        self._last_poll_at: float | None = None
        self._save_timer: Timer | None = None
        self._save_problem = ""
        self._status_line_text: Text | None = None
        self.actions = Actions(self)
        self.batch = BatchFeatures(self, journal=journal)

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
        ids = self.watchlist.ids
        if self.cache is not None and ids:
            self.tasks.update(self.cache.load(ids))
        self.poller.track(ids, known=self.tasks)
        self.batch.start()
        self._apply_layout(self.size.width)
        self._rebuild_rows()
        self.table.focus()
        self._show_selected()
        self._render_status_line()
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
        gc.freeze()
        gc.enable()

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
            self._sync_rows(self._rows_ids())

    # --- rows -------------------------------------------------------------------------------

    def _rows_ids(self) -> list[str]:
        return [row.id for row in self._rows]

    def _rebuild_rows(self) -> None:
        """Recompute the tree (watchlist changed, a fold toggled) and sync the table."""
        # The tree, filtered and sorted by the view state (mjdash/ui/batch.py, mjdash/view.py).
        self._rows = self.batch.arrange(self.watchlist.entries, self.collapsed)
        self._sync_rows(self._rows_ids())

    def _sync_rows(self, changed: Iterable[str], *, triage: bool = True) -> None:
        """Show `self._rows`; the rows in `changed` get new cells. TaskTable builds a row's cells
        (`_cells_for`) only while it is on screen, so 10,000 changed rows cost what 40 do.
        `triage=False`: no task entered or left SUCCESS, the triage count stands."""
        if triage:
            self._triage_version += 1
        self.table.show(self._rows_ids(), changed)

    def _cells_for(self, task_id: str) -> dict[str, Text]:
        rows, by_id = self._row_index
        if rows is not self._rows:
            rows = self._rows
            by_id = {row.id: row for row in rows}
            self._row_index = (rows, by_id)
        row = by_id.get(task_id) or TreeRow(task_id, 0, False, False)
        return self._row_cells(row, self.now())

    def _row_cells(self, row: TreeRow, now: datetime) -> dict[str, Text]:
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

    def _detail_model(self, task_id: str) -> DetailModel:
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

    def _show_selected(self) -> None:
        task_id = self.selected_id
        self.detail.show(self._detail_model(task_id) if task_id else None, self.now())

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_selected()

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
        if event.worker.group == "poll" and event.state is WorkerState.ERROR:
            # poll_once never raises; if it did, keep the app alive and try again later.
            self._polling = False
            error = event.worker.error
            kind = getattr(error, "kind", type(error).__name__)
            self.say(f"poll failed: {kind}", severity="error")
            self._schedule_poll(30)

    @on(TasksPolled)
    def _apply_poll(self, message: TasksPolled) -> None:
        result = message.result
        self._polling = False
        self._last_result = result
        changed: list[str] = []
        fresh: dict[str, Task] = {}  # the new snapshots, for the cache
        done: list[str] = []
        failed: list[str] = []
        modal: list[str] = []
        watched = self.watchlist.id_lookup()
        tasks, stale, not_found = self.tasks, self.stale, self.not_found  # 10,000 rounds
        success = Status.SUCCESS
        triage = False  # did a task enter or leave SUCCESS (the status line's triage count)?
        urgent = False  # a first answer that is final: cached within a second (cache_writer.py)
        for task_id, task in result.tasks.items():
            if task_id not in watched:
                continue
            old = tasks.get(task_id)
            # A row marked stale or "not found" must be redrawn even if the task is unchanged.
            marked = task_id in stale or task_id in not_found
            if old is task and not marked:
                continue  # the client hands back the same Task for an unchanged answer
            if marked:
                stale.pop(task_id, None)
                not_found.discard(task_id)
            # (A different status or progress settles it before comparing every field.)
            status = task.status
            if not marked and (
                old is not None
                and old.status is status
                and old.progress == task.progress
                and old == task
            ):
                continue  # an equal answer parsed anew
            tasks[task_id] = task
            changed.append(task_id)
            fresh[task_id] = task
            if old is None:
                triage = triage or status is success
                urgent = urgent or not task.needs_polling
            elif old.status is not status:
                triage = triage or status is success or old.status is success
                if status is success:
                    done.append(task_id)
                elif status in (Status.FAILURE, Status.CANCEL):
                    failed.append(task_id)
                elif status is Status.MODAL:
                    modal.append(task_id)
            elif status is success:
                triage = True  # its buttons may have changed
        for task_id in result.not_found:
            if task_id in watched and task_id not in not_found:
                not_found.add(task_id)
                changed.append(task_id)
        for task_id, reason in result.bad.items():
            if task_id in watched and stale.get(task_id) != reason:
                stale[task_id] = reason
                changed.append(task_id)
        if result.tasks or result.requests:
            self._last_poll_at = time.monotonic()
        # Stall clocks, the journal, the summary, filter/sort re-placing (mjdash/ui/batch.py).
        self.batch.on_poll(changed)
        if changed:
            if self._cache_writer is not None and fresh:  # written off the UI thread, coalesced
                urgent = urgent or bool(done or failed or modal)
                self._cache_writer.put(fresh, urgent=urgent)
            self._sync_rows(changed, triage=triage)
            if self.selected_id in changed:
                self._show_selected()
        digest = self.batch.digest(done, failed, modal)  # + new stalls, "batch complete"
        if digest is not None:
            self.post_message(digest)
        # The poll's frame is also the tick's (the clocks of the rows it did not change), and
        # the next ticks count from here: with polls every 2 s, two frames a poll, not three.
        self._tick()
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
        # A poll about to start (or just started) ticks when its answer is applied: one frame
        # instead of two a few milliseconds apart. A slow poll does not hold the clocks back.
        now = time.monotonic()
        due = self._poll_due
        if (due is not None and due - now < TICK_MERGE) or (
            self._polling and now - self._poll_started < TICK_MERGE
        ):
            return
        self._tick()

    def _tick(self) -> None:
        now = self.now()
        changes = {}
        for task_id in self.table.visible_keys():
            task = self.tasks.get(task_id)
            if task is not None and task.status.is_running:
                changes[task_id] = {"elapsed": elapsed_text(task, now)}
        if changes:
            self.table.update_cells(changes)
        self.batch.tick(now)  # new stalls, visible stall clocks, the ETA text
        # "(3 minutes ago)" moves for a finished task too; only changed clock lines are redrawn.
        self.detail.refresh_times(now)
        self._render_status_line()

    def _poll_view(self) -> PollView:
        polled_ago = None if self._last_poll_at is None else time.monotonic() - self._last_poll_at
        return PollView(
            state=self.poller.state,
            line=self.poller.status_line(),
            polled_ago=polled_ago,
            interval=self.poller.interval,
            requests_per_minute=self.poller.requests_per_minute(),
            save_problem=self._save_problem,
        )

    def _render_status_line(self) -> None:
        # Counting what is left to triage walks every task: only after a change, not per tick.
        if self._triage_counted is None or self._triage_counted[0] != self._triage_version:
            self._triage_counted = (self._triage_version, self.actions.count())
        text = render_status_line(
            self._poll_view(),
            self.key_env,
            total=len(self.watchlist),
            missing=len(self.not_found),
            triage=self._triage_counted[1],
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
        self.tasks.update(known)
        self.poller.track(added, known=known)
        self._rebuild_rows()
        self._save_soon()
        if self.auto_poll and not self.poller.paused:
            self.poll()
        return added

    def remove_ids(self, ids: list[str]) -> None:
        removed = self.watchlist.remove(ids)
        self.poller.untrack(removed)
        for task_id in removed:
            self.tasks.pop(task_id, None)
            self.not_found.discard(task_id)
            self.stale.pop(task_id, None)
        self._rebuild_rows()
        self._show_selected()
        self._save_soon()

    def _save_soon(self) -> None:
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
            self._render_status_line()
            return False
        if self._save_problem:
            self._save_problem = ""
            self._render_status_line()
        before = self.batch.arranged_ids  # every id placed, shown or filtered out
        if set(self.watchlist.ids) != before:
            # Another mjdash changed the file: show its ids too.
            self.poller.track(self.watchlist.ids, known=self.tasks)
            self._rebuild_rows()
        return True

    def _handle_exception(self, error: Exception) -> None:
        # Textual's crash output lists every frame's locals, and the key can be one (K1):
        # exit with one redacted line instead (mjdash/ui/crash.py).
        secrets = secrets_of(getattr(self, "client", None), getattr(self, "key_env", ""))
        super()._handle_exception(redacted(error, secrets))

    async def on_unmount(self) -> None:
        gc.unfreeze()
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

    def _copy(self, what: str, value: str) -> None:
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
        self._copy(f"{button.name} customId", button.custom_id)

    def action_copy_task_id(self) -> None:
        if self.selected_id:
            self._copy("task id", self.selected_id)

    def action_copy_image_url(self) -> None:
        task = self.selected_task
        if task is None or not task.image_url:
            self.notify("No image URL for this task (yet).", severity="warning")
            return
        self._copy("image URL", task.image_url)

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
        self._render_status_line()

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
        self._render_status_line()

    def action_faster(self) -> None:
        self._step_interval(-1)

    def action_slower(self) -> None:
        self._step_interval(+1)

    def action_press_upscale(self, number: int) -> None:
        self.actions.press_numbered("upscale", number)

    def action_press_variation(self, number: int) -> None:
        self.actions.press_numbered("variation", number)

    def action_choose_zoom(self) -> None:
        self.actions.choose("zoom")

    def action_choose_pan(self) -> None:
        self.actions.choose("pan")

    def action_finish_modal(self) -> None:
        self.actions.finish_modal()

    def action_copy_as(self) -> None:
        self.actions.copy_as()

    def action_next_triage(self) -> None:
        self.actions.next()

    def action_toggle_dismissed(self) -> None:
        self.actions.toggle_dismissed()

    def action_jump_parent(self) -> None:
        self.actions.jump_to_parent()

    def action_select_task(self, task_id: str) -> None:
        self.actions.select_task(task_id)

    # The batch at a glance (mjdash/ui/batch.py).
    def action_filter(self) -> None:
        self.batch.open_filter()

    @on(FilterBar.Applied)
    def _filter_applied(self, event: FilterBar.Applied) -> None:
        self.batch.filter_applied(event.text, event.done)

    def action_cycle_show(self) -> None:
        self.batch.cycle_show()

    def action_cycle_sort(self) -> None:
        self.batch.cycle_sort()

    def action_download_images(self) -> None:
        self.batch.download()

    def action_export(self) -> None:
        self.batch.export()

    def action_toggle_preview(self) -> None:
        self.batch.toggle_preview()

    # Images (mjdash/ui/preview.py, mjdash/ui/contact_sheet.py).
    def action_cycle_preview(self) -> None:
        if not self.batch.preview.cycle():
            self.say("This task has one image (a grid lists four when the server gives them).")

    def action_contact_sheet(self) -> None:
        def closed(task_id: str | None) -> None:
            if task_id:
                self.actions.select_task(task_id)

        self.push_screen(ContactSheet.from_app(self), callback=closed)

    def on_contact_sheet_press_button(self, message: ContactSheet.PressButton) -> None:
        button = find_button(self.tasks.get(message.task_id), message.name)
        if button is not None:
            self.actions.request_press(message.task_id, button)

    def action_toggle_collapse(self) -> None:
        task_id = self.selected_id
        if task_id is None:
            return
        if task_id in self.collapsed:
            self.collapsed.discard(task_id)
        elif any(e.parent == task_id for e in self.watchlist.entries):
            self.collapsed.add(task_id)
        else:
            return
        self._rebuild_rows()

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
