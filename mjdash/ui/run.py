"""The one way to build the dashboard: `build_dashboard` wires the HTTP client, the poller and
the app from a Config, and `run_dashboard` runs it. The CLI (`mjdash`, `mjdash demo`), the
tests (tests/support/harness.py), the benchmark, the soak and the screenshot script all build
it here, so they share one set of timeouts, batch size and concurrency: the config's.

textual is imported inside the functions: the CLI imports this module lightly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from mjdash.model.secret import Secret
from mjdash.net.client import MidjourneyClient
from mjdash.net.poller import Poller
from mjdash.store.cache import TaskCache
from mjdash.store.config import Config
from mjdash.store.journal import Journal
from mjdash.store.watchlist import Watchlist

if TYPE_CHECKING:
    from mjdash.ui.app import MjdashApp


def build_dashboard(
    config: Config,
    key: Secret,
    watchlist: Watchlist,
    *,
    cache: TaskCache | None = None,
    journal: Journal | None = None,
    subtitle: str | None = None,
    now: Callable[[], datetime] | None = None,
    auto_poll: bool = True,
) -> MjdashApp:
    """The dashboard for `watchlist`, polling `config.api.base_url` with `key`.

    Raises ValueError for an unusable base URL (the CLI turns it into a usage error).
    `cache=None` runs without the task cache; `subtitle=None` shows the server's host;
    `now` and `auto_poll=False` are for tests (a fixed clock; polls only when asked)."""
    from mjdash.ui.app import MjdashApp

    api, poll = config.api, config.poll
    client = MidjourneyClient(
        api.base_url,
        key,
        auth=api.auth,
        key_env=api.key_env,
        timeout=api.timeout,
        batch_size=poll.batch_size,
        concurrency=poll.concurrency,
    )
    return MjdashApp(
        config=config,
        client=client,
        poller=Poller(client, interval=poll.interval),
        watchlist=watchlist,
        cache=cache,
        now=now,
        auto_poll=auto_poll,
        subtitle=client.host if subtitle is None else subtitle,
        journal=journal,
    )


def run_dashboard(app: MjdashApp) -> int:
    """Run the app until the user quits; returns the exit code.

    The commands check for a terminal (commands.common.needs_terminal) before building
    anything, so this does not check again."""
    app.run()
    return app.return_code or 0
