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
# (Escapes by a regex that looks only at backslashes, the rest by bytes.translate: both run at
# C speed; one regex for all of it cost ~1 ms per 55 KB answer.)
_ESCAPES = re.compile(rb"\\(?:u[0-9a-fA-F]{4}|.)", re.DOTALL)
_INVISIBLE = bytes(range(0x20)) + bytes(range(0x7F, 0x100))


class Secret:
    """A string that shows as *** in repr, str, f-strings, tracebacks and crash screens."""

    __slots__ = ("_byte_probes", "_escapes", "_pattern", "_probe_grams", "_probes", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._pattern: re.Pattern[str] | None = None
        self._probes: tuple[str, ...] = ()
        self._byte_probes: tuple[bytes, ...] | None = None
        # For each byte probe: (how far before the probe a fragment may start, the fragment),
        # for every FRAGMENT-long run of the key that holds the probe where the key has it.
        self._probe_grams: dict[bytes, tuple[tuple[int, bytes], ...]] = {}
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
            # Any start works (a run of FRAGMENT holds a whole run of every phase): take the
            # phase whose probes are least like prose, so a prompt rarely sets one off.
            step = max(1, size // 2)
            phases = [
                tuple(
                    dict.fromkeys(
                        value[i : i + step] for i in range(p, len(value) - step + 1, step)
                    )
                )
                for p in range(min(step, len(value) - step + 1))
            ]
            self._probes = min(phases, key=_prose_like)
            if value.isascii() and value.isprintable() and not set(value) & set('"\\/'):
                self._byte_probes = tuple(p.encode() for p in self._probes)
                self._probe_grams = _grams_around(value.encode(), self._byte_probes, size)
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
        if self._byte_probes is None or self._escapes is None:
            return True  # a key JSON must escape: only the parsed strings tell
        if self._escapes.search(body):
            return True  # \u0073k-...: spelled so that no byte search finds it
        if b"\\" in body:
            body = _ESCAPES.sub(b"", body)
        body = body.translate(None, _INVISIBLE)
        # Every fragment holds one of the probes at the place the key has it: a probe found
        # is a fragment only if one of the key's runs around it is there too.
        for probe in self._byte_probes:
            around = self._probe_grams[probe]
            at = body.find(probe)
            while at != -1:
                for before, gram in around:
                    if at >= before and body.startswith(gram, at - before):
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


def _grams_around(
    key: bytes, probes: tuple[bytes, ...], size: int
) -> dict[bytes, tuple[tuple[int, bytes], ...]]:
    """probe -> (offset of the run's start before the probe, run) for every `size`-long run of
    `key` that holds the probe at one of the places the key has it."""
    around: dict[bytes, tuple[tuple[int, bytes], ...]] = {}
    for probe in probes:
        found: dict[tuple[int, bytes], None] = {}
        at = key.find(probe)
        while at != -1:
            for start in range(max(0, at + len(probe) - size), min(at, len(key) - size) + 1):
                found[(at - start, key[start : start + size])] = None
            at = key.find(probe, at + 1)
        around[probe] = tuple(found)
    return around


def _prose_like(probes: tuple[str, ...]) -> int:
    """How many of these probes ordinary text would hold: lower-case letters only."""
    return sum(1 for probe in probes if probe.isalpha() and probe.islower())
