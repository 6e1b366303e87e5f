"""The dashboard's public surface, as feature code (ui/actions.py, ui/batch.py) sees it.

Features get the app typed as `Dashboard`, a Protocol: they depend on this page, not on
ui/app.py, so app -> feature is the only import direction (no cycle). Anything a feature needs
from the app is added here first, public, with a docstring; nothing here starts with "_".
Besides these members, a feature may use Textual's public App API (notify, push_screen,
run_worker, query_one, screen, focused, bell, post_message).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from mjdash.model.board import Board
from mjdash.model.task import Task
from mjdash.model.view import TreeRow
from mjdash.net.client import MidjourneyClient
from mjdash.net.poller import Poller
from mjdash.store.config import Config
from mjdash.store.watchlist import Watchlist


class Dashboard(Protocol):
    # What is watched and what is known about it.
    config: Config
    client: MidjourneyClient
    poller: Poller
    watchlist: Watchlist
    board: Board
    auto_poll: bool
    now: Callable[[], datetime]
    rows: list[TreeRow]  # the table's rows in display order (filter, sort and folds applied)

    @property
    def tasks(self) -> dict[str, Task]: ...
    @property
    def not_found(self) -> set[str]: ...
    @property
    def collapsed(self) -> set[str]: ...
    @property
    def selected_id(self) -> str | None: ...
    @property
    def selected_task(self) -> Task | None: ...
    @property
    def table(self) -> Any: ...  # TaskTable
    @property
    def buttons(self) -> Any: ...  # ButtonList

    # Lineage as shown: the watchlist's parent, or the server's parentId for a hand-added id.
    def parent_of(self, task_id: str) -> str: ...
    def children_of(self, task_id: str) -> tuple[str, ...]: ...

    # Redrawing after a change to the board or the watchlist.
    def sync_rows(self, changed: Iterable[str], *, triage: bool = True) -> None: ...
    def rebuild_rows(self) -> None: ...
    def show_selected(self) -> None: ...
    def render_status_line(self) -> None: ...

    # The watchlist.
    def add_ids(self, ids: list[str], *, parent: str = "") -> list[str]: ...
    def remove_ids(self, ids: list[str]) -> None: ...
    def save_soon(self) -> None: ...
    def poll(self, force: bool = False) -> Any: ...

    # Telling the user.
    def say(
        self,
        message: str,
        *,
        title: str = "",
        severity: str = "information",
        timeout: float | None = None,
    ) -> None: ...
    def copy_value(self, what: str, value: str, *, lines: bool = False) -> None: ...

    # Textual's App API used by features (public).
    def notify(self, *args: Any, **kwargs: Any) -> None: ...
    def push_screen(self, *args: Any, **kwargs: Any) -> Any: ...
    def run_worker(self, *args: Any, **kwargs: Any) -> Any: ...
    def query_one(self, *args: Any, **kwargs: Any) -> Any: ...
    def bell(self) -> None: ...
    @property
    def screen(self) -> Any: ...
    @property
    def screen_stack(self) -> Any: ...
    @property
    def focused(self) -> Any: ...
