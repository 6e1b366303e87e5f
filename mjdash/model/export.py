"""Export tasks as CSV, JSON or a Markdown table. No UI.

One record per task: id, action, status, progress, prompt, finalPrompt, imageUrl, failReason,
the three times (ISO 8601) with the queue and render seconds they give, and the buttons with
their customIds. A watched id the cache knows nothing about gets a record with its id only.

Server text is hostile and ends up in other programs here:
- CSV: a cell starting with = + - @ (or a tab / CR) gets a leading apostrophe, so a spreadsheet
  shows it instead of running it as a formula (OWASP "CSV injection").
- Markdown: | is escaped, line breaks become <br>, and < > & become entities so a renderer
  shows a prompt's HTML as text.
- JSON: plain ASCII (`ensure_ascii`), whatever the text holds.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from mjdash.model import kinds
from mjdash.model.task import Task

FORMATS = ("csv", "json", "md")
FIELDS = (
    "id",
    "action",
    "status",
    "progress",
    "prompt",
    "promptEn",
    "finalPrompt",
    "description",
    "suggestions",
    "shortened",
    "videoUrls",
    "parentId",
    "imageUrl",
    "failReason",
    "submitTime",
    "startTime",
    "finishTime",
    "queueSeconds",
    "renderSeconds",
    "buttons",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _secs(delta: Any) -> float | None:
    return None if delta is None else round(delta.total_seconds(), 3)


def task_record(task_id: str, task: Task | None) -> dict[str, Any]:
    """The export record of one watched id (only `id` set when there is no task)."""
    if task is None:
        record: dict[str, Any] = dict.fromkeys(FIELDS)
        record["id"] = task_id
        for name in ("buttons", "suggestions", "shortened", "videoUrls"):
            record[name] = []
        return record
    return task_fields(task)


def task_fields(task: Task, *, button_name: str = "label") -> dict[str, Any]:
    """One task as a record, the fields in FIELDS' order: the one builder of the export's
    records and of `status --json`'s objects. Each keeps its documented name for a button's
    name: `button_name` ("label" in an export, "name" in `status --json`)."""
    return {
        "id": task.id,
        "action": task.action,
        "status": task.status_text,
        "progress": task.progress,
        "prompt": task.prompt,
        "promptEn": task.prompt_en,
        "finalPrompt": task.final_prompt,
        "description": task.description,
        "suggestions": kinds.describe_suggestions(task),
        "shortened": kinds.shorten_results(task),
        "videoUrls": list(task.video_links),
        "parentId": task.parent_id or None,
        "imageUrl": task.image_url,
        "failReason": task.fail_reason,
        "submitTime": _iso(task.submit_time),
        "startTime": _iso(task.start_time),
        "finishTime": _iso(task.finish_time),
        "queueSeconds": _secs(task.queue_wait),
        "renderSeconds": _secs(task.render_time),
        "buttons": [{button_name: b.name, "customId": b.custom_id} for b in task.buttons],
    }


def records_for(ids: Iterable[str], tasks: Mapping[str, Task]) -> list[dict[str, Any]]:
    return [task_record(task_id, tasks.get(task_id)) for task_id in ids]


def render(records: list[dict[str, Any]], fmt: str) -> str:
    """The records as `fmt` ("csv", "json" or "md"); raises ValueError for another format."""
    if fmt == "csv":
        return render_csv(records)
    if fmt == "json":
        return render_json(records)
    if fmt == "md":
        return render_md(records)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")


# --- JSON -------------------------------------------------------------------------------------


def render_json(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, ensure_ascii=True, indent=2) + "\n"


# --- CSV --------------------------------------------------------------------------------------


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(records: list[dict[str, Any]]) -> str:
    """A header and one row per task; `buttons` is a JSON array in its cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for record in records:
        writer.writerow([_csv_cell(record.get(name)) for name in FIELDS])
    return out.getvalue()


# --- Markdown ---------------------------------------------------------------------------------

# The Markdown table has the CSV's columns, in the same order (one set of columns to learn).
MD_FIELDS = FIELDS


def md_escape(text: str) -> str:
    """Cell text that a Markdown renderer shows as it is, on one table row."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    text = text.replace("*", "\\*").replace("_", "\\_").replace("[", "\\[").replace("]", "\\]")
    return "<br>".join(text.splitlines()) if "\n" in text or "\r" in text else text


def md_unescape(cell: str) -> str:
    """The inverse of `md_escape` (for tests and scripts that read the table back)."""
    text = cell.replace("<br>", "\n")
    out = []
    chars = iter(text)
    for ch in chars:
        out.append(next(chars, "\\") if ch == "\\" else ch)
    text = "".join(out)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _md_cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name == "buttons":
        return "<br>".join(f"{md_escape(b['label'])}: {md_escape(b['customId'])}" for b in value)
    if isinstance(value, list):  # suggestions, shortened prompts, video links: one a line
        return "<br>".join(md_escape(str(item)) for item in value)
    return md_escape(str(value))


def render_md(records: list[dict[str, Any]]) -> str:
    lines = [
        "| " + " | ".join(MD_FIELDS) + " |",
        "|" + "|".join("---" for _ in MD_FIELDS) + "|",
    ]
    for record in records:
        cells = [_md_cell(name, record.get(name)) for name in MD_FIELDS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def split_md_row(line: str) -> list[str]:
    """The cells of one Markdown table row, still escaped (split on unescaped |)."""
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    cells, current, escaped = [], [], False
    for ch in body:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    cells.append("".join(current).strip())
    return cells
