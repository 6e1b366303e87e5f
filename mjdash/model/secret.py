"""The API key, held so that it cannot be printed by accident (docs/reliability.md, rule 6)."""

from __future__ import annotations


class Secret:
    """A string that shows as *** in repr, str, f-strings, tracebacks and crash screens."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """Replace every occurrence of the key in `text` (for error messages and logs)."""
        return text.replace(self._value, "***") if self._value else text

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
