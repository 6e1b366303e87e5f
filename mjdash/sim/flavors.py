"""How each server family answers (docs/api.md, "How the real servers differ"): one class a family.

The engine renders every task in new-api's shape (every key present, times 0 when unset); a
flavor reshapes that answer, picks the auth rule, the answer to an unknown id, the routes that
exist and what submit codes look like on the wire. The rules live here, not in ifs across the
simulator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

FLAVOR_NAMES = ("newapi", "trueai", "novicezk")
ALL_ROUTES = frozenset(
    {"fetch", "list", "list_ids", "action", "modal", "imagine", "image", "video"}
)
TIMEOUT_REASON = "上游任务超时（超过1小时）"
SWITCHED = "_switched"  # on an answer the engine made by a test switch


def _json(body: Any, status: int = 200) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(data, status, media_type="application/json; charset=utf-8")


@dataclass(frozen=True)
class TaskView:
    """What a flavor may need beside the new-api-shaped answer."""

    status: str
    kind: str  # buttons.GRID / UPSCALE / DESCRIBE / SHORTEN / VIDEO
    parent_id: str
    parent_action: str
    result_text: str  # describe suggestions or shorten results ("" until SUCCESS)
    video_urls: tuple[str, ...]
    image_urls: tuple[str, ...]


class Flavor:
    """new-api / CometAPI: the base every other family differs from."""

    name = "newapi"
    routes = ALL_ROUTES - {"list_ids"}
    pending_status = True  # status "" for a while after submit
    modal_times_out = True  # the 1-hour sweep fails MODAL tasks too
    second_modal_row = True  # /mj/submit/modal stores a second row with the same id
    refused_prefixes = ("MJ::Job::PicReader::", "MJ::Picread::", "MJ::Job::PromptAnalyzer::")
    bare_rate_limit = False  # the proxies answer 429 with no body (docs/api.md, "Errors")

    # --- auth ----------------------------------------------------------------------------

    def caller_key(self, request: Request) -> str:
        """Bearer token, or mj-api-secret when Authorization is empty."""
        value = request.headers.get("authorization", "").strip()
        if not value:
            value = request.headers.get("mj-api-secret", "").strip()
        if value.lower() == "bearer":
            return ""
        if value[:7].lower() == "bearer ":
            value = value[7:].strip()
        return value

    def unauthorized(self, reason: str, request_id: str) -> Response:
        message = f"{reason} (request id: {request_id})"
        body = {"error": {"code": "", "message": message, "type": "comet_api_error"}}
        return _json(body, 401)

    # --- reading -------------------------------------------------------------------------

    def not_found(self) -> Response:
        body = b'{"description":"task_no_found ","type":"upstream_error","code":4}'
        return Response(body, 400, media_type="application/json; charset=utf-8")

    def action_name(self, action: str, view: TaskView) -> str:
        return action

    def shape(self, data: dict[str, Any], view: TaskView) -> dict[str, Any]:
        status = view.status
        if status == "FAILURE" and data.get("failReason") == TIMEOUT_REASON:
            data["finishTime"] = 0  # the 1-hour sweep never sets it
        if view.kind == "describe":
            data["prompt"] = ""
            data["promptEn"] = view.result_text
            data["properties"] = {"finalPrompt": view.result_text, "finalZhPrompt": ""}
        elif view.kind == "shorten":
            data["properties"] = {"finalPrompt": view.result_text, "finalZhPrompt": ""}
        if view.video_urls:
            data["videoUrl"] = view.video_urls[0]
            data["videoUrls"] = [{"url": u} for u in view.video_urls]
        if view.image_urls:
            data["imageUrls"] = [{"url": u} for u in view.image_urls]
        return data

    # --- submitting ----------------------------------------------------------------------

    def refuses(self, custom_id: str) -> bool:
        return custom_id.startswith(self.refused_prefixes)

    def refusal(self, custom_id: str) -> Response:
        body = {"description": f"unknown_action:{custom_id} ", "type": "upstream_error", "code": 4}
        return _json(body, 400)

    def submit_response(self, answer: dict[str, Any], action: str) -> Response:
        """new-api rewrites 21/22 to 1 (21 stays for the modal actions); failures are 400.

        A code made by a test switch (force_code, `--queued`) is left as the test asked."""
        code = answer.get("code")
        switched = answer.pop(SWITCHED, False)
        if not switched and (
            code == 22 or (code == 21 and action not in ("INPAINT", "CUSTOM_ZOOM"))
        ):
            answer = {**answer, "code": 1}
        return _json(answer, 200 if answer.get("code") in (1, 21) else 400)

    def queue_full(self) -> tuple[int, str]:
        return 23, "队列已满，请稍后尝试"

    def bookmark(self) -> bool:
        """Whether ❤️ (MJ::BOOKMARK) is offered and answered with the parent's own id."""
        return False


class TrueAi(Flavor):
    """trueai-org/midjourney-proxy (C#): raw Authorization, 204 for unknown ids, nulls."""

    name = "trueai"
    bare_rate_limit = True
    routes = ALL_ROUTES
    pending_status = False
    modal_times_out = False
    second_modal_row = False
    refused_prefixes = ()

    def caller_key(self, request: Request) -> str:
        value = request.headers.get("authorization", "").strip()
        if not value:
            value = request.headers.get("mj-api-secret", "").strip()
        if value[:7].lower() == "bearer ":
            return ""  # the raw value is compared with the token: `Bearer x` never matches
        return value

    def unauthorized(self, reason: str, request_id: str) -> Response:
        return Response(b"Authorization header missing.", 401, media_type="text/plain")

    def not_found(self) -> Response:
        return Response(status_code=204)

    def action_name(self, action: str, view: TaskView) -> str:
        if action == "CUSTOM_ZOOM":
            return "ZOOM"
        if action in ("INPAINT", "LOW_VARIATION", "HIGH_VARIATION"):
            return "VARIATION"
        if action == "REROLL" and view.parent_action:
            return view.parent_action  # a reroll keeps the parent's action
        return action

    def shape(self, data: dict[str, Any], view: TaskView) -> dict[str, Any]:
        status = view.status
        for key in ("submitTime", "startTime", "finishTime"):
            if not data.get(key):
                data[key] = None
        if status in ("NOT_START", "MODAL"):
            data["progress"] = None
        elif status == "FAILURE":
            data["progress"] = ""
        if status == "MODAL":
            data.pop("customId", None)
            if data["action"] == "VARIATION":
                data["prompt"] = ""  # Vary (Region) waits with an empty prompt
        final = data.get("promptEn") or data.get("prompt") or ""
        if view.kind == "describe":
            data["prompt"] = ""
            data["promptEn"] = view.result_text
            final = view.result_text
        elif view.kind == "shorten" and view.result_text:
            data["description"] = view.result_text
        if data.get("properties") is not None or view.kind == "describe":
            data["properties"] = {"finalPrompt": final, "finalZhPrompt": ""}
        if view.video_urls:
            data["videoUrl"] = data["imageUrl"] = view.video_urls[0]
        data["videoUrls"] = [{"url": u} for u in view.video_urls]
        data["imageUrls"] = [{"url": u} for u in view.image_urls]
        data["parentId"] = view.parent_id or None
        data["instanceId"] = "1257438470981632000"
        data["mode"] = "FAST"
        data["botType"] = data.get("botType") or "MID_JOURNEY"
        data["promptFull"] = data.get("prompt") or ""
        data["displays"] = {}
        data["isCompleted"] = status in ("SUCCESS", "FAILURE", "CANCEL")
        return data

    def submit_response(self, answer: dict[str, Any], action: str) -> Response:
        answer.pop(SWITCHED, None)
        return _json(answer, 404 if answer.get("code") == 3 else 200)

    def queue_full(self) -> tuple[int, str]:
        return 9, "提交失败，队列已满"

    def bookmark(self) -> bool:
        return True


_NOVICEZK_KEYS = (
    "id", "action", "prompt", "promptEn", "description", "state", "submitTime", "startTime",
    "finishTime", "imageUrl", "status", "progress", "failReason", "properties",
)  # fmt: skip


class Novicezk(Flavor):
    """novicezk/midjourney-proxy v2 (Java): mj-api-secret only, few routes, no buttons."""

    name = "novicezk"
    bare_rate_limit = True
    routes = frozenset({"fetch", "imagine", "image", "video"})
    pending_status = False
    modal_times_out = False
    second_modal_row = False
    refused_prefixes = ()

    def caller_key(self, request: Request) -> str:
        return request.headers.get("mj-api-secret", "").strip()

    def unauthorized(self, reason: str, request_id: str) -> Response:
        return Response(b"", 401)

    def not_found(self) -> Response:
        return Response(b"", 200, media_type="application/json")

    def shape(self, data: dict[str, Any], view: TaskView) -> dict[str, Any]:
        status = view.status
        out = {key: data.get(key) for key in _NOVICEZK_KEYS}
        for key in ("submitTime", "startTime", "finishTime"):
            if not out[key]:
                out[key] = None
        if status in ("NOT_START", "SUBMITTED"):
            out["progress"] = "Waiting to start"
        if view.kind == "describe":
            out["prompt"] = out["promptEn"] = view.result_text
        out["properties"] = {"notifyHook": None, "finalPrompt": out.get("promptEn") or ""}
        return out

    def submit_response(self, answer: dict[str, Any], action: str) -> Response:
        answer.pop(SWITCHED, None)
        return _json(answer)


_FLAVORS: dict[str, Flavor] = {"newapi": Flavor(), "trueai": TrueAi(), "novicezk": Novicezk()}


def get(name: str) -> Flavor:
    """The flavor called `name`; ValueError for another name."""
    try:
        return _FLAVORS[name]
    except KeyError:
        raise ValueError(f"flavor must be one of {', '.join(FLAVOR_NAMES)}") from None
