"""Whether `o` can open a URL here: a graphical browser, found the way webbrowser finds one.

Kept apart from the app so it is tested without a screen. A console browser (lynx, w3m, links,
elinks, www-browser) would take over the dashboard's own terminal: it counts as none.
"""

from __future__ import annotations

import webbrowser

_CONSOLE_BROWSERS = frozenset({"www-browser", "links", "links2", "elinks", "lynx", "w3m"})
NO_BROWSER = "No browser found to open the image; press u to copy its URL"


def browser_problem() -> str | None:
    """None when a graphical browser is available, else the sentence to show instead of
    "Opening …"."""
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return NO_BROWSER
    name = getattr(browser, "name", "") or ""
    if name.rsplit("/", 1)[-1] in _CONSOLE_BROWSERS:
        return NO_BROWSER
    return None
