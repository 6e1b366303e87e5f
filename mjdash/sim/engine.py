"""Simulated Midjourney tasks over an injectable clock; no HTTP here (server.py serves it).

Each task gets a plan when it is created: a handful of timestamps drawn from the engine's
seeded RNG (queue phases, render time, failure or stall). Everything shown (status, progress,
buttons, image URL) is computed from the plan and the clock when read, so 10,000 seeded tasks
cost a few floats each until someone fetches them. `speed` divides every duration.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mjdash.sim import buttons as btn
from mjdash.sim import flavors, texts
from mjdash.sim import images as sim_images

Clock = Callable[[], float]

# Submit answer codes (docs/api.md).
OK = 1
NOT_FOUND = 3
VALIDATION = 4
SYSTEM_ERROR = 9
EXISTS_OR_MODAL = 21
QUEUED = 22
QUEUE_FULL = 23
BANNED = 24
FORCEABLE_CODES = (VALIDATION, SYSTEM_ERROR, QUEUED, QUEUE_FULL, BANNED)

# Simulated seconds (divided by `speed`): "" -> NOT_START -> SUBMITTED -> IN_PROGRESS.
QUEUE_PHASES = ((0.3, 1.5), (0.5, 2.0), (1.0, 4.0))
QUEUED_EXTRA = (20.0, 40.0)  # the wait of a submit answered 22
GRID_RENDER = (30.0, 60.0)
DESCRIBE_RENDER = (4.0, 10.0)
NO_PROGRESS_TIMEOUT = 3600.0  # new-api fails a task after an hour without progress

MODAL_DESCRIPTION = "Waiting for window confirm"
_INSTANCE = {"discordInstanceId": "1257438470981632000"}
_ZOOM_RE = re.compile(r"--zoom\s+([0-9]*\.?[0-9]+)")
INF = math.inf


class ManualClock:
    """A clock for tests: epoch seconds that move only when told."""

    def __init__(self, start: float = 1_773_314_942.177) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@dataclass(slots=True, eq=False)
class SimTask:
    """One task and its plan. Times are epoch seconds on the engine's clock."""

    id: str
    action: str
    kind: str  # buttons.GRID / UPSCALE / DESCRIBE: what the finished task shows
    prompt: str
    owner: str | None  # the key that created it; None: visible to every key
    submit: float
    seed: int  # per-task RNG seed: progress steps, message hash, colours
    not_start_at: float = INF  # "" -> NOT_START
    submitted_at: float = INF  # NOT_START -> SUBMITTED; this is startTime
    progress_at: float = INF  # SUBMITTED -> IN_PROGRESS
    render: float = 0.0  # planned IN_PROGRESS duration
    finish_at: float = INF  # -> SUCCESS
    fail_at: float = INF  # -> FAILURE (wins over everything once reached)
    fail_reason: str = ""
    stall_pct: int | None = None  # a stuck task holds this percentage until it times out
    custom_id: str = ""
    bot_type: str = ""
    state: str = ""
    description: str = "Submit success"
    mask: str = ""
    waiting_modal: bool = False
    modal_fail_at: float = INF  # new-api's 1-hour sweep fails a MODAL task too
    frozen: dict[str, Any] | None = None  # new-api: the first row, kept after a modal submit
    parent: str = ""
    overrides: dict[str, Any] | None = None  # raw JSON fields (hostile seeding)
    children: dict[str, str] = field(default_factory=dict)  # customId -> child id
    _steps: list[tuple[float, int]] | None = None
    _hash: str | None = None

    def message_hash(self) -> str:
        """The UUID in this task's button customIds, fresh per task."""
        if self._hash is None:
            bits = random.Random(self.seed ^ 0x5EED).getrandbits(128)
            self._hash = str(uuid.UUID(int=bits, version=4))
        return self._hash

    def steps(self) -> list[tuple[float, int]]:
        """(fraction of render time, percent) pairs: uneven jumps, like Midjourney's."""
        if self._steps is None:
            rng = random.Random(self.seed)
            count = rng.randint(3, 7)
            percents = sorted(rng.sample(range(2, 99), count))
            fractions = sorted(rng.uniform(0.04, 0.96) for _ in range(count))
            steps = [(0.0, 0), *zip(fractions, percents, strict=True)]
            if self.stall_pct is not None:
                # Reach the stall point halfway through, then hold it.
                below = [(f * 0.45, p) for f, p in steps if p < self.stall_pct]
                steps = [*below, (0.5, self.stall_pct)] if self.stall_pct else [(0.0, 0)]
            self._steps = steps
        return self._steps

    def status(self, now: float) -> str:
        if self.waiting_modal:
            return "FAILURE" if now >= self.modal_fail_at else "MODAL"
        if now >= self.fail_at:
            return "FAILURE"
        if now < self.not_start_at:
            return ""
        if now < self.submitted_at:
            return "NOT_START"
        if now < self.progress_at:
            return "SUBMITTED"
        if now < self.finish_at:
            return "IN_PROGRESS"
        return "SUCCESS"

    def percent(self, now: float) -> int:
        fraction = (now - self.progress_at) / self.render if self.render > 0 else 1.0
        shown = 0
        for at, pct in self.steps():
            if at <= fraction:
                shown = pct
        return shown


def _ms(seconds: float) -> int:
    return int(seconds * 1000) if math.isfinite(seconds) else 0


# Marks an answer made by a test switch (force_code, --queued): servers do not rewrite its code.
SWITCHED = flavors.SWITCHED


def _switched(answer: dict[str, Any]) -> dict[str, Any]:
    return {**answer, SWITCHED: True}


def _answer(
    code: int, description: str, result: str | None = None, properties: dict | None = None
) -> dict[str, Any]:
    return {
        "code": code,
        "description": description,
        "result": result,
        "properties": properties if properties is not None else {},
    }


def _accepted(task_id: str, ahead: int = 0) -> dict[str, Any]:
    """A submit taken: code 1, or (a test switch) 22 "queued" with `ahead` tasks before it."""
    if not ahead:
        return _answer(OK, "Submit success", task_id, dict(_INSTANCE))
    properties = {"numberOfQueues": ahead, **_INSTANCE}
    return _switched(_answer(QUEUED, f"排队中，前面还有{ahead}个任务", task_id, properties))


@dataclass(frozen=True)
class _Outcome:
    """How a scheduled task ends: success, a failure (quick or mid-render), or stuck."""

    fail_reason: str = ""
    quick: bool = False  # fails about a second after it starts, like a parameter error
    fail_fraction: float = 0.5  # a render failure: how far it gets
    stall_pct: int | None = None  # stuck: holds this percent; -1 stays SUBMITTED


_Q = (1.0, 1.5, 2.0)  # a short queue: "" -> NOT_START -> SUBMITTED -> IN_PROGRESS
# The demo batch: (key, action, prompt ("" = the parent's), submitted seconds ago, render seconds,
# queue phases, outcome, parent key, customId pressed on the parent ({h}: its message hash)).
# Times are simulated seconds: at speed 1 some finish within 30 s, some run for minutes.
_DEMO_PLAN: list[tuple[str, str, str, float, float, tuple, Any, str, str]] = [
    ("boat", "IMAGINE", "a paper boat on calm water, sunrise --v 6.1", 1800, 41, _Q, None, "", ""),
    ("boat_u2", "UPSCALE", "", 1500, 9, _Q, None, "boat", "MJ::JOB::upsample::2::{h}"),
    ("zoom", "CUSTOM_ZOOM", "", 1200, 0, _Q, "modal", "boat_u2", "MJ::CustomZoom::{h}"),
    ("pan", "PAN", "", 29, 45, _Q, None, "boat_u2", "MJ::JOB::pan_right::1::{h}::SOLO"),
    ("cat", "IMAGINE", "cute cat girl --niji 6", 900, 38, _Q, None, "", ""),
    ("cat_v3", "VARIATION", "", 32, 40, _Q, None, "cat", "MJ::JOB::variation::3::{h}"),
    ("cat_u4", "UPSCALE", "", 8.5, 10, _Q, None, "cat", "MJ::JOB::upsample::4::{h}"),
    ("library", "IMAGINE", "isometric cozy library, warm light --ar 3:2", 24, 50, _Q, None, "", ""),
    ("storm", "IMAGINE", "lighthouse in a storm, oil painting --v 6.1", 34, 240, _Q, None, "", ""),
    ("koi", "IMAGINE", "neon koi in a rainy Tokyo alley --ar 9:16", 0, 50, (2, 3, 4), None, "", ""),
    ("caravan", "IMAGINE", "desert caravan at dusk --ar 21:9", 3, 120, (1, 90, 5), None, "", ""),
    ("fisherman", "IMAGINE", "portrait of an old fisherman, rim light --v 6.1", 54, 60, _Q,
     _Outcome(stall_pct=93), "", ""),
    ("bad_ar", "IMAGINE", "a cat --ar 99:1", 600, 40, _Q,
     _Outcome("[Invalid parameter] Invalid value", quick=True), "", ""),
    ("robot", "IMAGINE", "a tiny robot watering a bonsai tree --v 7", 300, 45, _Q,
     _Outcome("Request cancelled due to image filters", fail_fraction=0.6), "", ""),
    ("describe", "DESCRIBE", texts.DESCRIBE_SOURCE, 2400, 6, _Q, None, "", ""),
    ("reader", "IMAGINE", "", 2000, 44, _Q, None, "describe", "MJ::Job::PicReader::1"),
    ("shorten", "SHORTEN", "a very long and winding prompt about a quiet harbour town at dawn, "
     "fishing boats, gulls, soft mist, pastel colours --v 6.1", 700, 5, _Q, None, "", ""),
    ("blend", "BLEND", "", 650, 42, _Q, None, "", ""),
    ("video", "VIDEO", "", 500, 60, _Q, None, "boat_u2", ""),
    ("region", "INPAINT", "", 1100, 45, _Q, "continued", "boat_u2", "MJ::Inpaint::1::{h}::SOLO"),
]  # fmt: skip
# Kinds a family has no such task for (docs/api.md: novicezk has no MODAL, SHORTEN or VIDEO).
_UNSUPPORTED = {"novicezk": {"CUSTOM_ZOOM", "INPAINT", "SHORTEN", "VIDEO", "PAN"}}
_KIND_OF_ACTION = {
    "UPSCALE": btn.UPSCALE,
    "DESCRIBE": btn.DESCRIBE,
    "SHORTEN": btn.SHORTEN,
    "VIDEO": btn.VIDEO,
}


class Engine:
    """The simulated service. Thread-safe: the server thread and tests may call it at once.

    Ways to reach every submit code: an empty prompt answers 4; an unknown task 3; prompts with
    `--banned` or a word in `banned_words` answer 24, `--queued` 22, `--queue-full` 23, `--fail`
    submit fine and then fail; `force_code` (4, 9, 22, 23 or 24) makes every imagine and action
    answer that code until set back to None.
    """

    def __init__(
        self,
        clock: Clock = time.time,
        seed: int = 0,
        speed: float = 1.0,
        fail_rate: float = 0.05,
        flavor: str = "newapi",
    ) -> None:
        self.flavor = flavors.get(flavor)
        if not speed > 0:
            raise ValueError("speed must be above 0")
        self.clock = clock
        self.seed = seed
        self.speed = float(speed)
        self.fail_rate = fail_rate
        self.base_url = "http://127.0.0.1"  # image URLs when no request gives one
        self.image_size = 128  # --image-size: pixels a side (Midjourney's grids are 2048)
        self.image_format = "png"  # --image-format: png, jpeg, webp or mixed (sim/images.py)
        self.banned_words: set[str] = {"badword"}
        self._force_code: int | None = None
        self._rng = random.Random(f"tasks:{seed}")
        self._list_rng = random.Random(f"list:{seed}")
        self._tasks: dict[str, SimTask] = {}
        self._lock = threading.RLock()

    @property
    def force_code(self) -> int | None:
        """Every imagine/action submit answers this code (4, 9, 22, 23 or 24); None: off."""
        return self._force_code

    @force_code.setter
    def force_code(self, code: int | None) -> None:
        if code is not None and code not in FORCEABLE_CODES:
            raise ValueError(f"force_code must be one of {FORCEABLE_CODES} or None")
        self._force_code = code

    # --- reading ------------------------------------------------------------------------

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._tasks)

    def parent_of(self, task_id: str) -> str:
        """The task whose button created `task_id` ("" for a root or an unknown id)."""
        with self._lock:
            task = self._tasks.get(task_id)
            return task.parent if task is not None else ""

    def __len__(self) -> int:
        return len(self._tasks)

    def task_json(
        self, task_id: str, *, owner: str | None = None, base_url: str | None = None
    ) -> dict[str, Any] | None:
        """The task as the API shows it now, every key present; None if unknown to `owner`."""
        with self._lock:
            task = self._visible(task_id, owner)
            if task is None:
                return None
            if task.frozen is not None:
                return dict(task.frozen)  # new-api's fetch keeps answering the first row
            return self._render(task, self.clock(), base_url or self.base_url)

    def list_json(
        self, ids: Iterable[str], *, owner: str | None = None, base_url: str | None = None
    ) -> list[dict[str, Any]]:
        """Batch fetch: unknown ids left out, each id once, never in request order."""
        with self._lock:
            now = self.clock()
            wanted = list(dict.fromkeys(ids))
            found = [t for t in (self._visible(i, owner) for i in wanted) if t is not None]
            in_request_order = list(found)
            self._list_rng.shuffle(found)
            if len(found) > 1 and found == in_request_order:
                found = found[1:] + found[:1]  # a shuffle may land on request order
            base = base_url or self.base_url
            rows: list[dict[str, Any]] = []
            for task in found:
                if task.frozen is not None:
                    # new-api: the MODAL row first, then the one that moves (action MODAL).
                    rows.append(dict(task.frozen))
                    rows.append({**self._render(task, now, base), "action": "MODAL"})
                else:
                    rows.append(self._render(task, now, base))
            return rows

    def status(self, task_id: str) -> str | None:
        """The status text now ("" right after submit); None for an unknown id."""
        with self._lock:
            task = self._tasks.get(task_id)
            return None if task is None else task.status(self.clock())

    def image(self, task_id: str) -> bytes | None:
        """The bytes of a task's image (a dim preview while running), else None."""
        found = self.media(task_id)
        return found[0] if found else None

    def media(self, name: str) -> tuple[bytes, str] | None:
        """(bytes, media type) for GET /mj/image/<name>: `<id>` the task's image, `<id>~1`..`~4`
        a grid's four images, `<id>~mp4` / `<id>~thumb` a video and its WebP thumbnail."""
        task_id, _, part = name.partition("~")
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return None
            status = task.status(self.clock())
            kind, seed, action = task.kind, task.seed, task.action
        if status not in ("IN_PROGRESS", "SUCCESS"):
            return None
        if part in ("mp4", "thumb") and action != "VIDEO":
            return None
        if part == "mp4" or (action == "VIDEO" and not part):
            return (sim_images.mp4(seed), "video/mp4") if status == "SUCCESS" else None
        if part == "thumb":
            return sim_images.thumbnail(seed, self.image_size)
        number = int(part) if part in ("1", "2", "3", "4") else 0
        if part and not number:
            return None
        return sim_images.task_image(
            seed,
            grid=kind == btn.GRID and not number,
            dim=status == "IN_PROGRESS",
            size=self.image_size,
            fmt=self.image_format,
            part=number,
        )

    def place_video(self, ago: float = 120.0) -> str:
        """A finished VIDEO task (videoUrls with MP4 links and WebP thumbnails); its id."""
        return self._place("VIDEO", btn.VIDEO, "a paper boat drifting", ago=ago, render=20).id

    def _visible(self, task_id: object, owner: str | None) -> SimTask | None:
        if not isinstance(task_id, str):
            return None
        task = self._tasks.get(task_id)
        if task is None or (owner is not None and task.owner not in (None, owner)):
            return None
        return task

    def _buttons(self, task: SimTask) -> list[dict[str, Any]]:
        if task.overrides and "buttons" in task.overrides:
            return list(task.overrides["buttons"] or [])
        bookmark = self.flavor.bookmark()
        return btn.buttons_for(task.kind, task.message_hash(), task.prompt, bookmark=bookmark)

    def _prompt_en(self, task: SimTask, status: str) -> str:
        if task.kind == btn.DESCRIBE:
            return self._result_text(task, status)
        return task.prompt

    def _result_text(self, task: SimTask, status: str) -> str:
        """A finished describe's four suggestions or a shorten's five prompts, else ""."""
        if status != "SUCCESS":
            return ""
        if task.kind == btn.DESCRIBE:
            rng = random.Random(task.seed ^ 0xDE5C)
            return texts.describe_text(texts.describe_suggestions(rng))
        if task.kind == btn.SHORTEN:
            return texts.shorten_text(task.prompt)
        return ""

    def _status(self, task: SimTask, now: float) -> str:
        status = task.status(now)
        if status == "" and not self.flavor.pending_status:
            return "NOT_START"
        return status

    def _view(self, task: SimTask, status: str, base_url: str) -> flavors.TaskView:
        parent = self._tasks.get(task.parent)
        videos: tuple[str, ...] = ()
        images: tuple[str, ...] = ()
        if status == "SUCCESS" and task.kind == btn.VIDEO:
            videos = tuple(f"{base_url}/mj/video/{task.id}/{n}.mp4" for n in range(1, 5))
        elif status == "SUCCESS" and task.kind == btn.GRID:
            images = tuple(f"{base_url}/mj/image/{task.id}~{n}" for n in range(1, 5))
        return flavors.TaskView(
            status=status,
            kind=task.kind,
            parent_id=task.parent,
            parent_action=parent.action if parent is not None else "",
            result_text=self._result_text(task, status),
            video_urls=videos,
            image_urls=images,
        )

    def _render(self, task: SimTask, now: float, base_url: str) -> dict[str, Any]:
        status = self._status(task, now)
        started = status in ("SUBMITTED", "IN_PROGRESS", "SUCCESS", "FAILURE")
        image_url = ""
        if status == "IN_PROGRESS":
            image_url = f"{base_url}/mj/image/{task.id}?rand={int(now * 1e9)}"
        elif status == "SUCCESS":
            image_url = f"{base_url}/mj/image/{task.id}"
        progress = {
            "": "",
            "NOT_START": "0%",
            "SUBMITTED": "0%",
            "MODAL": "0%",
            "IN_PROGRESS": f"{task.percent(now)}%",
        }.get(status, "100%")
        buttons: list[dict[str, Any]] | None = None
        if status == "SUCCESS":
            buttons = self._buttons(task)
        elif status in ("FAILURE", "MODAL"):
            buttons = []
        prompt_en = self._prompt_en(task, status)
        finish = task.finish_at if status == "SUCCESS" else task.fail_at
        data: dict[str, Any] = {
            "id": task.id,
            "action": task.action,
            "customId": task.custom_id,
            "botType": task.bot_type,
            "prompt": task.prompt,
            "promptEn": prompt_en,
            "description": task.description,
            "state": task.state,
            "submitTime": _ms(task.submit),
            "startTime": _ms(task.submitted_at) if started else 0,
            "finishTime": _ms(finish) if status in ("SUCCESS", "FAILURE") else 0,
            "imageUrl": image_url,
            "videoUrl": "",
            "status": status,
            "progress": progress,
            "failReason": task.fail_reason if status == "FAILURE" else "",
            "buttons": buttons,
            "maskBase64": task.mask,
            "properties": None
            if status in ("FAILURE", "MODAL")
            else {"finalPrompt": prompt_en, "finalZhPrompt": ""},
        }
        view = self._view(task, status, base_url)
        data["action"] = self.flavor.action_name(task.action, view)
        data = self.flavor.shape(data, view)
        if view.video_urls and isinstance(data.get("videoUrls"), list):
            # Each video's WebP thumbnail, as CometAPI lists it (the preview shows the first).
            thumb = f"{base_url}/mj/image/{task.id}~thumb"
            data["videoUrls"] = [{**entry, "thumbnail": thumb} for entry in data["videoUrls"]]
        if task.overrides:
            data.update(task.overrides)
        return data

    # --- submitting ---------------------------------------------------------------------

    def imagine(
        self,
        prompt: str,
        bot_type: str = "MID_JOURNEY",
        owner: str | None = None,
        *,
        state: str = "",
    ) -> dict[str, Any]:
        """POST /mj/submit/imagine. Prompt flags: --fail, --banned, --queued, --queue-full."""
        with self._lock:
            if not isinstance(prompt, str) or not prompt.strip():
                return _answer(VALIDATION, "Validation error: prompt is required")
            banned = self._banned_word(prompt)
            if banned or self.force_code == BANNED:
                properties = {"promptEn": prompt, "bannedWord": banned or "badword"}
                return _answer(BANNED, "可能包含敏感词", None, properties)
            if "--queue-full" in prompt or self.force_code == QUEUE_FULL:
                return _answer(*self.flavor.queue_full(), None, dict(_INSTANCE))
            if forced := self._forced_failure():
                return forced
            queued = "--queued" in prompt or self.force_code == QUEUED
            extra = self._rng.uniform(*QUEUED_EXTRA) if queued else 0.0
            task = self._create(
                "IMAGINE",
                btn.GRID,
                prompt,
                owner,
                render=self._rng.uniform(*GRID_RENDER),
                outcome=self._draw_outcome(prompt),
                queue_extra=extra,
                bot_type=bot_type if isinstance(bot_type, str) else "",
                state=state if isinstance(state, str) else "",
            )
            return _accepted(task.id, self._rng.randint(1, 5) if queued else 0)

    def action(
        self,
        task_id: str,
        custom_id: str,
        *,
        owner: str | None = None,
        state: str = "",
    ) -> dict[str, Any]:
        """POST /mj/submit/action: press one of a finished task's buttons."""
        with self._lock:
            if not isinstance(task_id, str) or not task_id:
                return _answer(VALIDATION, "Validation error: taskId is required")
            if not isinstance(custom_id, str) or not custom_id:
                return _answer(VALIDATION, "Validation error: customId is required")
            parent = self._visible(task_id, owner)
            if parent is None:
                return _answer(NOT_FOUND, "task_no_found")
            if self.force_code == BANNED:
                return _answer(BANNED, "可能包含敏感词", None, {"bannedWord": "badword"})
            if self.force_code == QUEUE_FULL:
                return _answer(*self.flavor.queue_full(), None, dict(_INSTANCE))
            if forced := self._forced_failure():
                return forced
            now = self.clock()
            if parent.status(now) != "SUCCESS":
                return _answer(VALIDATION, "Validation error: task status is not SUCCESS")
            if custom_id not in {b.get("customId") for b in self._buttons(parent)}:
                return _answer(VALIDATION, "Validation error: customId is not among the buttons")
            if custom_id == btn.BOOKMARK:  # older trueai: "ok", and the parent's own id
                return _accepted(parent.id)
            press = btn.press_for(custom_id)
            if press is None:
                return _answer(VALIDATION, "Validation error: unsupported customId")
            existing = self._visible(parent.children.get(custom_id, ""), owner)
            if existing is not None and btn.is_grid_upscale(custom_id):
                return _answer(EXISTS_OR_MODAL, "任务已存在", existing.id, dict(_INSTANCE))
            prompt = parent.prompt
            if press.suggestion:
                prompt = texts.suggestion_from(
                    self._result_text(parent, "SUCCESS"), press.suggestion
                )
            state = state if isinstance(state, str) else ""
            if press.opens_modal:
                child = self._create_modal(press.action, prompt, owner, custom_id, parent.id)
                child.state = state
                parent.children[custom_id] = child.id
                return _answer(EXISTS_OR_MODAL, MODAL_DESCRIPTION, child.id, dict(_INSTANCE))
            child = self._create(
                press.action,
                press.kind,
                prompt,
                owner,
                render=self._rng.uniform(*press.render),
                outcome=self._draw_outcome(prompt),
                custom_id=custom_id,
                parent=parent.id,
                state=state,
            )
            parent.children[custom_id] = child.id
            queued = self.force_code == QUEUED
            if queued:
                self._delay_queue(child, self._rng.uniform(*QUEUED_EXTRA))
            return _accepted(child.id, 1 if queued else 0)

    def modal(
        self,
        task_id: str,
        prompt: str,
        mask_base64: str | None = None,
        *,
        owner: str | None = None,
    ) -> dict[str, Any]:
        """POST /mj/submit/modal: confirm a MODAL task (Custom Zoom, Vary (Region))."""
        with self._lock:
            if not isinstance(task_id, str) or not task_id:
                return _answer(VALIDATION, "Validation error: taskId is required")
            task = self._visible(task_id, owner)
            if task is None:
                return _answer(NOT_FOUND, "task_no_found")
            if task.status(self.clock()) != "MODAL":
                return _answer(VALIDATION, "Validation error: task status is not MODAL")
            prompt = prompt if isinstance(prompt, str) else ""
            mask = mask_base64 if isinstance(mask_base64, str) else ""
            if task.action == "CUSTOM_ZOOM":
                zoom = _ZOOM_RE.search(prompt)
                if zoom is None or not 1.0 <= float(zoom[1]) <= 2.0:
                    return _answer(VALIDATION, "Validation error: --zoom must be between 1 and 2")
            elif task.action == "INPAINT" and not (mask and prompt.strip()):
                return _answer(VALIDATION, "Validation error: maskBase64 and prompt are required")
            self._continue_modal(task, prompt, mask, self.clock(), self._rng.uniform(*GRID_RENDER))
            return _accepted(task.id)

    def _continue_modal(
        self,
        task: SimTask,
        prompt: str,
        mask: str,
        at: float,
        render: float,
        outcome: _Outcome | None = None,
    ) -> None:
        """The modal confirmed at `at`: the same id renders on (new-api keeps the first row)."""
        if self.flavor.second_modal_row:
            task.frozen = self._render(task, at, self.base_url)
        task.prompt = prompt or task.prompt
        task.mask = mask
        task.waiting_modal = False
        task.modal_fail_at = INF
        task.description = "Submit success"
        self._schedule(task, at, render, outcome or self._draw_outcome(prompt))

    def _banned_word(self, prompt: str) -> str:
        if "--banned" in prompt:
            return "--banned"
        lowered = prompt.lower()
        for word in sorted(self.banned_words):
            if word and word.lower() in lowered:
                return word
        return ""

    def _forced_failure(self) -> dict[str, Any] | None:
        if self.force_code == VALIDATION:
            return _answer(VALIDATION, "Validation error (forced)")
        if self.force_code == SYSTEM_ERROR:
            return _answer(SYSTEM_ERROR, "System error: no available account")
        return None

    def _draw_outcome(self, prompt: str) -> _Outcome:
        if "--fail" in prompt:
            return _Outcome("[Invalid parameter] Invalid value", quick=True)
        if self.fail_rate > 0 and self._rng.random() < self.fail_rate:
            reason = self._rng.choice(texts.FAIL_REASONS)
            return _Outcome(reason, self._rng.random() < 0.5, self._rng.uniform(0.1, 0.9))
        return _Outcome()

    # --- creating and scheduling ----------------------------------------------------------

    def _new_id(self, submit: float) -> str:
        """Submit epoch-ms plus three random digits, unique."""
        ms = int(submit * 1000)
        while True:
            for _ in range(8):
                candidate = f"{ms}{self._rng.randrange(1000):03d}"
                if candidate not in self._tasks:
                    return candidate
            ms += 1

    def _schedule(
        self,
        task: SimTask,
        start: float,
        render: float,
        outcome: _Outcome,
        queue: tuple[float, float, float] | None = None,
    ) -> None:
        """Set the plan's timestamps from `start` (durations in simulated seconds)."""
        speed = self.speed
        if queue is None:
            queue = (
                self._rng.uniform(*QUEUE_PHASES[0]),
                self._rng.uniform(*QUEUE_PHASES[1]),
                self._rng.uniform(*QUEUE_PHASES[2]),
            )
        task.not_start_at = start + queue[0] / speed
        task.submitted_at = task.not_start_at + queue[1] / speed
        task.progress_at = task.submitted_at + queue[2] / speed
        task.render = render / speed
        task.finish_at = task.progress_at + task.render
        task.fail_at = INF
        task.fail_reason = outcome.fail_reason
        task.stall_pct = None
        task._steps = None
        timeout = NO_PROGRESS_TIMEOUT / speed
        if outcome.stall_pct is not None:
            task.finish_at = INF
            task.fail_reason = texts.TIMEOUT_REASON
            if outcome.stall_pct < 0:  # stuck at SUBMITTED
                task.progress_at = INF
                task.fail_at = task.submitted_at + timeout
            else:
                task.stall_pct = outcome.stall_pct
                reached = 0.5 * task.render if outcome.stall_pct else 0.0
                task.fail_at = task.progress_at + reached + timeout
        elif outcome.fail_reason:
            task.finish_at = INF
            if outcome.quick:
                task.fail_at = task.submitted_at + self._rng.uniform(0.5, 1.5) / speed
            else:
                task.fail_at = task.progress_at + outcome.fail_fraction * task.render

    def _delay_queue(self, task: SimTask, extra: float) -> None:
        shift = extra / self.speed
        task.submitted_at += shift
        task.progress_at += shift
        task.finish_at += shift
        task.fail_at += shift

    def _new_task(
        self, action: str, kind: str, prompt: str, owner: str | None, submit: float, **fields: Any
    ) -> SimTask:
        """A task with a new id and its own random seed (the caller schedules and keeps it)."""
        task_id = self._new_id(submit)  # first: the random draws stay in their order
        seed = self._rng.getrandbits(64)
        return SimTask(task_id, action, kind, prompt, owner, submit, seed, **fields)

    def _create(
        self,
        action: str,
        kind: str,
        prompt: str,
        owner: str | None,
        *,
        render: float,
        outcome: _Outcome = _Outcome(),
        submit: float | None = None,
        queue: tuple[float, float, float] | None = None,
        queue_extra: float = 0.0,
        **fields: Any,
    ) -> SimTask:
        submit = self.clock() if submit is None else submit
        task = self._new_task(action, kind, prompt, owner, submit, **fields)
        self._schedule(task, submit, render, outcome, queue)
        if queue_extra:
            self._delay_queue(task, queue_extra)
        self._tasks[task.id] = task
        return task

    def _create_modal(
        self,
        action: str,
        prompt: str,
        owner: str | None,
        custom_id: str,
        parent: str = "",
        submit: float | None = None,
    ) -> SimTask:
        submit = self.clock() if submit is None else submit
        task = self._new_task(
            action,
            btn.GRID,
            prompt,
            owner,
            submit,
            custom_id=custom_id,
            parent=parent,
            description=MODAL_DESCRIPTION,
            waiting_modal=True,
        )
        if self.flavor.modal_times_out:
            task.modal_fail_at = submit + NO_PROGRESS_TIMEOUT / self.speed
            task.fail_reason = texts.TIMEOUT_REASON
        self._tasks[task.id] = task
        return task

    def _place(
        self,
        action: str,
        kind: str,
        prompt: str,
        *,
        ago: float,
        render: float,
        queue: tuple[float, float, float] = (1.0, 1.5, 2.0),
        outcome: _Outcome = _Outcome(),
        parent: SimTask | None = None,
        custom_id: str = "",
        **fields: Any,
    ) -> SimTask:
        """A task submitted `ago` simulated seconds before now, on an explicit plan."""
        with self._lock:
            task = self._create(
                action,
                kind,
                prompt,
                None,
                render=render,
                outcome=outcome,
                submit=self.clock() - ago / self.speed,
                queue=queue,
                custom_id=custom_id,
                parent=parent.id if parent else "",
                **fields,
            )
            if parent is not None and custom_id:
                parent.children[custom_id] = task.id
            return task

    # --- seeding ------------------------------------------------------------------------

    def seed_tasks(self, n: int) -> list[str]:
        """`n` tasks in mixed states: queued, running, finished, failed, stuck, MODAL."""
        with self._lock:
            rng, speed, now = self._rng, self.speed, self.clock()
            made: list[str] = []
            grids: list[SimTask] = []  # finished grids that later upscales can come from
            for _ in range(n):
                roll = rng.random()
                if roll < 0.04:
                    made.append(self._seed_modal(now).id)
                    continue
                action, kind, render_range = "IMAGINE", btn.GRID, GRID_RENDER
                pick = rng.random()
                if pick < 0.18:
                    action, kind, render_range = "UPSCALE", btn.UPSCALE, (8.0, 12.0)
                elif pick < 0.26:
                    action = rng.choice(["VARIATION", "REROLL", "PAN", "ZOOM", "HIGH_VARIATION"])
                elif pick < 0.30:
                    action, kind, render_range = "DESCRIBE", btn.DESCRIBE, DESCRIBE_RENDER
                queue = (
                    rng.uniform(*QUEUE_PHASES[0]),
                    rng.uniform(*QUEUE_PHASES[1]),
                    rng.uniform(*QUEUE_PHASES[2]),
                )
                render = rng.uniform(*render_range)
                waited = sum(queue)
                outcome = _Outcome()
                if roll < 0.12:  # queued: somewhere before IN_PROGRESS
                    ago = rng.uniform(0.0, waited * 0.98)
                elif roll < 0.37:  # running
                    ago = waited + rng.uniform(0.02, 0.95) * render
                elif roll < 0.41:  # stuck at SUBMITTED, 0 %, 85 % or 93 %, not yet timed out
                    stall = rng.choice([-1, 0, 85, 93])
                    outcome = _Outcome(stall_pct=stall)
                    ago = waited + (0.5 * render if stall > 0 else 0.0) + rng.uniform(5, 1800)
                elif roll < 0.50:  # failed
                    reason = rng.choice(texts.FAIL_REASONS)
                    outcome = _Outcome(reason, rng.random() < 0.5, rng.uniform(0.1, 0.9))
                    ago = waited + render + rng.uniform(30, 172_800)
                else:  # finished, minutes to days ago
                    ago = waited + render + rng.uniform(10, 259_200)
                submit = now - ago / speed
                parent = None
                prompt = texts.DESCRIBE_SOURCE if kind == btn.DESCRIBE else ""
                custom_id = ""
                if action != "IMAGINE" and kind != btn.DESCRIBE and grids:
                    candidate = grids[rng.randrange(len(grids))]
                    if candidate.finish_at < submit:
                        parent = candidate
                        prompt = candidate.prompt
                        h = candidate.message_hash()
                        n_ = rng.randint(1, 4)
                        custom_id = (
                            f"MJ::JOB::upsample::{n_}::{h}"
                            if action == "UPSCALE"
                            else f"MJ::JOB::variation::{n_}::{h}"
                        )
                task = self._create(
                    action,
                    kind,
                    prompt or texts.random_prompt(rng),
                    None,
                    render=render,
                    outcome=outcome,
                    submit=submit,
                    queue=queue,
                    custom_id=custom_id,
                    parent=parent.id if parent else "",
                )
                if parent is not None:
                    parent.children.setdefault(custom_id, task.id)
                if kind == btn.GRID and task.finish_at < now:
                    grids.append(task)
                made.append(task.id)
            return made

    def _seed_modal(self, now: float) -> SimTask:
        rng = self._rng
        action = rng.choice(["CUSTOM_ZOOM", "INPAINT"])
        custom_id = (
            f"MJ::CustomZoom::{uuid.UUID(int=rng.getrandbits(128), version=4)}"
            if action == "CUSTOM_ZOOM"
            else f"MJ::Inpaint::1::{uuid.UUID(int=rng.getrandbits(128), version=4)}::SOLO"
        )
        submit = now - rng.uniform(10, 7200) / self.speed
        return self._create_modal(action, texts.random_prompt(rng), None, custom_id, "", submit)

    def seed_demo(self) -> list[str]:
        """A realistic batch of 16 tasks for `mjdash demo` (see _DEMO_PLAN)."""
        with self._lock:
            placed: dict[str, SimTask] = {}
            skipped = _UNSUPPORTED.get(self.flavor.name, set())
            for key, action, prompt, ago, render, queue, outcome, parent_key, button in _DEMO_PLAN:
                if action in skipped:
                    continue
                parent = placed.get(parent_key)
                custom_id = button.format(h=parent.message_hash()) if parent else ""
                if parent and not prompt:
                    prompt = parent.prompt
                    if custom_id.startswith("MJ::Job::PicReader::"):
                        prompt = texts.suggestion_from(self._result_text(parent, "SUCCESS"), 1)
                if outcome in ("modal", "continued"):
                    submit = self.clock() - ago / self.speed
                    parent_id = parent.id if parent else ""
                    task = self._create_modal(action, prompt, None, custom_id, parent_id, submit)
                    if parent:
                        parent.children[custom_id] = task.id
                    if outcome == "continued":  # confirmed a minute after it opened
                        mask = "iVBORw0KGgo="
                        task.prompt = prompt
                        at = submit + 60 / self.speed
                        self._continue_modal(task, prompt, mask, at, render, _Outcome())
                else:
                    kind = _KIND_OF_ACTION.get(action, btn.GRID)
                    task = self._place(
                        action,
                        kind,
                        prompt,
                        ago=ago,
                        render=render,
                        queue=queue,
                        outcome=outcome or _Outcome(),
                        parent=parent,
                        custom_id=custom_id,
                    )
                placed[key] = task
            return [task.id for task in placed.values()]

    def seed_hostile(self) -> list[str]:
        """Tasks carrying terminal escapes, OSC 52, BEL, CR, NUL, bidi, markup, a 1 MB prompt."""
        with self._lock:
            place = self._place
            made: list[SimTask] = []
            grid = place("IMAGINE", btn.GRID, texts.HOSTILE_PROMPT, ago=600, render=40)
            hostile_buttons = btn.grid_buttons(grid.message_hash())
            for button in hostile_buttons[:4]:
                button["customId"] += texts.HOSTILE_CUSTOM_ID_TAIL
                button["label"] = texts.HOSTILE_LABEL
            hostile_buttons[4]["emoji"] = texts.HOSTILE_EMOJI
            grid.overrides = {"buttons": hostile_buttons}
            made.append(grid)
            made.append(
                place(
                    "IMAGINE",
                    btn.GRID,
                    texts.HOSTILE_PROMPT,
                    ago=500,
                    render=40,
                    outcome=_Outcome(texts.HOSTILE_REASON, quick=True),
                )
            )
            huge = place("IMAGINE", btn.GRID, texts.huge_prompt(), ago=10, render=3600)
            # Only the prompt is huge, so the whole answer stays under 1 MiB.
            huge.overrides = {
                "promptEn": "",
                "properties": {"finalPrompt": "", "finalZhPrompt": ""},
            }
            made.append(huge)
            odd = place(
                "IMAGINE", btn.GRID, "unknown action and status [b]x[/b]", ago=400, render=30
            )
            odd.overrides = {
                "action": "SHORTEN\x1b[31m",
                "status": "DONE\x1b[0m\x07",
                "progress": "150%",
                "description": texts.HOSTILE_REASON,
            }
            made.append(odd)
            for url in (
                "javascript:alert(1)",
                "file:///etc/passwd",
                "-x",
                "http://user:pw@example.invalid/a.png",
            ):
                task = place("IMAGINE", btn.GRID, f"image url {url}", ago=300, render=30)
                task.overrides = {"imageUrl": url}
                made.append(task)
            return [t.id for t in made]
