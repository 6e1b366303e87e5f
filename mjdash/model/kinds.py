"""What a task is, read from what each server family sends.

See docs/api.md, "How the real servers differ".

Pure functions over Task: which tasks are grids, which dialog a MODAL task needs, a describe's
suggestions and a shorten's prompts, which buttons a server refuses, and which of two rows for
one id is the one that moved (new-api after /mj/submit/modal).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

from mjdash.model.task import Button, Status, Task

# Actions whose result is a grid of four (U1-U4 under it). A reroll keeps its parent's action on
# trueai, Custom Zoom is ZOOM there; new-api's continued modal row says MODAL.
GRID_ACTIONS = frozenset(
    {
        "IMAGINE",
        "VARIATION",
        "LOW_VARIATION",
        "HIGH_VARIATION",
        "REROLL",
        "BLEND",
        "PAN",
        "ZOOM",
        "CUSTOM_ZOOM",
        "INPAINT",
        "MODAL",
    }
)

SERVER_FAMILIES = ("newapi", "trueai", "novicezk")


def makes_grid(task: Task) -> bool:
    """A four-image grid: an action that makes one, with U1-U4 among its buttons, or finished
    with no buttons at all (midjourney-proxy v2 sends none; its quadrants are still U1-U4 for
    `/mj/submit/change`, so they are labelled too). Not a task still rendering: its preview
    may not be four images yet."""
    if task.action not in GRID_ACTIONS:
        return False
    if not task.buttons:
        return task.status is Status.SUCCESS
    names = {button.name for button in task.buttons}
    return {"U1", "U2", "U3", "U4"} <= names


# --- MODAL dialogs ----------------------------------------------------------------------------

_ZOOM_ACTIONS = frozenset({"CUSTOM_ZOOM", "ZOOM"})
_REGION_ACTIONS = frozenset({"INPAINT", "VARIATION"})


def modal_kind(task: Task, pressed: Button | str | None = None) -> str | None:
    """The dialog a task waiting in MODAL needs: "zoom" (a --zoom field) or "region" (a mask).

    None when the task is not MODAL or nothing tells.

    new-api says CUSTOM_ZOOM / INPAINT; trueai says ZOOM (Custom Zoom) or VARIATION (Vary
    (Region)) with no customId. `pressed` is the parent's button that made the task (a Button or
    its customId), the other clue when the action says nothing useful.
    """
    if task.status is not Status.MODAL:
        return None
    if task.action in _ZOOM_ACTIONS:
        return "zoom"
    if task.action in _REGION_ACTIONS:
        return "region"
    clue = pressed.custom_id if isinstance(pressed, Button) else (pressed or task.custom_id)
    if clue.startswith("MJ::CustomZoom::"):
        return "zoom"
    if clue.startswith("MJ::Inpaint::"):
        return "region"
    return None


# --- describe and shorten results ------------------------------------------------------------

# "1️⃣ text", "1\u20e3 text", "1. text" or "1) text" at a line's start.
_NUMBERED_RE = re.compile(r"^\s*([1-9])(?:\ufe0f?\u20e3|[.)])\s*", re.MULTILINE)


def split_numbered(text: str) -> list[str]:
    """The numbered items of a describe or shorten answer; the whole text when unnumbered."""
    marks = list(_NUMBERED_RE.finditer(text))
    if not marks:
        return [text.strip()] if text.strip() else []
    items = []
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        item = text[mark.end() : after.start() if after else len(text)].strip()
        if item:
            items.append(item)
    return items


def describe_suggestions(task: Task) -> list[str]:
    """A DESCRIBE task's suggested prompts (promptEn, finalPrompt, or novicezk's prompt)."""
    if task.action != "DESCRIBE":
        return []
    for text in (task.prompt_en, task.final_prompt, task.prompt):
        if _NUMBERED_RE.search(text):
            return split_numbered(text)
    text = task.prompt_en or task.final_prompt
    return split_numbered(text) if text and task.status is Status.SUCCESS else []


def shorten_results(task: Task) -> list[str]:
    """A SHORTEN task's shortened prompts: trueai puts them in description, new-api in
    properties.finalPrompt."""
    if task.action != "SHORTEN":
        return []
    for text in (task.description, task.final_prompt):
        if _NUMBERED_RE.search(text):
            return split_numbered(text)
    return []


# --- buttons a server refuses ----------------------------------------------------------------

# new-api maps only MJ::JOB::... customIds (and the zoom/inpaint ones); these answer
# 400 unknown_action:<customId>.
_NEWAPI_REFUSED = ("MJ::Job::PicReader::", "MJ::Picread::", "MJ::Job::PromptAnalyzer::")


def refusal(button: Button, family: str | None, learned: Iterable[str] = ()) -> str | None:
    """Why the server will refuse this button ("" never), or None when it may be pressed.

    `family` is the server family when known (client.family); `learned` holds customId prefixes
    a server already refused (client.refused_prefixes). Copying a refused button still works.
    """
    custom_id = button.custom_id
    if family == "newapi" and custom_id.startswith(_NEWAPI_REFUSED):
        return "this server (new-api) does not take this button"
    if family == "novicezk":
        return "this server (midjourney-proxy v2) has no button presses"
    if any(prefix and custom_id.startswith(prefix) for prefix in learned):
        return "this server refused this button before"
    return None


def refused_prefix(custom_id: str) -> str:
    """The customId part that names the button kind (the hash and numbers dropped)."""
    parts = custom_id.split("::")
    return "::".join(parts[:3]) + "::" if len(parts) > 3 else custom_id


# --- two rows for one id ---------------------------------------------------------------------

_RANK = {
    Status.UNKNOWN: 0,
    Status.MODAL: 1,
    Status.PENDING: 2,
    Status.NOT_START: 3,
    Status.SUBMITTED: 4,
    Status.IN_PROGRESS: 5,
    Status.SUCCESS: 6,
    Status.FAILURE: 6,
    Status.CANCEL: 6,
}


def status_rank(task: Task) -> int:
    """How far a task has got: MODAL before queued before running before final."""
    return _RANK[task.status]


def _latest(task: Task) -> float:
    moments = [t for t in (task.finish_time, task.start_time, task.submit_time) if t is not None]
    return max(m.timestamp() for m in moments) if moments else 0.0


def moved_row(rows: Sequence[Task]) -> Task:
    """Of several rows for one id, the one that moved: status rank, then the latest time.

    new-api stores a second row after /mj/submit/modal and refreshes only one of them; the
    first row in the answer is not necessarily the live one. Ties keep the earlier row. The
    continued row's action says MODAL; the kept task carries the action of the row that names
    it (CUSTOM_ZOOM, INPAINT).
    """
    best: Task | None = None
    for row in rows:
        if best is None or (status_rank(row), _latest(row), row.progress or 0) > (
            status_rank(best),
            _latest(best),
            best.progress or 0,
        ):
            best = row
    if best is None:
        raise ValueError("no rows")
    if best.action == "MODAL":
        # new-api names the continued row's action MODAL: keep the one that says what it is.
        named = next((r.action for r in rows if r.action not in ("", "MODAL")), "")
        if named:
            return dataclasses.replace(best, action=named)
    return best
