"""Which URLs mjdash will use: the server base URL, and links it opens or downloads.

One set of rules for all of them (docs/reliability.md, rule 8): only http/https with a host, no
user:password part, no whitespace or controls, nothing that a launcher (xdg-open, open) could
read as an option. URLs from the server (imageUrl, videoUrl) are hostile; a base URL comes from
the user's config, where a key pasted by mistake must never be repeated back. The config check,
the client and the dashboard's "open" all ask here.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_URL = 4000

# Whitespace and controls: a URL with them is either broken or trying to smuggle something.
_BAD_CHARS_RE = re.compile(r"[\x00-\x20\x7f-\x9f\\\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def url_refusal(url: object, *, show_scheme: bool = True) -> str | None:
    """None when `url` may be opened or downloaded, else the reason it is refused.

    The reason names the scheme (`javascript:`) unless show_scheme is False; no other part of
    the URL is ever repeated.
    """
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
        return "only http and https URLs are used" + (f" (scheme: {shown})" if show_scheme else "")
    if "@" in parts.netloc:
        return "URL carries a user name or password"
    if not parts.hostname:
        return "URL has no host"
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "URL has an invalid port"
    return None


def base_url_refusal(url: object) -> str | None:
    """None when `url` may be the server's base URL: `url_refusal`'s rules, no scheme shown, and
    no ?query or #fragment (paths are joined to it)."""
    refusal = url_refusal(url, show_scheme=False)
    if refusal is not None:
        return refusal
    text = str(url)
    parts = urlsplit(text)
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        return "URL has a ?query or #fragment"
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
