"""The simulator over HTTP: CometAPI's Midjourney routes (docs/api.md) on a Starlette app.

`SimServer` runs it with uvicorn in a background thread on 127.0.0.1 (tests, `mjdash demo`);
`run_sim` serves in the foreground (`mjdash sim`). Faults from a spec hit the /mj/ routes only;
the /_sim/ routes (stats, task ids, faults) never fail.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TextIO

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mjdash.sim import buttons as btn
from mjdash.sim.engine import Engine
from mjdash.sim.faults import (
    FAULT_NAMES,
    Faults,
    FaultSpecError,
    TruncatedResponse,
    fault_response,
    json_response,
    quiet_resets,
)
from mjdash.sim.faults import (
    echo_key as faults_echo_key,
)

ROUTE_NAMES = ("fetch", "list", "list_ids", "action", "modal", "imagine", "image", "video")
MAX_BODY = 8 * 1024 * 1024
START_TIMEOUT = 5.0

# new-api mounts every route under a mode prefix too: /mj-fast/mj/..., /mj-relax/mj/...
_MODE_PREFIX = re.compile(r"^/mj-(?:fast|relax|turbo)(?=/mj/)")
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"^/mj/task/([^/]+)/fetch$"), "fetch"),
    ("POST", re.compile(r"^/mj/task/list-by-condition$"), "list"),
    ("POST", re.compile(r"^/mj/task/list-by-ids$"), "list_ids"),
    ("POST", re.compile(r"^/mj/submit/action$"), "action"),
    ("POST", re.compile(r"^/mj/submit/modal$"), "modal"),
    ("POST", re.compile(r"^/mj/submit/imagine$"), "imagine"),
    ("GET", re.compile(r"^/mj/image/([^/]+)$"), "image"),
    ("GET", re.compile(r"^/mj/video/([^/]+)/[1-4]\.mp4$"), "video"),
]
# new-api's answer when the task is not found: the trailing space is real.
TASK_NOT_FOUND_BODY = b'{"description":"task_no_found ","type":"upstream_error","code":4}'


class Stats:
    """Request counters, shared between the server thread and tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._total = 0
            self._routes = Counter({name: 0 for name in ROUTE_NAMES})
            self._ids = 0
            self._faults = Counter({name: 0 for name in FAULT_NAMES})
            self._statuses: Counter[str] = Counter()

    def request(self, route: str) -> None:
        with self._lock:
            self._total += 1
            self._routes[route] += 1

    def ids(self, count: int) -> None:
        with self._lock:
            self._ids += count

    def fault(self, name: str) -> None:
        with self._lock:
            self._faults[name] += 1

    def status(self, code: int) -> None:
        with self._lock:
            self._statuses[str(code)] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self._total,
                "routes": dict(self._routes),
                "ids_requested": self._ids,
                "faults": dict(self._faults),
                "statuses": dict(self._statuses),
            }


class SimState:
    """Everything the app's handlers share; reachable as `app.state.sim`."""

    def __init__(self, engine: Engine, key: str | None, faults: Faults, seed: int) -> None:
        self.engine = engine
        self.key = key or None
        self.faults = faults
        self.seed = seed
        self.stats = Stats()
        self.batch_route = True
        self.public_url = ""  # image URLs use this instead of the request's host when set
        self.rng = random.Random(f"server:{seed}")


class _BadBody(Exception):
    pass


def _error_body(description: str, status: int = 400) -> Response:
    # new-api's own errors: the description, a space, then an (empty) result.
    body = {"description": f"{description} ", "type": "upstream_error", "code": 4}
    return json_response(body, status)


def _invalid_url(request: Request) -> Response:
    message = f"Invalid URL ({request.method} {request.url.path})"
    body = {"error": {"message": message, "type": "invalid_request_error", "param": "", "code": ""}}
    return json_response(body, 404)


async def _json_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise _BadBody("request_body_too_large")
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise _BadBody("bind_request_body_failed") from None
    if not isinstance(data, dict):
        raise _BadBody("bind_request_body_failed")
    return data


def _base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


async def _dispatch(request: Request) -> Response | TruncatedResponse:
    state: SimState = request.app.state.sim
    path = _MODE_PREFIX.sub("", request.url.path, count=1)
    route, arg = "other", ""
    for method, pattern, name in _ROUTES:
        match = pattern.match(path)
        if match and request.method == method:
            route, arg = name, (match.group(1) if pattern.groups else "")
            break
    answering_for_fault = getattr(request.state, "echo_key", False)
    if not answering_for_fault:
        state.stats.request(route)
    fault = None if answering_for_fault else state.faults.draw()
    if fault is not None:
        state.stats.fault(fault)
        family = state.engine.flavor
        if fault == "401":  # each family's own 401 (trueai's text, novicezk's empty body)
            return family.unauthorized("Invalid token", _request_id(state))
        response = await fault_response(fault, request.url.path, state.rng)
        if fault == "429" and family.bare_rate_limit and response is not None:
            wait = {k: v for k, v in response.headers.items() if k.lower() == "retry-after"}
            return Response(b"", 429, wait)
        if response is not None:
            return response
        if fault == "echo_key":  # the real answer, then the key written into its text
            request.state.echo_key = True
            real = await _dispatch(request)
            key = state.engine.flavor.caller_key(request)
            return faults_echo_key(real, key) if key and isinstance(real, Response) else real
    engine = state.engine
    flavor = engine.flavor
    missing = route not in flavor.routes
    if route == "other" or missing or (route in ("list", "list_ids") and not state.batch_route):
        return _invalid_url(request)
    if route == "image":
        found = await asyncio.to_thread(engine.media, arg)  # a 2048 px image takes a moment
        if found is None:
            return Response(b"image not found", 404, media_type="text/plain")
        return Response(found[0], 200, {"Cache-Control": "no-cache"}, media_type=found[1])
    if route == "video":
        found = engine.media(f"{arg}~mp4")
        if found is None:
            return Response(b"video not found", 404, media_type="text/plain")
        return Response(found[0], 200, media_type=found[1])
    key = flavor.caller_key(request)
    if not key:
        return flavor.unauthorized("No token provided", _request_id(state))
    if state.key is not None and key != state.key:
        return flavor.unauthorized("Invalid token", _request_id(state))
    base = state.public_url or _base_url(request)
    if route == "fetch":
        state.stats.ids(1)
        task = engine.task_json(arg, owner=key, base_url=base)
        if task is None:
            return flavor.not_found()
        return json_response(task)
    try:
        body = await _json_object(request)
    except _BadBody as exc:
        return _error_body(str(exc))
    if route in ("list", "list_ids"):
        ids = body.get("ids")
        if ids is None:
            ids = []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return _error_body("bind_request_body_failed")
        state.stats.ids(len(ids))
        return json_response(engine.list_json(ids, owner=key, base_url=base))
    action = ""
    if route == "action":
        custom_id = body.get("customId")
        if isinstance(custom_id, str) and flavor.refuses(custom_id):
            return flavor.refusal(custom_id)
        press = btn.press_for(custom_id) if isinstance(custom_id, str) else None
        action = press.action if press is not None else ""
        answer = engine.action(
            body.get("taskId"), body.get("customId"), owner=key, state=body.get("state") or ""
        )
    elif route == "modal":
        answer = engine.modal(
            body.get("taskId"), body.get("prompt"), body.get("maskBase64"), owner=key
        )
    else:
        answer = engine.imagine(
            body.get("prompt"),
            body.get("botType") or "MID_JOURNEY",
            owner=key,
            state=body.get("state") or "",
        )
    return flavor.submit_response(answer, action)


def _request_id(state: SimState) -> str:
    return "".join(state.rng.choice("0123456789") for _ in range(26))


async def _mj(request: Request) -> Response | TruncatedResponse:
    response = await _dispatch(request)
    if isinstance(response, Response):
        request.app.state.sim.stats.status(response.status_code)
    return response


async def _sim_stats(request: Request) -> Response:
    return json_response(request.app.state.sim.stats.snapshot())


async def _sim_tasks(request: Request) -> Response:
    return json_response(request.app.state.sim.engine.ids())


async def _sim_faults(request: Request) -> Response:
    state: SimState = request.app.state.sim
    if request.method == "POST":
        try:
            body = await _json_object(request)
            spec = body.get("spec", "")
            if not isinstance(spec, str):
                raise FaultSpecError("spec must be a string")
            state.faults = Faults.from_spec(spec, state.seed)
        except (_BadBody, FaultSpecError) as exc:
            return json_response({"error": str(exc)}, 400)
    return json_response({"spec": state.faults.spec})


_ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def create_app(
    engine: Engine, key: str | None = None, faults: str | Faults | None = None, *, seed: int = 0
) -> Starlette:
    """The Starlette app over `engine`; `key` None accepts any non-empty key."""
    if not isinstance(faults, Faults):
        faults = Faults.from_spec(faults, seed)
    app = Starlette(
        routes=[
            Route("/_sim/stats", _sim_stats, methods=["GET"]),
            Route("/_sim/tasks", _sim_tasks, methods=["GET"]),
            Route("/_sim/faults", _sim_faults, methods=["GET", "POST"]),
            Route("/{path:path}", _mj, methods=_ANY_METHOD),
        ]
    )
    app.state.sim = SimState(engine, key, faults, seed)
    return app


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class SimServer:
    """The simulator on a real loopback port, served from a background thread.

    Use as a context manager, or call `.start()` and `.stop()`.
    """

    def __init__(
        self,
        tasks: int = 0,
        speed: float = 1.0,
        seed: int = 0,
        key: str | None = None,
        faults: str = "",
        demo: bool = False,
        hostile: bool = False,
        batch_route: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] | None = None,
        fail_rate: float = 0.05,
        public_url: str = "",
        flavor: str = "newapi",
    ) -> None:
        """`public_url` replaces this server's address in image URLs (screenshots want the
        same text on every run; the real service says https://api.cometapi.com)."""
        self.engine = Engine(
            clock=clock or time.time, seed=seed, speed=speed, fail_rate=fail_rate, flavor=flavor
        )
        self.seeded_ids: list[str] = []
        if demo:
            self.seeded_ids += self.engine.seed_demo()
        if hostile:
            self.seeded_ids += self.engine.seed_hostile()
        if tasks:
            self.seeded_ids += self.engine.seed_tasks(tasks)
        self.app = create_app(self.engine, key=key, faults=faults, seed=seed)
        self.batch_route = batch_route
        self.state.public_url = public_url
        self.host = host
        self.port = port
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> SimState:
        return self.app.state.sim

    @property
    def url(self) -> str:
        return _url(self.host, self.port)

    @property
    def batch_route(self) -> bool:
        return self.state.batch_route

    @batch_route.setter
    def batch_route(self, value: bool) -> None:
        self.state.batch_route = bool(value)

    def stats(self) -> dict[str, Any]:
        return self.state.stats.snapshot()

    def reset_stats(self) -> None:
        self.state.stats.reset()

    def set_faults(self, spec: str) -> None:
        """Replace the fault rates; raises FaultSpecError (a ValueError) for a bad spec."""
        self.state.faults = Faults.from_spec(spec, self.state.seed)

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto must be TCP, or asyncio skips TCP_NODELAY and every answer waits ~40 ms.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            # Listen now: `mjdash sim` prints its URL before uvicorn runs, and a client that
            # connects in between must wait in the backlog, not be refused.
            sock.listen(2048)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self.engine.base_url = self.url
        return sock

    def _uvicorn(self) -> uvicorn.Server:
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        quiet_resets()  # after Config, which sets up uvicorn's loggers
        return uvicorn.Server(config)

    def start(self) -> SimServer:
        if self._thread is not None:
            return self
        self._socket = self._bind()
        self._server = self._uvicorn()
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="mjdash-sim",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=START_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self, out: TextIO | None = None) -> None:
        """Serve in the foreground until Ctrl+C or SIGTERM (for `mjdash sim`)."""
        out = out or sys.stdout
        sock = self._bind()
        key_line = (
            "key: only the key given with --key is accepted"
            if self.state.key
            else "key: any non-empty key is accepted"
        )
        flavor = self.engine.flavor.name
        print(f"mjdash simulator on {self.url}", file=out)
        warning = exposure_warning(self.host, self.state.key)
        if warning:
            print(warning, file=sys.stderr if out is sys.stdout else out, flush=True)
        print(f"{key_line} ({_AUTH_HELP[flavor]}); answers like {flavor}", file=out)
        if self.seeded_ids:
            print(f"{len(self.seeded_ids)} tasks seeded; ids at {self.url}/_sim/tasks", file=out)
        if self.state.faults.rates:
            print(f"faults: {self.state.faults.spec}", file=out)
        print("Ctrl+C stops", file=out, flush=True)
        try:
            self._uvicorn().run(sockets=[sock])
        finally:
            sock.close()


_AUTH_HELP = {
    "newapi": "Authorization: Bearer <key>, or mj-api-secret: <key>",
    "trueai": "Authorization: <key> (no Bearer), or mj-api-secret: <key>",
    "novicezk": "mj-api-secret: <key> only",
}


def exposure_warning(host: str, key: str | None) -> str | None:
    """A warning when the simulator listens beyond loopback (it is a test server: fake tasks,
    no TLS, any key accepted unless --key is given); None on 127.0.0.1 / ::1 / localhost."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return None
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None and address.is_loopback:
        return None
    where = (
        "every network interface"
        if address is not None and address.is_unspecified
        else f"{host}, not only loopback"
    )
    accepts = "it accepts ANY non-empty key" if not key else "anyone who reaches it can try keys"
    return (
        f"warning: the simulator serves {where}: {accepts}, speaks plain HTTP and is for "
        "tests only; use --host 127.0.0.1 unless other machines must reach it"
    )


def run_sim(
    host: str = "127.0.0.1",
    port: int = 8787,
    speed: float = 1.0,
    tasks: int = 0,
    key: str | None = None,
    faults: str = "",
    *,
    seed: int = 0,
    demo: bool = False,
    hostile: bool = False,
    fail_rate: float = 0.05,
    flavor: str = "newapi",
    out: TextIO | None = None,
    image_size: int = 128,
    image_format: str = "png",
) -> None:
    """Serve the simulator in the foreground. Raises OSError if the port is taken and
    FaultSpecError (a ValueError) for a bad fault spec."""
    server = SimServer(
        tasks=tasks,
        speed=speed,
        seed=seed,
        key=key,
        faults=faults,
        demo=demo,
        hostile=hostile,
        host=host,
        port=port,
        fail_rate=fail_rate,
        flavor=flavor,
    )
    server.engine.image_size, server.engine.image_format = image_size, image_format
    server.serve_forever(out)
