"""Which URLs mjdash will open in a browser or download (docs/reliability.md, rule 8).

URLs come from the server (imageUrl, videoUrl) and are hostile: only http/https with a host, no
user:password part, nothing that a launcher (xdg-open, open) could read as an option.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_URL = 4000

# Whitespace and controls: a URL with them is either broken or trying to smuggle something.
_BAD_CHARS_RE = re.compile(r"[\x00-\x20\x7f-\x9f\\\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def url_refusal(url: object) -> str | None:
    """None when `url` may be opened or downloaded, else the reason it is refused."""
    if not isinstance(url, str) or not url:
        return "no URL"
    if len(url) > MAX_URL:
        return "URL too long"
    if url.startswith("-"):
        return "URL starts with '-'"
    if _BAD_CHARS_RE.search(url):
        return "URL contains spaces, control characters or backslashes"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "URL cannot be read"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"'{scheme[:20]}:'" if scheme else "none"
        return f"only http and https links are opened (scheme: {shown})"
    if "@" in parts.netloc:
        return "URL carries a user name or password"
    if not parts.hostname:
        return "URL has no host"
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "URL has an invalid port"
    return None


def is_safe_url(url: object) -> bool:
    return url_refusal(url) is None


def origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) with default ports filled in, None if unreadable."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not host:
        return None
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, host, port
