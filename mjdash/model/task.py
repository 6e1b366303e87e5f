"""The Midjourney task model: tolerant parsing of whatever the server sends.

Every server string passes through `clean()` here, once, so nothing downstream has to
remember that prompts and fail reasons are hostile (docs/reliability.md, rule 7).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from enum import Enum
from operator import attrgetter
from typing import Any

# Lengths past which server text is cut: a 1 MB prompt must not reach a widget.
MAX_TEXT = 8000
MAX_FIELD = 2000
MAX_ID = 64

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# C0 controls except tab and newline, DEL, C1 controls, bidi overrides and isolates.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f" + _BIDI + "]")
_CONTROL_SINGLE_LINE_RE = re.compile(r"[\x00-\x1f\x7f-\x9f" + _BIDI + "]")


def clean(value: object, max_len: int = MAX_FIELD, *, single_line: bool = False) -> str:
    """Make server text inert: no escape sequences, no bidi tricks, bounded length.

    Non-strings become "" (None, lists, dicts) or their plain text (numbers).
    """
    if (
        isinstance(value, str)
        and len(value) <= max_len
        and value.isprintable()  # no Cc/Cf/Cs/Zl/Zp: no controls, bidi marks or surrogates
        and (not single_line or value == value.strip())
    ):
        return value  # the common case, and the cache's hot path: nothing to clean
    if value is None or isinstance(value, (dict, list, tuple)):
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = repr(value) if isinstance(value, float) else str(value)
    elif isinstance(value, str):
        text = value
    else:
        return ""
    if len(text) > max_len * 4:
        # Cut before the regex pass so a 10 MB string costs little.
        text = text[: max_len * 4]
    if single_line:
        text = _CONTROL_SINGLE_LINE_RE.sub(" ", text.replace("\r\n", " ")).strip()
    else:
        text = _CONTROL_RE.sub("", text.replace("\r\n", "\n"))
    # Lone surrogates cannot be encoded to the terminal.
    text = text.encode("utf-8", "replace").decode("utf-8")
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return text


class Status(Enum):
    PENDING = "PENDING"  # "" right after submit, before the gateway's first refresh
    NOT_START = "NOT_START"
    SUBMITTED = "SUBMITTED"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    MODAL = "MODAL"
    CANCEL = "CANCEL"
    UNKNOWN = "UNKNOWN"  # a value we do not know; Task.status_raw keeps the text

    # Members are singletons compared by identity: the identity hash is right, and Enum's own
    # __hash__ (Python code hashing the name) is a measurable cost at 10,000 tasks a poll.
    __hash__ = object.__hash__

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_running(self) -> bool:
        return self in _ACTIVE

    @property
    def group(self) -> str:
        """How counts group it: done, failed, running, queued, modal, or other."""
        return _GROUPS[self]


_TERMINAL = frozenset({Status.SUCCESS, Status.FAILURE, Status.CANCEL})
_ACTIVE = frozenset({Status.PENDING, Status.NOT_START, Status.SUBMITTED, Status.IN_PROGRESS})
_GROUPS = {
    Status.SUCCESS: "done",
    Status.FAILURE: "failed",
    Status.CANCEL: "failed",
    Status.IN_PROGRESS: "running",
    Status.PENDING: "queued",
    Status.NOT_START: "queued",
    Status.SUBMITTED: "queued",
    Status.MODAL: "modal",
    Status.UNKNOWN: "other",
}
_STATUS_BY_TEXT = {s.value: s for s in Status if s not in (Status.PENDING, Status.UNKNOWN)}
_STATUS_TEXT = {s: s.value for s in Status}


def parse_status(value: object) -> tuple[Status, str]:
    """Return the status and the raw (cleaned) text it came from."""
    raw = clean(value, 40, single_line=True)
    if value is None or raw == "":
        return (Status.PENDING if value == "" else Status.UNKNOWN), raw
    return _STATUS_BY_TEXT.get(raw.upper(), Status.UNKNOWN), raw


def parse_progress(value: object) -> int | None:
    """ "58%" -> 58; numbers and numeric strings accepted; clamped to 0..100; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value) if abs(value) < 1e300 else math.inf
    elif isinstance(value, str):
        text = value.strip().rstrip("%").strip()
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(number):
        return None
    return max(0, min(100, int(number)))


_MIN_MS = 946_684_800_000  # 2000-01-01
_MAX_MS = 7_258_118_400_000  # 2200-01-01


def parse_epoch_ms(value: object) -> datetime | None:
    """Epoch milliseconds (int, float or numeric string) to an aware datetime; 0 is unset.

    A value that reads as seconds (some proxies) is taken as seconds.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    # Also refuses NaN, infinities and ints too large for a float.
    if not isinstance(value, (int, float)) or not 0 < value < 1e300:
        return None
    ms = float(value)
    if ms < _MIN_MS / 1000 * 100:  # far too small for ms: seconds
        ms *= 1000
    if not _MIN_MS <= ms <= _MAX_MS:
        return None
    # Whole milliseconds, as the server counts and as to_api_dict writes them back.
    return datetime.fromtimestamp(round(ms) / 1000, tz=UTC)


def _to_ms(value: datetime | None) -> int:
    return 0 if value is None else round(value.timestamp() * 1000)


# --- buttons --------------------------------------------------------------------------------

_PAN_RE = re.compile(r"^MJ::JOB::pan_(left|right|up|down)::")
_UPSCALE_RE = re.compile(r"^MJ::JOB::upsample::([1-4])::")
_VARIATION_RE = re.compile(r"^MJ::JOB::variation::([1-4])::")
_UPSCALE_HD_RE = re.compile(r"^MJ::JOB::upsample_v[0-9a-z]*_(2x|4x)(?:_(subtle|creative))?::")
_OUTPAINT_RE = re.compile(r"^MJ::Outpaint::(\d+)::")
_DESCRIBE_RE = re.compile(r"^MJ::Job::PicReader::([1-4])\b")
_SHORTEN_RE = re.compile(r"^MJ::Job::PromptAnalyzer::[^:]*::SOLO::([1-9])\b")


def describe_custom_id(custom_id: str) -> tuple[str, str] | None:
    """(kind, readable name) for a known customId format, None for an unknown one."""
    if m := _UPSCALE_RE.match(custom_id):
        return "upscale", f"U{m[1]}"
    if m := _VARIATION_RE.match(custom_id):
        return "variation", f"V{m[1]}"
    if custom_id.startswith("MJ::JOB::reroll::"):
        return "reroll", "Reroll"
    if m := _UPSCALE_HD_RE.match(custom_id):
        flavour = m[2].capitalize() if m[2] else m[1]
        return "upscale_hd", f"Upscale ({flavour})"
    if custom_id.startswith("MJ::JOB::low_variation::"):
        return "vary", "Vary (Subtle)"
    if custom_id.startswith("MJ::JOB::high_variation::"):
        return "vary", "Vary (Strong)"
    if custom_id.startswith("MJ::Inpaint::"):
        return "inpaint", "Vary (Region)"
    if m := _OUTPAINT_RE.match(custom_id):
        zoom = {"50": "2x", "75": "1.5x"}.get(m[1], f"{m[1]}%")
        return "zoom", f"Zoom Out {zoom}"
    if custom_id.startswith("MJ::CustomZoom::"):
        return "custom_zoom", "Custom Zoom"
    if m := _PAN_RE.match(custom_id):
        return "pan", f"Pan {m[1]}"
    if m := _DESCRIBE_RE.match(custom_id):
        return "describe", f"Describe {m[1]}"
    if custom_id.startswith("MJ::Picread::Retry"):
        return "describe_retry", "Reroll"
    if m := _SHORTEN_RE.match(custom_id):
        return "shorten", f"Shortened {m[1]}"
    if custom_id == "MJ::BOOKMARK" or custom_id.startswith("MJ::BOOKMARK::"):
        return "bookmark", "Bookmark"
    return None


_KEYCAP_RE = re.compile("[0-9#*]\ufe0f?\u20e3")


def _is_wordy(label: str) -> bool:
    label = _KEYCAP_RE.sub("", label)  # 1️⃣ is an emoji, not the word "1"
    return any(ch.isalnum() and unicodedata.category(ch)[0] in "LN" for ch in label)


@dataclass(frozen=True, slots=True)
class Button:
    custom_id: str
    label: str = ""
    emoji: str = ""
    type: int | None = None
    style: int | None = None

    @property
    def kind(self) -> str:
        known = describe_custom_id(self.custom_id)
        return known[0] if known else "unknown"

    @property
    def name(self) -> str:
        """A readable name: the label when it is words, else one derived from the customId."""
        if _is_wordy(self.label):
            return self.label
        known = describe_custom_id(self.custom_id)
        if known:
            return known[1]
        return self.label or self.emoji or self.custom_id

    @property
    def opens_modal(self) -> bool:
        """Custom Zoom and Vary (Region) answer code 21 and need /mj/submit/modal."""
        return self.kind in ("custom_zoom", "inpaint")

    @property
    def starts_task(self) -> bool:
        """Whether pressing it makes a new task (and spends credits): not the ❤️ bookmark, which
        trueai answers with the parent's own id."""
        return self.kind != "bookmark"

    def to_api_dict(self) -> dict[str, Any]:
        return {
            "customId": self.custom_id,
            "emoji": self.emoji,
            "label": self.label,
            "type": self.type,
            "style": self.style,
        }


def _parse_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def parse_buttons(value: object) -> tuple[Button, ...]:
    if not isinstance(value, list):
        return ()
    buttons = []
    for item in value[:100]:
        if not isinstance(item, dict):
            continue
        custom_id = clean(item.get("customId"), 500, single_line=True)
        if not custom_id:
            continue
        buttons.append(
            Button(
                custom_id=custom_id,
                label=clean(item.get("label"), 80, single_line=True),
                emoji=clean(item.get("emoji"), 16, single_line=True),
                type=_parse_int(item.get("type")),
                style=_parse_int(item.get("style")),
            )
        )
    return tuple(buttons)


# --- tasks ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    status: Status = Status.UNKNOWN
    status_raw: str = ""
    action: str = ""
    progress: int | None = None
    submit_time: datetime | None = None
    start_time: datetime | None = None
    finish_time: datetime | None = None
    prompt: str = ""
    prompt_en: str = ""
    final_prompt: str = ""
    description: str = ""
    fail_reason: str = ""
    image_url: str = ""
    video_url: str = ""
    custom_id: str = ""
    bot_type: str = ""
    state: str = ""
    has_mask: bool = False
    buttons: tuple[Button, ...] = field(default=())
    video_urls: tuple[str, ...] = ()  # videoUrls[] (new-api, trueai)
    image_urls: tuple[str, ...] = ()  # imageUrls[]: a grid's four images, where set
    parent_id: str = ""  # trueai's parentId: the task whose button made this one
    video_thumbnails: tuple[str, ...] = ()  # videoUrls[].thumbnail, where the server lists them

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @property
    def needs_polling(self) -> bool:
        """Terminal tasks never change again; MODAL ones wait for the user."""
        return not self.status.is_terminal and self.status is not Status.MODAL

    @property
    def status_text(self) -> str:
        """The status as shown: unknown values as the server sent them."""
        status = self.status
        if status is Status.UNKNOWN:
            return self.status_raw or "?"
        return _STATUS_TEXT[status]  # (Enum's .value is a Python-level descriptor)

    def elapsed(
        self,
        now: datetime,
        *,
        first_seen_final: datetime | None = None,
        modal_since: datetime | None = None,
    ) -> timedelta | None:
        """Finish (or now) minus start (or submit).

        A final task without a finish time (new-api's timeout leaves 0, proxies null) stops at
        `first_seen_final`, when mjdash first saw it final. A MODAL task counts from
        `modal_since` (when it was first seen MODAL) or its submit time: it has not started.
        """
        if self.status is Status.MODAL:
            begin = modal_since or self.submit_time
            return None if begin is None else max(now - begin, timedelta(0))
        begin = self.start_time or self.submit_time
        if begin is None:
            return None
        end = self.finish_time or (first_seen_final if self.is_terminal else None) or now
        return max(end - begin, timedelta(0))

    @property
    def clock_stops_when_seen(self) -> bool:
        """Final with no finish time: the board must note when it first saw it final."""
        return self.is_terminal and self.finish_time is None

    @property
    def shown_prompt(self) -> str:
        """What a prompt cell shows: prompt, else promptEn / finalPrompt, "blend" for a blend."""
        if self.prompt.strip():
            return self.prompt
        if self.action == "DESCRIBE":
            return "describe"
        fallback = self.prompt_en.strip() or self.final_prompt.strip()
        if fallback:
            return fallback
        return "blend" if self.action == "BLEND" else ""

    @property
    def video_links(self) -> tuple[str, ...]:
        """videoUrl then videoUrls[], each once (trueai repeats the first in both)."""
        links = [self.video_url, *self.video_urls] if self.video_url else list(self.video_urls)
        return tuple(dict.fromkeys(link for link in links if link))

    @property
    def queue_wait(self) -> timedelta | None:
        if self.submit_time is None or self.start_time is None:
            return None
        return max(self.start_time - self.submit_time, timedelta(0))

    @property
    def render_time(self) -> timedelta | None:
        if self.start_time is None or self.finish_time is None:
            return None
        return max(self.finish_time - self.start_time, timedelta(0))

    def to_api_dict(self) -> dict[str, Any]:
        """The task in the server's own shape; `parse_task` reads it back unchanged."""
        return {
            "id": self.id,
            "action": self.action,
            "customId": self.custom_id,
            "botType": self.bot_type,
            "prompt": self.prompt,
            "promptEn": self.prompt_en,
            "description": self.description,
            "state": self.state,
            "submitTime": _to_ms(self.submit_time),
            "startTime": _to_ms(self.start_time),
            "finishTime": _to_ms(self.finish_time),
            "imageUrl": self.image_url,
            "videoUrl": self.video_url,
            "status": "" if self.status is Status.PENDING else (self.status_raw or None),
            "progress": "" if self.progress is None else f"{self.progress}%",
            "failReason": self.fail_reason,
            "buttons": [b.to_api_dict() for b in self.buttons],
            **_links_to_api(self),
            "maskBase64": "x" if self.has_mask else "",
            "properties": {"finalPrompt": self.final_prompt, "finalZhPrompt": ""},
            "parentId": self.parent_id,
        }


@dataclass(frozen=True, slots=True)
class BadTask:
    """The server answered something that is not a task."""

    reason: str
    task_id: str | None = None


_ID_CHARS_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def parse_task(obj: object, expected_id: str | None = None) -> Task | BadTask:
    """Read one task object; never raises. Unknown keys are ignored, missing ones defaulted."""
    try:
        return _parse_task(obj, expected_id)
    except Exception as exc:
        return BadTask(f"unreadable task ({type(exc).__name__})", expected_id)


def _parse_task(obj: object, expected_id: str | None) -> Task | BadTask:
    if not isinstance(obj, dict):
        kind = "null" if obj is None else type(obj).__name__
        return BadTask(f"expected a task object, got {kind}", expected_id)
    task_id = clean(obj.get("id"), MAX_ID, single_line=True)
    if not task_id and "status" not in obj:
        # An error envelope in a 200 ({"code": 4, "description": "..."}) or junk.
        message = clean(obj.get("description"), 200, single_line=True) or clean(
            (obj.get("error") or {}).get("message") if isinstance(obj.get("error"), dict) else "",
            200,
            single_line=True,
        )
        return BadTask(f"server error: {message}" if message else "not a task", expected_id)
    task_id = task_id or (expected_id or "")
    if not _ID_CHARS_RE.match(task_id):
        return BadTask("task without a usable id", expected_id)
    status, status_raw = parse_status(obj.get("status"))
    properties = obj.get("properties")
    final_prompt = ""
    if isinstance(properties, dict):
        final_prompt = clean(properties.get("finalPrompt"), MAX_TEXT)
    mask = obj.get("maskBase64")
    return Task(
        id=task_id,
        status=status,
        status_raw=status_raw,
        action=clean(clean(obj.get("action"), 40, single_line=True).upper(), 40, single_line=True),
        progress=parse_progress(obj.get("progress")),
        submit_time=parse_epoch_ms(obj.get("submitTime")),
        start_time=parse_epoch_ms(obj.get("startTime")),
        finish_time=parse_epoch_ms(obj.get("finishTime")),
        prompt=clean(obj.get("prompt"), MAX_TEXT),
        prompt_en=clean(obj.get("promptEn"), MAX_TEXT),
        final_prompt=final_prompt,
        description=clean(obj.get("description"), MAX_FIELD),
        fail_reason=clean(obj.get("failReason"), MAX_FIELD),
        image_url=clean(obj.get("imageUrl"), MAX_FIELD, single_line=True),
        video_url=clean(obj.get("videoUrl"), MAX_FIELD, single_line=True),
        custom_id=clean(obj.get("customId"), 500, single_line=True),
        bot_type=clean(obj.get("botType"), 40, single_line=True),
        state=clean(obj.get("state"), MAX_FIELD, single_line=True),
        has_mask=isinstance(mask, str) and bool(mask),
        buttons=parse_buttons(obj.get("buttons")),
        video_urls=_parse_urls(obj.get("videoUrls")),
        image_urls=_parse_urls(obj.get("imageUrls")),
        parent_id=_parse_parent(obj.get("parentId")),
        video_thumbnails=_urls(obj.get("videoUrls"), "thumbnail"),
    )


def moved(task: Task, obj: dict[str, Any]) -> Task:
    """`task` with the progress and preview URL of `obj`, the next answer for it, when nothing
    else in the answer changed: what parse_task would give (tested), at a fraction of its cost
    (a running batch's answers mostly move only these two)."""
    values = list(_TASK_VALUES(task))
    values[_PROGRESS_AT] = parse_progress(obj.get("progress"))
    values[_IMAGE_URL_AT] = clean(obj.get("imageUrl"), MAX_FIELD, single_line=True)
    return Task(*values)  # (dataclasses.replace takes twice as long: keyword arguments)


_TASK_FIELDS = tuple(f.name for f in fields(Task))
_TASK_VALUES = attrgetter(*_TASK_FIELDS)
_PROGRESS_AT = _TASK_FIELDS.index("progress")
_IMAGE_URL_AT = _TASK_FIELDS.index("image_url")


def _parse_urls(value: object) -> tuple[str, ...]:
    """`[{"url": ...}]` (new-api, trueai) or plain strings; at most 16, each once."""
    if not isinstance(value, list):
        return ()
    urls: list[str] = []
    for item in value[:16]:
        raw = item.get("url") if isinstance(item, dict) else item
        url = clean(raw, MAX_FIELD, single_line=True) if isinstance(raw, str) else ""
        if url and url not in urls:
            urls.append(url)
    return tuple(urls)


def _parse_parent(value: object) -> str:
    ok = isinstance(value, (str, int)) and not isinstance(value, bool)
    text = clean(value, MAX_ID, single_line=True) if ok else ""
    return text if _ID_CHARS_RE.match(text) else ""


def _urls(value: object, key: str) -> tuple[str, ...]:
    """`[{"url": ...}, ...]` (or plain strings) -> the non-empty links, at most 8."""
    if not isinstance(value, list):
        return ()
    links = []
    for item in value[:8]:
        link = item.get(key) if isinstance(item, dict) else (item if key == "url" else "")
        text = clean(link, MAX_FIELD, single_line=True) if isinstance(link, str) else ""
        if text:
            links.append(text)
    return tuple(links)


def _links_to_api(task: Task) -> dict:
    out: dict = {}
    if task.image_urls:
        out["imageUrls"] = [{"url": url} for url in task.image_urls]
    if task.video_urls or task.video_thumbnails:
        count = max(len(task.video_urls), len(task.video_thumbnails))
        out["videoUrls"] = [
            {
                "url": task.video_urls[i] if i < len(task.video_urls) else "",
                "thumbnail": task.video_thumbnails[i] if i < len(task.video_thumbnails) else "",
            }
            for i in range(count)
        ]
    return out


# --- task ids in pasted text ----------------------------------------------------------------

# Ids are submit epoch-ms plus random digits: 16 or more digits. `rand=` previews are not ids.
_TASK_ID_RE = re.compile(r"(?<![0-9A-Za-z])([0-9]{16,20})(?![0-9A-Za-z])")
_EXACT_ID_RE = re.compile(r"[0-9]{16,20}")


# Task ids start with their submit time in epoch milliseconds.
_ID_EPOCH_MS = (1_420_070_400_000, 4_102_444_800_000)  # 2015-01-01 .. 2100-01-01


def short_id(task_id: str) -> str:
    """The tail of the id for messages ("…12345678"): ids start with the submit time, so the
    tail is what differs."""
    return task_id if len(task_id) <= 9 else "…" + task_id[-8:]


def is_task_id(text: str) -> bool:
    """16-20 digits whose first 13 read as a submit time in 2015..2100 (not 0000000000000000)."""
    return bool(_EXACT_ID_RE.fullmatch(text)) and _plausible_time(text)


def _plausible_time(task_id: str) -> bool:
    return _ID_EPOCH_MS[0] <= int(task_id[:13]) <= _ID_EPOCH_MS[1]


def extract_task_ids(text: str) -> list[str]:
    """Every task id in any text: bare ids, submit answers, image URLs, log lines.

    Order kept, duplicates dropped. Skipped: the `?rand=` number of a preview URL, and long
    numbers whose first 13 digits are not a submit time in 2015..2100 (a submit answer's
    `discordInstanceId` is a Discord snowflake, 19 digits that read as 2009).
    """
    seen: dict[str, None] = {}
    for match in _TASK_ID_RE.finditer(text):
        if text[max(0, match.start() - 5) : match.start()] == "rand=":
            continue
        if not _plausible_time(match[1]):
            continue
        seen.setdefault(match[1], None)
    return list(seen)
