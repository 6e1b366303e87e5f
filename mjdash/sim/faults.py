"""Injected server faults: a spec like `429=0.1,500=0.05,slow=0.05`, drawn per request.

Each fault imitates what a real gateway or the network in front of it does (the fault
matrices in docs/reliability.md and docs/hardening.md): bare status codes, HTML error pages,
garbage 200s, truncated bodies, an answer that inflates without bound (`inflate`: a gzip
bomb, sometimes gzip inside gzip) and a server that echoes the caller's key in its text
(`echo_key`: the real answer with the key in failReason, prompt and after 160 characters of
description; server.py applies it to the real answer).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

FAULT_NAMES = (
    "401",
    "403",
    "408",
    "409",
    "429",
    "500",
    "502",
    "503",
    "504",
    "524",
    "slow",
    "html",
    "garbage",
    "empty",
    "reset",
    "redirect",
    "inflate",
    "echo_key",
)
BOMB_SIZE = 256 * 1024 * 1024  # zeros: far past any client's cap, ~250 KB gzipped once
ECHO_PAD = 160  # characters before the echoed key: a client that cuts before redacting leaks it
SLOW_RANGE = (0.5, 2.0)  # seconds, real time: a slow answer must stay bounded


class FaultSpecError(ValueError):
    pass


def parse_spec(spec: str) -> dict[str, float]:
    """`"429=0.1, 500=1"` -> {"429": 0.1, "500": 1.0}; raises FaultSpecError with a reason."""
    rates: dict[str, float] = {}
    for part in spec.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep:
            raise FaultSpecError(f"{part!r}: expected name=rate")
        if name not in FAULT_NAMES:
            raise FaultSpecError(f"{name!r}: unknown fault (known: {', '.join(FAULT_NAMES)})")
        try:
            rate = float(value)
        except ValueError:
            raise FaultSpecError(f"{part!r}: rate must be a number from 0 to 1") from None
        if not 0.0 <= rate <= 1.0:
            raise FaultSpecError(f"{part!r}: rate must be a number from 0 to 1")
        rates[name] = rate
    return rates


@dataclass
class Faults:
    """Fault rates plus the seeded RNG that draws one (or none) per request."""

    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(f"faults:{self.seed}")

    @classmethod
    def from_spec(cls, spec: str | None, seed: int = 0) -> Faults:
        return cls(parse_spec(spec or ""), seed)

    @property
    def spec(self) -> str:
        return ",".join(f"{name}={rate:g}" for name, rate in self.rates.items())

    def draw(self) -> str | None:
        """The fault for this request; rates add up in spec order, so `500=1` always hits."""
        if not self.rates:
            return None
        roll = self.rng.random()
        total = 0.0
        for name, rate in self.rates.items():
            total += rate
            if roll < total:
                return name
        return None


def _request_id(rng: random.Random) -> str:
    return time.strftime("%Y%m%d%H%M%S") + f"{rng.randrange(10**8):08d}"


def unauthorized(message: str, rng: random.Random) -> Response:
    """CometAPI's 401 envelope."""
    body = {
        "error": {
            "code": "",
            "message": f"{message} (request id: {_request_id(rng)})",
            "type": "comet_api_error",
        }
    }
    return json_response(body, 401)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact UTF-8 JSON the way Go's encoder writes it."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(data, status, headers, media_type="application/json; charset=utf-8")


_NGINX_PAGE = (
    "<html>\r\n<head><title>{code} {text}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {text}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_LANDING_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>CometAPI</title>'
    '</head><body><div id="root">One API for every model. <a href="/login">Sign in</a>'
    '</div><script src="/assets/index-3f9a1c.js"></script></body></html>'
)
_GARBAGE: list[tuple[bytes, str]] = [
    (b'\x00\xff\xfe garbage {"id": 12', "application/json"),
    (b"null", "application/json"),
    (b"[]", "application/json"),
    (b"{}", "application/json"),
    (b'"Submit success"', "application/json"),
    (b'{"status": 42, "progress": "150%", "buttons": "none"}', "application/json"),
    (b'{"code": 4, "description": "task_no_found ", "result": null}', "application/json"),
    (b"OK", "text/plain"),
]


class _ResetConnection(Exception):
    """Raised mid-body so uvicorn drops the connection: the client sees a truncated answer."""


class TruncatedResponse:
    """Headers promising a full body, half of it, then the connection closes."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(self.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        half = self.body[: len(self.body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        raise _ResetConnection


class _HideResets(logging.Filter):
    """uvicorn logs every app exception; a deliberate reset is not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _ResetConnection))


def quiet_resets() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideResets) for f in logger.filters):
        logger.addFilter(_HideResets())


@functools.cache
def gzip_bomb(layers: int) -> bytes:
    """BOMB_SIZE zero bytes gzipped `layers` times (built once, on first use)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1024 * 1024)
    body = b"".join(packer.compress(zeros) for _ in range(BOMB_SIZE // len(zeros)))
    body += packer.flush()
    for _ in range(layers - 1):
        packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        body = packer.compress(body) + packer.flush()
    return body


def echo_key(response: Response, key: str) -> Response:
    """The real answer with the caller's key echoed in every task's failReason and prompt, and
    after ECHO_PAD characters of its description (or of an error envelope's description)."""
    try:
        obj = json.loads(response.body)
    except (ValueError, AttributeError):
        return response

    def echoed(item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        if "id" not in item:
            return {**item, "description": f"{'x' * ECHO_PAD} token {key} rejected"}
        return {
            **item,
            "failReason": f"{item.get('failReason') or ''} (token {key})".strip(),
            "prompt": f"{item.get('prompt') or ''} --token {key}",
            "description": f"{'x' * ECHO_PAD} token {key}",
        }

    obj = [echoed(item) for item in obj] if isinstance(obj, list) else echoed(obj)
    return json_response(obj, response.status_code)


async def fault_response(
    name: str, path: str, rng: random.Random
) -> Response | TruncatedResponse | None:
    """The response for fault `name`; None for `slow`, which only delays the real answer, and
    for `echo_key`, which changes it (see `echo_key`)."""
    if name == "echo_key":
        return None
    if name == "inflate":
        layers = 2 if rng.random() < 0.5 else 1
        encoding = ", ".join(["gzip"] * layers)
        return Response(
            gzip_bomb(layers), 200, {"Content-Encoding": encoding}, media_type="application/json"
        )
    if name == "slow":
        await asyncio.sleep(rng.uniform(*SLOW_RANGE))
        return None
    if name == "401":
        return unauthorized("Invalid token", rng)
    if name == "403":
        message = "该令牌无权访问 (forbidden)"
        return json_response(
            {"error": {"code": "", "message": message, "type": "comet_api_error"}}, 403
        )
    if name == "429":
        headers = {}
        if rng.random() < 0.6:  # sometimes seconds, sometimes no header at all
            headers["Retry-After"] = str(rng.randint(1, 5))
        body = {"description": "Too many requests, slow down", "type": "upstream_error", "code": 30}
        return json_response(body, 429, headers)
    if name in ("408", "409"):
        text = "request timeout" if name == "408" else "conflict: task is being updated"
        return json_response({"description": text, "type": "upstream_error", "code": 9}, int(name))
    if name == "500":
        body = {"description": "get_channel_failed", "type": "new_api_error", "code": 9}
        return json_response(body, 500)
    if name in ("502", "504"):
        text = "Bad Gateway" if name == "502" else "Gateway Time-out"
        page = _NGINX_PAGE.format(code=name, text=text)
        return Response(page, int(name), media_type="text/html")
    if name == "503":
        text = "upstream connect error or disconnect/reset before headers. reset reason: overflow"
        return Response(text, 503, media_type="text/plain")
    if name == "524":
        return Response("error code: 524", 524, media_type="text/plain")
    if name == "html":
        return Response(_LANDING_PAGE, 200, media_type="text/html")
    if name == "garbage":
        data, media = rng.choice(_GARBAGE)
        return Response(data, 200, media_type=media)
    if name == "empty":
        return Response(b"", 200)
    if name == "redirect":
        return Response(
            '<a href="http://example.invalid/">Moved Permanently</a>.',
            301,
            {"Location": f"http://example.invalid{path}"},
            media_type="text/html",
        )
    if name == "reset":
        body = json.dumps({"id": "0", "status": "IN_PROGRESS", "progress": "50%"}).encode()
        return TruncatedResponse(body * 4)
    return JSONResponse({"error": f"unknown fault {name}"}, 500)
