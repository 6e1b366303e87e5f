"""The API key, held so that it cannot be printed by accident (docs/reliability.md, rule 6)."""

from __future__ import annotations

import re
from typing import Any

# A server may echo only part of the key (cut after N characters, split across lines): any run
# of this many characters of the key is as good as the key to a thief who knows the prefix.
FRAGMENT = 8
MASK = "***"
# What raw JSON may hold between two characters of a string that the shown text drops or
# joins: escapes (\n, \u200b, ...), raw DEL and any non-ASCII byte (U+200B and kin arrive as
# UTF-8). Removing them all can only join more, so a look at what is left misses no fragment.
_BETWEEN = re.compile(rb'\\u[0-9a-fA-F]{4}|\\[nrtbf"\\/]|[\x00-\x1f\x7f-\xff]+')


class Secret:
    """A string that shows as *** in repr, str, f-strings, tracebacks and crash screens."""

    __slots__ = ("_byte_grams", "_byte_probes", "_escapes", "_pattern", "_probes", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._pattern: re.Pattern[str] | None = None
        self._probes: tuple[str, ...] = ()
        self._byte_probes: tuple[bytes, ...] | None = None
        self._byte_grams: re.Pattern[bytes] | None = None
        self._escapes: re.Pattern[bytes] | None = None
        if value:
            size = min(FRAGMENT, len(value))
            grams = sorted({value[i : i + size] for i in range(len(value) - size + 1)})
            # A lookahead finds every start, overlapping ones too: the union of the matched
            # windows covers a fragment of any length >= FRAGMENT whole.
            self._pattern = re.compile("(?=(" + "|".join(map(re.escape, grams)) + "))")
            # Probes: every run of FRAGMENT characters of the key holds one of its aligned
            # runs of FRAGMENT // 2, so finding none of those (a few fast substring searches)
            # proves no fragment is there; finding one only means: look properly.
            step = max(1, size // 2)
            self._probes = tuple(
                dict.fromkeys(value[i : i + step] for i in range(0, len(value) - step + 1, step))
            )
            if value.isascii() and value.isprintable() and not set(value) & set('"\\/'):
                self._byte_probes = tuple(p.encode() for p in self._probes)
                self._byte_grams = re.compile("|".join(map(re.escape, grams)).encode())
                # In raw JSON a key character may also be spelled \u00XX.
                codes = "|".join(sorted({f"{ord(c):02x}" for c in value}))
                self._escapes = re.compile(rb"\\u00(?:" + codes.encode() + rb")", re.IGNORECASE)

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """Replace the key and every run of FRAGMENT or more of its characters in `text` by ***.

        Redact before cutting a text short: a cut can leave a fragment no whole-key search finds.
        """
        if self._pattern is None or not text or not any(p in text for p in self._probes):
            return text
        spans: list[list[int]] = []
        for match in self._pattern.finditer(text):
            start, end = match.start(), match.start() + len(match.group(1))
            if spans and start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
        if not spans:
            return text
        parts, last = [], 0
        for start, end in spans:
            parts.append(text[last:start])
            parts.append(MASK)
            last = end
        parts.append(text[last:])
        return "".join(parts)

    def may_appear_in(self, body: bytes) -> bool:
        """A look at raw JSON: False only when no fragment can be in its strings, even once
        invisible characters between the key's characters are dropped. Walking every string of
        a 1,000-task answer costs far more than this, so a probe hit is checked on the spot."""
        if self._pattern is None:
            return False
        if self._byte_probes is None or self._byte_grams is None or self._escapes is None:
            return True  # a key JSON must escape: only the parsed strings tell
        if self._escapes.search(body):
            return True  # \u0073k-...: spelled so that no byte search finds it
        if not body.isascii() or b"\\" in body or b"\x7f" in body:
            body = _BETWEEN.sub(b"", body)
        size = min(FRAGMENT, len(self._value))
        for probe in self._byte_probes:
            at = body.find(probe)
            while at != -1:
                if self._byte_grams.search(body, max(0, at - size), at + size + len(probe)):
                    return True
                at = body.find(probe, at + 1)
        return False

    def _redact_hidden(self, text: str) -> str:
        """Server text is cleaned later (controls and format characters dropped): a key split
        by them every few characters would then join up. Such text is redacted joined."""
        if text.isprintable():
            return text
        joined = "".join(ch for ch in text if ch.isprintable())
        redacted = self.redact(joined)
        return redacted if redacted != joined else text

    def redact_all(self, value: Any) -> Any:
        """`value` (parsed JSON) with every string in it redacted, keys of objects too."""
        if isinstance(value, str):
            return self._redact_hidden(self.redact(value))
        if isinstance(value, dict):
            return {
                self.redact(k) if isinstance(k, str) else k: self.redact_all(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.redact_all(item) for item in value]
        return value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self):  # never pickled with its value
        raise TypeError("a Secret cannot be pickled")
