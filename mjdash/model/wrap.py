"""Text cut and wrapped by terminal cells (a CJK character takes two), for the detail pane.

- `cut`: one line of at most `width` cells, with an ellipsis when something was cut.
- `hanging_wrap`: a long value under its label with a hanging indent, so continuation lines
  start under the value and not back at the pane's edge; customIds break after `::`.
"""

from __future__ import annotations

import re
import unicodedata


def cell_width(text: str) -> int:
    total = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        total += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return total


def cut(text: str, width: int) -> str:
    """`text` on one line (whitespace runs become one space) in at most `width` cells, ending
    with "…" when it was cut. Wide characters are never split in half."""
    flat = " ".join(text.split())
    if width <= 0:
        return ""
    if cell_width(flat) <= width:
        return flat
    out, used = [], 0
    for ch in flat:
        cells = cell_width(ch)
        if used + cells > width - 1:
            break
        out.append(ch)
        used += cells
    return "".join(out) + "…"


# A customId (MJ::JOB::upsample::1::<hash>) breaks after each "::"; other text after spaces.
_CUSTOM_ID_PIECE = re.compile(r".*?::|.+")
_WORD_PIECE = re.compile(r"\S+\s*|\s+")


def _pieces(value: str) -> list[str]:
    if "::" in value and " " not in value:
        return _CUSTOM_ID_PIECE.findall(value)
    return _WORD_PIECE.findall(value)


_DASH_PIECE = re.compile(r"[^-]*-|[^-]+")


def _hard_split(piece: str, width: int) -> list[str]:
    """A piece wider than a line, split after a "-" where one fits (a customId's UUID),
    else by cells."""
    if "-" in piece.rstrip("-"):
        lines, current = [], ""
        for part in _DASH_PIECE.findall(piece):
            if current and cell_width(current + part) > width:
                lines.append(current)
                current = ""
            if cell_width(part) > width:
                chunks = _split_cells(current + part, width)
                lines += chunks[:-1]
                current = chunks[-1]
            else:
                current += part
        return [*lines, current] if current else lines
    return _split_cells(piece, width)


def _split_cells(piece: str, width: int) -> list[str]:
    parts, current, used = [], [], 0
    for ch in piece:
        cells = cell_width(ch)
        if current and used + cells > width:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += cells
    if current:
        parts.append("".join(current))
    return parts


def wrap(value: str, width: int) -> list[str]:
    """`value` in lines of at most `width` cells, broken at spaces (or after `::` in a
    customId), a piece longer than a line split where it must."""
    value = " ".join(value.split())
    width = max(width, 1)
    if not value:
        return [""]
    lines: list[str] = []
    current, used = "", 0
    for piece in _pieces(value):
        cells = cell_width(piece.rstrip())
        if used and used + cells > width:
            lines.append(current.rstrip())
            current, used = "", 0
        if cells > width:
            chunks = _hard_split(piece.rstrip(), width)
            lines += chunks[:-1]
            current, used = chunks[-1] + piece[len(piece.rstrip()) :], cell_width(chunks[-1])
            continue
        current += piece
        used = cell_width(current)
    if current.strip():
        lines.append(current.rstrip())
    return lines


def hanging_wrap(
    label: str, value: str, width: int, *, label_width: int | None = None
) -> list[str]:
    """`label` then `value`, the value's continuation lines indented to where it began:

        prompt    a lighthouse on a cliff at
                  dusk, volumetric light

    `label_width` aligns several labels (default: the label's own width plus one space). When
    the pane is too narrow for a hanging indent (less than 12 cells left), the value goes on
    the lines under the label, indented by two.
    """
    indent = max(label_width if label_width is not None else cell_width(label) + 1, 0)
    head = label + " " * max(indent - cell_width(label), 1 if label else 0)
    indent = cell_width(head)
    if width - indent < 12:
        return [label.rstrip()] + ["  " + line for line in wrap(value, width - 2)]
    lines = wrap(value, width - indent)
    return [head + lines[0]] + [" " * indent + line for line in lines[1:]]
