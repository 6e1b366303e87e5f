"""Reading TOML with positions: tomllib tells where a syntax error is, but not where a value is.

Both the config file and the watchlist are edited by hand, so every complaint about them names
`file:line:col`. This module turns tomllib's error text into numbers and finds the line of a
`[section]` or `key =` by scanning the text (good enough for the files people write by hand).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from typing import Any

_POSITION_RE = re.compile(
    r"^(?P<msg>.*?)\s*\(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$"
)
_TABLE_RE = re.compile(r"^\s*\[(?!\[)\s*(?P<name>[^\]]*?)\s*\]\s*(?:#.*)?$")
_ARRAY_TABLE_RE = re.compile(r"^\s*\[\[\s*(?P<name>[^\]]*?)\s*\]\]\s*(?:#.*)?$")


class TomlSyntaxError(ValueError):
    """The text is not TOML (or not UTF-8); line and col are 1-based."""

    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(f"{line}:{col}: {message}")
        self.line = line
        self.col = col
        self.message = message


def parse_toml(data: bytes | str) -> tuple[dict[str, Any], str]:
    """Parse TOML bytes (or text); return the document and the decoded text.

    Raises only TomlSyntaxError: bad UTF-8, bad TOML, absurd nesting.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, col = _offset_position(data, exc.start)
            raise TomlSyntaxError(line, col, "not valid UTF-8 text") from None
    else:
        text = data
    # Editors on Windows like to start files with a byte-order mark; TOML does not allow one.
    text = text.removeprefix("\ufeff")
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        line, col, message = decode_error_position(exc, text)
        raise TomlSyntaxError(line, col, message) from None
    except RecursionError:
        raise TomlSyntaxError(1, 1, "nested too deeply") from None
    except (ValueError, OverflowError) as exc:  # tomllib bugs on pathological input
        raise TomlSyntaxError(1, 1, f"unreadable TOML ({type(exc).__name__})") from None


def decode_error_position(exc: tomllib.TOMLDecodeError, text: str) -> tuple[int, int, str]:
    """(line, col, message) of a TOMLDecodeError, on 3.11/3.12 (message text) and 3.13+."""
    lineno = getattr(exc, "lineno", None)
    colno = getattr(exc, "colno", None)
    message = getattr(exc, "msg", None)
    if isinstance(lineno, int) and isinstance(colno, int) and isinstance(message, str):
        return lineno, colno, message
    raw = str(exc.args[0]) if exc.args else str(exc)
    match = _POSITION_RE.match(raw)
    if not match:
        return 1, 1, raw
    if match["line"]:
        return int(match["line"]), int(match["col"]), match["msg"]
    # "at end of document": point just past the last character.
    last_line = text.count("\n") + 1
    return last_line, len(text) - (text.rfind("\n") + 1) + 1, match["msg"] + " at end of file"


def _offset_position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def _normalise_name(name: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in name.split("."))


def _code_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) for lines that start outside multi-line strings.

    Each line is scanned as TOML reads it: a triple quote inside a one-line string opens
    nothing, and a comment ends the line."""
    result = []
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_string is None:
            result.append((number, line))
        in_string = _string_open_after(line, in_string)
    return result


def _string_open_after(line: str, in_string: str | None) -> str | None:
    """The multi-line string delimiter still open at the end of `line`, if any."""
    i, n = 0, len(line)
    while i < n:
        if in_string is not None:
            end = line.find(in_string, i)
            while end > 0 and in_string == '"""' and _escaped(line, end):
                end = line.find(in_string, end + 1)
            if end < 0:
                return in_string
            i, in_string = end + 3, None
            continue
        char = line[i]
        if char == "#":
            return None
        if line.startswith(('"""', "'''"), i):
            in_string, i = line[i : i + 3], i + 3
            continue
        if char in "\"'":
            end = i + 1
            while end < n and (line[end] != char or (char == '"' and _escaped(line, end))):
                end += 1
            i = end + 1
            continue
        i += 1
    return in_string


def _escaped(line: str, at: int) -> bool:
    """Is the character at `at` escaped by an odd run of backslashes before it?"""
    run = 0
    while at - run - 1 >= 0 and line[at - run - 1] == "\\":
        run += 1
    return run % 2 == 1


def _key_column(line: str, key: str) -> int | None:
    quoted = re.escape(key)
    match = re.match(rf"^(\s*)(?:{quoted}|\"{quoted}\"|'{quoted}')\s*[=.]", line)
    return len(match[1]) + 1 if match else None


def locate(text: str, section: str, key: str | None = None) -> tuple[int, int] | None:
    """Line and column of `key` in `[section]` (section "" = top level), or of the section.

    Falls back to the section header when the key is not found, and understands the
    dotted (`section.key = 1`) and inline (`section = {...}`) forms at the top level.
    """
    current = ""
    header: tuple[int, int] | None = None
    sub_table: tuple[int, int] | None = None
    top_level_hit: tuple[int, int] | None = None
    for number, line in _code_lines(text):
        if _ARRAY_TABLE_RE.match(line):
            current = "\0array"
            continue
        table = _TABLE_RE.match(line)
        if table:
            current = _normalise_name(table["name"])
            here = (number, len(line) - len(line.lstrip()) + 1)
            if key is not None and (current + ".").startswith(f"{section}.{key}."):
                return here  # [section.key] written as a table of its own
            if current == section and header is None:
                header = here
                if key is None:
                    return header
            elif current.startswith(f"{section}.") and sub_table is None:
                sub_table = here
            continue
        if current == section and key is not None:
            col = _key_column(line, key)
            if col is not None:
                return number, col
        if current == "" and section and top_level_hit is None:
            dotted = re.match(r"^(\s*)" + re.escape(section) + r"\s*(?:\.|=)", line)
            if dotted:
                top_level_hit = (number, len(dotted[1]) + 1)
    return header or top_level_hit or sub_table


def array_table_lines(text: str, name: str) -> list[int]:
    """Line numbers of every `[[name]]` header, in order."""
    lines = []
    for number, line in _code_lines(text):
        match = _ARRAY_TABLE_RE.match(line)
        if match and _normalise_name(match["name"]) == name:
            lines.append(number)
    return lines


def key_line_in_block(text: str, start_line: int, key: str) -> tuple[int, int] | None:
    """The `key =` line after the header at `start_line`, before the next header."""
    for number, line in _code_lines(text):
        if number <= start_line:
            continue
        if _TABLE_RE.match(line) or _ARRAY_TABLE_RE.match(line):
            return None
        col = _key_column(line, key)
        if col is not None:
            return number, col
    return None


def type_name(value: object) -> str:
    """How a TOML value's type reads in an error message: "a string", "an integer"..."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, dt.datetime):
        return "a date-time"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, dt.time):
        return "a time"
    return "a " + type(value).__name__
