"""What `mjdash status` prints: a plain table, JSON lines, or a `--format` template. No UI.

Server text arrives already cleaned by `parse_task`; the table still flattens it to one line and
cuts it to the terminal width, counting wide characters as two cells.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from mjdash.model.buckets import FORMAT_FIELDS, SETTLED, bucket, tally
from mjdash.model.durations import format_duration
from mjdash.model.export import task_fields
from mjdash.model.task import Status, Task
from mjdash.model.wrap import cell_width
from mjdash.model.wrap import cut as fit  # one line, cut by terminal cells

NOT_FOUND = "not found"
__all__ = [
    "FORMAT_FIELDS",
    "NOT_FOUND",
    "Counts",
    "Row",
    "TemplateError",
]  # cli reads FORMAT_FIELDS here


@dataclass(frozen=True, slots=True)
class Row:
    """One watched id: its task, or why there is none (not found, unreadable answer)."""

    id: str
    task: Task | None = None
    error: str | None = None

    @property
    def bucket(self) -> str:
        """Its bucket (model/buckets.py); an unusable answer with no task is `missing`."""
        task = self.task
        return bucket(task.status if task is not None else None, task is None and bool(self.error))

    @property
    def settled(self) -> bool:
        """Nothing more to wait for (model/buckets.py): finished, or MODAL (waits for the user).
        An unusable answer is not settled: `status --watch` gives up on it after a few."""
        if self.task is None and self.error != NOT_FOUND:
            return False
        return self.bucket in SETTLED

    @property
    def failed(self) -> bool:
        """For --exit-status: failed or cancelled, not found, or an unreadable answer."""
        if self.task is not None:
            return self.task.status in (Status.FAILURE, Status.CANCEL)
        return self.error is not None


# --- counts and --format ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Counts:
    """Counts by state, grouped as the dashboard's status line groups them.

    The buckets are model/buckets.py's. Every id is in exactly one bucket, so the buckets add
    up to `total`:
    done (SUCCESS), failed (FAILURE or cancelled), running (IN_PROGRESS), queued (submitted, not
    started), modal (waiting for a MODAL prompt), missing (not found, or an unreadable answer),
    unpolled (no answer yet; with --cached: not in the cache), other (a status mjdash does not
    know).
    """

    total: int = 0
    done: int = 0
    running: int = 0
    queued: int = 0
    failed: int = 0
    modal: int = 0
    missing: int = 0
    unpolled: int = 0
    other: int = 0

    @classmethod
    def of(cls, rows: Iterable[Row]) -> Counts:
        return cls(**tally(row.bucket for row in rows))


# One line each, for `mjdash status --help` and the README.
FORMAT_FIELD_HELP = {
    "total": "every id",
    "done": "SUCCESS",
    "running": "IN_PROGRESS",
    "queued": "submitted, not started yet",
    "failed": "FAILURE or cancelled",
    "modal": "waiting for a MODAL prompt",
    "missing": "not found, or an unreadable answer",
    "unpolled": "no answer yet (--cached: not in the cache)",
    "other": "a status mjdash does not know",
}
NOT_POLLED = "not polled yet"


class TemplateError(ValueError):
    pass


def check_template(template: str) -> None:
    """Raise TemplateError unless every placeholder is one of FORMAT_FIELDS."""
    valid = ", ".join("{" + name + "}" for name in FORMAT_FIELDS)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"bad --format template ({exc}); placeholders: {valid}") from None
    for _, field, spec, _ in parsed:
        if field is not None and field not in FORMAT_FIELDS:
            shown = "{" + field + "}"
            raise TemplateError(f"unknown placeholder {shown} in --format; valid: {valid}")
        if field is not None and spec:
            _check_spec(field, spec)
    try:
        render_template(template, Counts())
    except (ValueError, TypeError) as exc:
        raise TemplateError(f"bad --format template ({exc}); placeholders: {valid}") from None


MAX_SPEC_NUMBER = 200  # width or precision: '{total:>999999999}' would allocate gigabytes
_SPEC_NUMBER_RE = re.compile(r"[0-9]+")


def _check_spec(field: str, spec: str) -> None:
    """Refuse a format spec that could build a huge string: a width or precision above
    MAX_SPEC_NUMBER, or a nested placeholder (its value is a count, unbounded)."""
    shown = "{" + field + ":" + spec[:40] + "}"
    if "{" in spec or "}" in spec:
        raise TemplateError(f"nested placeholders are not allowed in --format ({shown})")
    for number in _SPEC_NUMBER_RE.findall(spec):
        if len(number.lstrip("0")) > 3 or int(number) > MAX_SPEC_NUMBER:
            raise TemplateError(
                f"width or precision {number[:12]} in {shown} is too large for --format"
                f" (at most {MAX_SPEC_NUMBER})"
            )


def render_template(template: str, counts: Counts) -> str:
    return template.format(**asdict(counts))


# --- JSON lines -----------------------------------------------------------------------------


def row_json(row: Row) -> dict[str, Any]:
    """The task as JSON (model/export.py's record, buttons by "name"); "error" is set for a
    missing or unreadable one (kept: last good data)."""
    task = row.task
    if task is None:
        return {"id": row.id, "error": row.error or NOT_POLLED}
    obj = task_fields(task, button_name="name")
    if row.error:
        obj["error"] = row.error
    return obj


def json_line(row: Row) -> str:
    # ensure_ascii: whatever the text holds, the line is plain ASCII (no raw bytes reach a pipe).
    return json.dumps(row_json(row), ensure_ascii=True, separators=(",", ":"))


# --- the table ------------------------------------------------------------------------------

_COLORS = {
    Status.SUCCESS: "32",
    Status.FAILURE: "31",
    Status.CANCEL: "35",
    Status.IN_PROGRESS: "34",
    Status.SUBMITTED: "33",
    Status.MODAL: "33;1",
}
_GAP = "  "
_MAX_ACTION = 14
_MAX_STATUS = 14  # "not polled yet"
_PROGRESS_WIDTH = 4
_ELAPSED_WIDTH = 7
_MIN_PROMPT = 8  # narrower than this, the prompt column is left out


def _pad(text: str, width: int) -> str:
    text = fit(text, width)
    return text + " " * (width - cell_width(text))


def render_table(rows: Sequence[Row], *, width: int, now: datetime, color: bool) -> list[str]:
    """A header and one line per row, at most `width` cells when the terminal allows.

    Columns are as wide as their content (capped); the prompt (or the reason a row has no task)
    takes what is left, and is left out when too little is.
    """
    cells = [("ID", "ACTION", "STATUS", "PROG", "ELAPSED", "PROMPT", None)]
    for row in rows:
        task = row.task
        if task is None:
            if row.error is None or row.error == NOT_FOUND:
                status, reason = row.error or NOT_POLLED, ""
            else:
                status, reason = "unreadable", row.error
            cells.append((row.id, "", status, "", "", reason, None))
            continue
        progress = "" if task.progress is None else f"{task.progress}%"
        prompt = task.shown_prompt
        if task.status is Status.FAILURE and task.fail_reason:
            prompt = f"{task.fail_reason} · {prompt}" if prompt else task.fail_reason
        elapsed = format_duration(task.elapsed(now))
        cells.append(
            (task.id, task.action, task.status_text, progress, elapsed, prompt, task.status)
        )
    widths = [
        max(cell_width(fit(line[0], 20)) for line in cells),
        min(max(cell_width(line[1]) for line in cells), _MAX_ACTION),
        min(max(cell_width(line[2]) for line in cells), _MAX_STATUS),
        _PROGRESS_WIDTH,
        _ELAPSED_WIDTH,
    ]
    prompt_width = width - sum(widths) - len(_GAP) * len(widths)
    if prompt_width < _MIN_PROMPT:
        prompt_width = 0
    return [_line(line, widths, prompt_width, color) for line in cells]


def _line(
    cells: tuple[str, str, str, str, str, str, Status | None],
    widths: list[int],
    prompt_width: int,
    color: bool,
) -> str:
    task_id, action, status, progress, elapsed, prompt, state = cells
    status_cell = _pad(status, widths[2])
    if color and state in _COLORS:
        # Padding first, colour around it: escape codes take no cells.
        status_cell = f"\x1b[{_COLORS[state]}m{status_cell}\x1b[0m"
    parts = [
        _pad(task_id, widths[0]),
        _pad(action, widths[1]),
        status_cell,
        fit(progress, widths[3]).rjust(widths[3]),
        fit(elapsed, widths[4]).rjust(widths[4]),
    ]
    if prompt_width:
        parts.append(fit(prompt, prompt_width))
    return _GAP.join(parts).rstrip()
