"""The one entry the CLI calls to show the dashboard (the CLI itself never imports textual)."""

from __future__ import annotations

from mjdash.net.client import MidjourneyClient
from mjdash.net.poller import Poller
from mjdash.store.cache import TaskCache
from mjdash.store.config import Config
from mjdash.store.journal import Journal
from mjdash.store.watchlist import Watchlist


def run_dashboard(
    *,
    config: Config,
    client: MidjourneyClient,
    poller: Poller,
    watchlist: Watchlist,
    cache: TaskCache | None,
    subtitle: str = "",
    journal: Journal | None = None,
) -> int:
    """Run the app until the user quits; returns the exit code.

    The commands check for a terminal (commands.common.needs_terminal) before building
    anything, so this does not check again."""
    from mjdash.ui.app import MjdashApp
    from mjdash.ui.preview import prepare_graphics

    # Before Textual reads the keyboard: textual-image asks the terminal about graphics.
    prepare_graphics(config.ui.preview)

    app = MjdashApp(
        config=config,
        client=client,
        poller=poller,
        watchlist=watchlist,
        cache=cache,
        subtitle=subtitle,
        journal=journal,
    )
    app.run()
    return app.return_code or 0
