"""A tiny HTTP/1.1 server on a raw asyncio socket, for the faults httpx.MockTransport cannot fake.

MockTransport never times out and never cuts a connection; this server does, on 127.0.0.1 with
port 0, inside the test's own event loop. Each request is answered by a handler; `script()`
queues handlers (the last one repeats). Handlers: `respond`, `stall`, `drip`, `reset`,
`truncated`, `html`, `huge`, `redirect`, `hang_up` (close without answering), `task_api`,
`bomb` (a gzip bomb, one or two layers deep), `echo_key` (the Authorization header sent back
in failReason, prompt and a long error message).
`closed_port()` gives a port nothing listens on (connection refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import socket
import struct
import zlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

MAX_HEAD = 64 * 1024


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    connection: int  # which TCP connection carried it (keep-alive checks)

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[bool]]  # returns keep-alive


@dataclass
class FaultServer:
    handlers: list[Handler] = field(default_factory=list)
    host: str = "127.0.0.1"
    requests: list[Request] = field(default_factory=list)
    active: int = 0
    max_active: int = 0
    connections: int = 0

    def __post_init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def script(self, *handlers: Handler) -> FaultServer:
        """Answer the next requests with these handlers in turn; the last one repeats."""
        self.handlers = list(handlers)
        return self

    async def start(self) -> FaultServer:
        self._server = await asyncio.start_server(self._serve, self.host, 0, limit=MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)

    async def __aenter__(self) -> FaultServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _next_handler(self) -> Handler:
        if not self.handlers:
            return respond(200, {})
        return self.handlers.pop(0) if len(self.handlers) > 1 else self.handlers[0]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        connection = self.connections
        try:
            while True:
                request = await _read_request(reader, connection)
                if request is None:
                    break
                self.requests.append(request)
                handler = self._next_handler()
                self.active += 1
                self.max_active = max(self.max_active, self.active)
                try:
                    keep_alive = await handler(request, writer)
                finally:
                    self.active -= 1
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()


async def _read_request(reader: asyncio.StreamReader, connection: int) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return Request(method, path, headers, body, connection)


def _head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Whatever"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _as_bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


# --- handlers ---------------------------------------------------------------------------------


def respond(
    status: int = 200,
    body: Any = b"",
    headers: dict[str, str] | None = None,
    *,
    content_type: str = "application/json",
    delay: float = 0.0,
) -> Handler:
    """A complete answer; `body` may be bytes, str or anything JSON."""
    payload = _as_bytes(body)

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if delay:
            await asyncio.sleep(delay)
        fields = [("Content-Type", content_type), ("Content-Length", str(len(payload)))]
        fields += list((headers or {}).items())
        writer.write(_head(status, fields) + payload)
        await writer.drain()
        return True

    return handler


def html(status: int = 200) -> Handler:
    page = "<!DOCTYPE html><html><head><title>Welcome</title></head><body>nginx</body></html>"
    return respond(status, page, content_type="text/html; charset=utf-8")


def redirect(location: str, status: int = 302) -> Handler:
    return respond(status, b"", {"Location": location}, content_type="text/plain")


def stall() -> Handler:
    """Accept the request, never answer (no headers)."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        await asyncio.Event().wait()
        return False

    return handler


def drip(every: float = 0.05, size: int = 100_000) -> Handler:
    """Headers at once, then one body byte at a time: each read is quick, the whole is not."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            _head(200, [("Content-Type", "application/json"), ("Content-Length", str(size))])
        )
        writer.write(b"[")
        await writer.drain()
        for _ in range(size - 1):
            await asyncio.sleep(every)
            writer.write(b" ")
            await writer.drain()
        return False

    return handler


def reset(partial: bytes = b'{"id": "17733149421776', *, declared: int = 500) -> Handler:
    """Headers and part of the body, then a TCP reset (SO_LINGER 0)."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        fields = [("Content-Type", "application/json"), ("Content-Length", str(declared))]
        writer.write(_head(200, fields) + partial)
        await writer.drain()
        await asyncio.sleep(0.01)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        return False

    return handler


def truncated(
    partial: bytes = b'{"id": "1773314942177684", "sta', *, declared: int = 500
) -> Handler:
    """Content-Length promises more than is sent, then a clean close."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        fields = [("Content-Type", "application/json"), ("Content-Length", str(declared))]
        writer.write(_head(200, fields) + partial)
        await writer.drain()
        writer.close()
        return False

    return handler


def hang_up() -> Handler:
    """Read the request and close without a word: a keep-alive connection gone stale."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.close()
        return False

    return handler


def huge(size: int = 10 * 1024 * 1024, *, declared: bool = True) -> Handler:
    """A body of `size` bytes; undeclared ones go chunked so only streaming can cap them."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        piece = b"[" + b" " * (64 * 1024 - 1)
        if declared:
            fields = [("Content-Type", "application/json"), ("Content-Length", str(size))]
        else:
            fields = [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]
        writer.write(_head(200, fields))
        sent = 0
        while sent < size:
            chunk = piece[: size - sent]
            writer.write(chunk if declared else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            await writer.drain()
        if not declared:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        return True

    return handler


def task_json(task_id: str, status: str = "IN_PROGRESS", progress: str = "50%") -> dict[str, Any]:
    """A task object in the server's shape, every key present like new-api sends it."""
    return {
        "id": task_id,
        "action": "IMAGINE",
        "customId": "",
        "botType": "",
        "prompt": "a paper boat",
        "promptEn": "a paper boat",
        "description": "Submit success",
        "state": "",
        "submitTime": 1773314942177,
        "startTime": 1773314944930,
        "finishTime": 0,
        "imageUrl": "",
        "videoUrl": "",
        "status": status,
        "progress": progress,
        "failReason": "",
        "buttons": None,
        "maskBase64": "",
        "properties": None,
    }


def task_api(
    known: Callable[[str], dict[str, Any] | None] | None = None,
    *,
    delay: float = 0.0,
    batch: bool = True,
) -> Handler:
    """A small task API: fetch and list-by-condition over `known(id)` (default: every id runs).

    Unknown ids: 400 task_no_found on fetch, left out of batch answers (new-api). `batch=False`
    answers 404 on the batch route like a proxy without it.
    """
    lookup = known or (lambda task_id: task_json(task_id))

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if delay:
            await asyncio.sleep(delay)
        if request.path.endswith("/mj/task/list-by-condition") and request.method == "POST":
            if not batch:
                return await respond(404, {"error": "Not Found"})(request, writer)
            ids = request.json().get("ids", [])
            found = [task for task in map(lookup, ids) if task is not None]
            return await respond(200, list(reversed(found)))(request, writer)
        if request.path.endswith("/fetch") and request.method == "GET":
            task = lookup(request.path.split("/")[-2])
            if task is None:
                envelope = {"description": "task_no_found ", "type": "upstream_error", "code": 4}
                return await respond(400, envelope)(request, writer)
            return await respond(200, task)(request, writer)
        return await respond(404, {"error": "Not Found"})(request, writer)

    return handler


def closed_port() -> int:
    """A loopback port with nothing listening: connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@functools.cache
def gzip_bomb(size: int = 1024**3, layers: int = 1) -> bytes:
    """`size` zero bytes gzipped `layers` times (1 GiB: ~1 MB once, ~1.8 KB twice)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1024 * 1024)
    parts = [
        packer.compress(zeros[: min(len(zeros), size - done)])
        for done in range(0, size, len(zeros))
    ]
    body = b"".join(parts) + packer.flush()
    for _ in range(layers - 1):
        body = gzip_wrap(body)
    return body


def gzip_wrap(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return packer.compress(data) + packer.flush()


def bomb(size: int = 1024**3, layers: int = 1, *, declared_encoding: str | None = None) -> Handler:
    """A tiny answer that inflates to `size` zero bytes; `Content-Encoding: gzip, gzip` for two
    layers unless `declared_encoding` says otherwise."""
    body = gzip_bomb(size, layers)
    encoding = declared_encoding or ", ".join(["gzip"] * layers)
    return respond(200, body, {"Content-Encoding": encoding})


def echo_key(
    known: Callable[[str], dict[str, Any] | None] | None = None, *, pad: int = 160
) -> Handler:
    """task_api whose every task echoes the request's key (Authorization or mj-api-secret) in
    failReason and prompt, and whose unknown ids get a 400 whose message repeats the key after
    `pad` characters of filler."""
    lookup = known or (lambda task_id: task_json(task_id, "FAILURE", "0%"))

    def echoed(request: Request) -> str:
        header = request.headers.get("authorization") or request.headers.get("mj-api-secret", "")
        return header.removeprefix("Bearer ").strip()

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        key = echoed(request)

        def with_key(task_id: str) -> dict[str, Any] | None:
            task = lookup(task_id)
            if task is None:
                return None
            return {
                **task,
                "failReason": f"invalid token {key} for this account",
                "prompt": f"a paper boat --key {key}",
                "description": f"{'x' * pad} {key}",
            }

        if request.path.endswith("/mj/task/list-by-condition") and request.method == "POST":
            ids = request.json().get("ids", [])
            found = [task for task in map(with_key, ids) if task is not None]
            return await respond(200, found)(request, writer)
        if request.path.endswith("/fetch") and request.method == "GET":
            task = with_key(request.path.split("/")[-2])
            if task is not None:
                return await respond(200, task)(request, writer)
        message = f"{'y' * pad} the key {key} is not allowed here"
        return await respond(400, {"message": message, "code": 7})(request, writer)

    return handler
