"""MidjourneyClient over real loopback sockets (tests/support/faultserver.py) and MockTransport.

Fault-matrix rows (docs/reliability.md) are named after their row: N1-N6, H1-H6, P1-P4, C1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
import traceback
from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mjdash.model.secret import Secret
from mjdash.model.task import BadTask, Status, Task
from mjdash.model.urls import is_safe_url, url_refusal
from mjdash.net.client import (
    AnswerTooLarge,
    AuthError,
    BadResponse,
    MidjourneyClient,
    MjError,
    RateLimited,
    RefusedUrl,
    SubmitResult,
    TaskNotFound,
    TransientError,
)
from tests.support.faultserver import (
    FaultServer,
    Request,
    closed_port,
    drip,
    hang_up,
    html,
    huge,
    redirect,
    reset,
    respond,
    stall,
    task_api,
    task_json,
    truncated,
)

KEY_TEXT = "sk-test-0123456789abcdefSECRET"
KEY = Secret(KEY_TEXT)
ID = "1773314942177684"
HANG_GUARD = 30.0  # seconds: far above every timeout under test
T = TypeVar("T")
ID2 = "1773314942177685"


@pytest.fixture
async def server():
    async with FaultServer() as fault_server:
        yield fault_server


async def within_hang_guard(call: Awaitable[T]) -> T:
    """`call`, failed with TimeoutError if it never ends: a guard against a hang, far above any
    timeout under test, not a speed check (speed is in tests/perf/bench_components.py)."""
    return await asyncio.wait_for(call, HANG_GUARD)


def make_client(url: str, **kwargs: Any) -> MidjourneyClient:
    kwargs.setdefault("timeout", 2.0)
    return MidjourneyClient(url, kwargs.pop("key", KEY), **kwargs)


def mock_client(handler, **kwargs: Any) -> MidjourneyClient:
    return make_client("https://api.example.test", transport=httpx.MockTransport(handler), **kwargs)


def assert_no_key(*things: object) -> None:
    for thing in things:
        for text in (str(thing), repr(thing)):
            assert KEY_TEXT not in text
        if isinstance(thing, BaseException):
            rendered = "".join(traceback.format_exception(thing))
            assert KEY_TEXT not in rendered


# --- requests: URLs, auth, parsing ---------------------------------------------------------


async def test_fetch_sends_bearer_key_and_parses_the_task(server):
    server.script(respond(200, task_json(ID, "IN_PROGRESS", "58%")))
    async with make_client(server.url) as client:
        task = await client.fetch(ID)
    assert (task.id, task.status, task.progress) == (ID, Status.IN_PROGRESS, 58)
    assert task.prompt == "a paper boat"
    request = server.requests[0]
    assert (request.method, request.path) == ("GET", f"/mj/task/{ID}/fetch")
    assert request.headers["authorization"] == f"Bearer {KEY_TEXT}"
    assert "mj-api-secret" not in request.headers


async def test_mj_api_secret_auth_style(server):
    server.script(respond(200, task_json(ID)))
    async with make_client(server.url, auth="mj-api-secret") as client:
        await client.fetch(ID)
    assert server.requests[0].headers["mj-api-secret"] == KEY_TEXT
    assert "authorization" not in server.requests[0].headers


async def test_no_key_sends_no_auth_header(server):
    server.script(respond(200, task_json(ID)))
    async with make_client(server.url, key=None) as client:
        await client.fetch(ID)
    assert "authorization" not in server.requests[0].headers


@pytest.mark.parametrize("suffix", ["/mj-fast", "/mj-fast/"])
async def test_base_url_path_prefix_is_kept(server, suffix):
    server.script(task_api())
    async with make_client(server.url + suffix) as client:
        await client.fetch(ID)
        await client.fetch_many([ID])
    assert [r.path for r in server.requests] == [
        f"/mj-fast/mj/task/{ID}/fetch",
        "/mj-fast/mj/task/list-by-condition",
    ]


@pytest.mark.parametrize(
    "base", ["ftp://host", "http://user:pw@host", "-http://host", "http://", "https://h/x?q=1"]
)
def test_unusable_base_url_is_refused(base):
    with pytest.raises(ValueError, match="unusable base URL"):
        MidjourneyClient(base, KEY)


def test_unknown_auth_style_is_refused():
    with pytest.raises(ValueError, match="auth"):
        MidjourneyClient("https://h", KEY, auth="basic")


async def test_invalid_task_id_sends_nothing(server):
    async with make_client(server.url) as client:
        for bad in ("../../etc", "", "a/b", "x" * 65, ".."):
            with pytest.raises(TaskNotFound):
                await client.fetch(bad)
        assert await client.fetch_many(["../x"]) == {"../x": None}
    assert server.requests == []
    assert client.request_count == 0


async def test_request_count_counts_every_request(server):
    server.script(task_api())
    async with make_client(server.url) as client:
        await client.fetch(ID)
        await client.fetch_many([ID, ID2])
        assert client.request_count == 2 == len(server.requests)


# --- N: network faults ------------------------------------------------------------------------


async def test_N1_connection_refused_is_transient_and_names_the_host():
    port = closed_port()
    async with make_client(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(TransientError) as caught:
            await client.fetch(ID)
    error = caught.value
    assert str(error).startswith("server unreachable: cannot connect to 127.0.0.1:")
    assert str(port) in str(error)
    assert error.status is None and error.retry_now is False
    assert_no_key(error)


async def test_N1_dns_failure_is_transient():
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    async with mock_client(fail) as client:
        with pytest.raises(TransientError, match=r"unreachable.*api\.example\.test.*not known"):
            await client.fetch(ID)


async def test_N2_connect_timeout_is_transient():
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    async with mock_client(slow) as client:
        with pytest.raises(TransientError, match="did not accept a connection") as caught:
            await client.fetch(ID)
    assert caught.value.status is None


async def test_N2_unaccepted_connection_hits_the_deadline():
    # A listening socket whose accept queue is full: the handshake or the answer never comes.
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        async with make_client(f"http://127.0.0.1:{port}", timeout=0.3) as client:
            with pytest.raises(TransientError, match="server unreachable"):
                await within_hang_guard(client.fetch(ID))
    finally:
        for sock in [*fillers, listener]:
            sock.close()


async def test_N3_accept_then_stall_times_out(server):
    server.script(stall())
    async with make_client(server.url, timeout=0.5) as client:
        with pytest.raises(TransientError, match=r"no answer from 127\.0\.0\.1") as caught:
            await within_hang_guard(client.fetch(ID))
    # The read timeout gave up (how soon: tests/perf/bench_components.py), not a refused socket.
    assert caught.value.status is None and not caught.value.retry_now
    assert len(server.requests) == 1


async def test_N4_drip_fed_body_is_cut_by_the_total_deadline(server):
    server.script(drip(every=0.05))
    async with make_client(server.url, timeout=0.5) as client:
        assert client.deadline == 1.0
        # Each byte comes well inside the read timeout: only the total deadline ends it ("within
        # 1s" is its message). How soon it ends is measured in tests/perf/bench_components.py.
        with pytest.raises(TransientError, match="within 1s"):
            await within_hang_guard(client.fetch(ID))


async def test_N5_reset_mid_response_asks_for_an_immediate_retry(server):
    server.script(reset())
    async with make_client(server.url) as client:
        with pytest.raises(TransientError, match="was cut") as caught:
            await client.fetch(ID)
    assert caught.value.retry_now is True
    assert caught.value.status is None


async def test_N5_truncated_body_asks_for_an_immediate_retry(server):
    server.script(truncated())
    async with make_client(server.url) as client:
        with pytest.raises(TransientError) as caught:
            await client.fetch(ID)
    assert caught.value.retry_now is True


async def test_N6_stale_keep_alive_is_a_retry_now_error_then_a_fresh_connection_works(server):
    server.script(respond(200, task_json(ID)), hang_up(), respond(200, task_json(ID)))
    async with make_client(server.url) as client:
        await client.fetch(ID)
        with pytest.raises(TransientError) as caught:
            await client.fetch(ID)  # same keep-alive connection, closed under it
        assert caught.value.retry_now is True
        task = await client.fetch(ID)
    assert task.id == ID
    assert [r.connection for r in server.requests] == [1, 1, 2]


# --- H: HTTP status faults --------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504, 524])
async def test_H1_server_errors_are_transient(server, status):
    server.script(respond(status, {"description": "upstream down"}))
    async with make_client(server.url) as client:
        with pytest.raises(TransientError, match=f"HTTP {status}") as caught:
            await client.fetch(ID)
        with pytest.raises(TransientError):
            await client.fetch_many([ID, ID2])
    assert caught.value.status == status
    assert caught.value.retry_now is False
    assert len(server.requests) == 2  # the client never retries by itself


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "2500", "Retry-After": "9"}, 2.5),
        ({}, None),
        ({"Retry-After": "abc"}, None),
        ({"Retry-After": "-5"}, None),
        ({"Retry-After": "1e309"}, None),
        ({"Retry-After": "86400"}, 300.0),
    ],
)
async def test_H2_rate_limited_carries_retry_after(server, headers, expected):
    server.script(respond(429, {"description": "slow down", "code": 30}, headers))
    async with make_client(server.url) as client:
        with pytest.raises(RateLimited, match="rate limited") as caught:
            await client.fetch_many([ID])
    assert caught.value.retry_after == expected


async def test_H2_retry_after_http_date(server):
    from email.utils import formatdate

    server.script(respond(429, b"", {"Retry-After": formatdate(time.time() + 60, usegmt=True)}))
    async with make_client(server.url) as client:
        with pytest.raises(RateLimited) as caught:
            await client.fetch(ID)
    assert 55 <= caught.value.retry_after <= 60


@pytest.mark.parametrize("status", [408, 409, 425])
async def test_H3_request_timeout_and_conflict_are_transient(server, status):
    server.script(respond(status))
    async with make_client(server.url) as client:
        with pytest.raises(TransientError) as caught:
            await client.fetch(ID)
    assert caught.value.status == status


@pytest.mark.parametrize("status", [401, 403])
async def test_H4_auth_failure_names_the_env_var(server, status):
    body = {
        "error": {"code": "", "message": f"invalid token {KEY_TEXT}", "type": "comet_api_error"}
    }
    server.script(respond(status, body))
    async with make_client(server.url, key_env="MY_MJ_KEY") as client:
        with pytest.raises(AuthError) as caught:
            await client.fetch_many([ID])
    message = str(caught.value)
    assert message.startswith(f"key rejected (HTTP {status}): check MY_MJ_KEY, and the auth")
    assert '"bearer"' in message and '"mj-api-secret"' in message
    assert_no_key(caught.value)


async def test_H4_missing_key_says_to_set_it(server):
    server.script(respond(401, b""))
    async with make_client(server.url, key=None) as client:
        with pytest.raises(AuthError, match=r"no key .*set COMETAPI_KEY"):
            await client.fetch(ID)


@pytest.mark.parametrize(
    "handler",
    [
        respond(400, {"description": "task_no_found ", "type": "upstream_error", "code": 4}),
        respond(404, {"message": "not found"}),
        respond(404, b""),
        respond(200, b""),
        respond(204, b""),
    ],
    ids=["400-task_no_found", "404-json", "404-empty", "200-empty", "204"],
)
async def test_H5_unknown_id_is_task_not_found(server, handler):
    server.script(handler)
    async with make_client(server.url) as client:
        with pytest.raises(TaskNotFound) as caught:
            await client.fetch(ID)
    assert caught.value.task_id == ID
    assert str(caught.value) == f"task {ID} not found"


async def test_H5_id_missing_from_a_batch_is_confirmed_then_none(server):
    server.script(task_api(lambda i: task_json(i) if i == ID else None))
    async with make_client(server.url) as client:
        results = await client.fetch_many([ID, ID2])
    assert isinstance(results[ID], Task)
    assert results[ID2] is None
    assert [r.path for r in server.requests] == [
        "/mj/task/list-by-condition",
        f"/mj/task/{ID2}/fetch",  # confirmed once, not assumed gone
    ]


async def test_H5_id_missing_from_a_batch_but_found_by_fetch(server):
    server.script(respond(200, []), respond(200, task_json(ID2, "SUCCESS", "100%")))
    async with make_client(server.url) as client:
        results = await client.fetch_many([ID2])
    assert isinstance(results[ID2], Task) and results[ID2].status is Status.SUCCESS


async def test_H6_redirect_not_followed_and_the_key_stays_home(server):
    async with FaultServer() as elsewhere:
        elsewhere.script(respond(200, task_json(ID)))
        target = f"http://localhost:{elsewhere.port}/mj/task/{ID}/fetch"
        server.script(redirect(target, 301))
        async with make_client(server.url) as client:
            with pytest.raises(BadResponse, match="base URL is probably wrong") as caught:
                await client.fetch(ID)
            with pytest.raises(BadResponse, match="redirected"):
                await client.fetch_many([ID])
        assert elsewhere.requests == []
    assert f"localhost:{elsewhere.port}" in str(caught.value)
    assert_no_key(caught.value)


# --- P: payload faults --------------------------------------------------------------------


async def test_P1_html_answer_says_the_base_url_is_wrong(server):
    server.script(html(200))
    async with make_client(server.url) as client:
        with pytest.raises(BadResponse, match=r"HTML page.*base URL") as single:
            await client.fetch(ID)
        with pytest.raises(BadResponse, match="HTML page") as batch:
            await client.fetch_many([ID, ID2])
    assert server.url in str(single.value)
    assert not isinstance(batch.value, TransientError)


async def test_P1_html_404_is_not_mistaken_for_an_unknown_task(server):
    server.script(html(404))
    async with make_client(server.url) as client:
        with pytest.raises(BadResponse, match="HTML"):
            await client.fetch(ID)


async def test_P2_wrong_shapes_are_read_tolerantly(server):
    odd = {"id": ID, "status": "WHATEVER", "progress": "150%", "submitTime": "abc", "buttons": 7}
    server.script(respond(200, odd))
    async with make_client(server.url) as client:
        task = await client.fetch(ID)
    assert task.status is Status.UNKNOWN and task.status_text == "WHATEVER"
    assert task.progress == 100
    assert task.submit_time is None and task.buttons == ()


@pytest.mark.parametrize("body", [b"null", b"[]", b"42", b'"text"', b"{not json", b"[" * 100000])
async def test_P2_fetch_of_garbage_is_bad_response(server, body):
    server.script(respond(200, body))
    async with make_client(server.url) as client:
        with pytest.raises(BadResponse):
            await client.fetch(ID)


@pytest.mark.parametrize("body", [b"null", b'{"foo": 1}', b"42", b"{not json"])
async def test_P2_batch_answer_must_be_a_list(server, body):
    server.script(respond(200, body))
    async with make_client(server.url) as client:
        with pytest.raises(BadResponse):
            await client.fetch_many([ID])


async def test_P2_batch_items_are_matched_by_id_whatever_the_order(server):
    extra = task_json("9999999999999999")  # another key's task: not asked for, ignored
    answer = [7, None, extra, task_json(ID2, "SUCCESS", "100%"), task_json(ID, "IN_PROGRESS")]
    server.script(respond(200, answer))
    async with make_client(server.url) as client:
        results = await client.fetch_many([ID, ID2])
    assert set(results) == {ID, ID2}
    assert results[ID].status is Status.IN_PROGRESS
    assert results[ID2].status is Status.SUCCESS
    assert len(server.requests) == 1


async def test_P3_error_envelope_in_a_200(server):
    envelope = {"code": 9, "description": "system error: upstream busy"}
    server.script(respond(200, envelope))
    async with make_client(server.url) as client:
        with pytest.raises(BadResponse, match="upstream busy"):
            await client.fetch(ID)
        with pytest.raises(BadResponse, match="batch fetch failed: system error"):
            await client.fetch_many([ID])


async def test_P3_error_envelope_is_a_per_task_error_when_fetching_one_by_one(server):
    envelope = {"code": 9, "description": "system error"}
    server.script(respond(404, b""), respond(200, task_json(ID)), respond(200, envelope))
    async with make_client(server.url) as client:
        results = await client.fetch_many([ID, ID2])
    assert client.batch_route is False
    assert isinstance(results[ID], Task)
    assert isinstance(results[ID2], BadTask) and "system error" in results[ID2].reason


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_P4_ten_megabyte_body_is_capped(server, declared):
    server.script(huge(10 * 1024 * 1024, declared=declared))
    async with make_client(server.url) as client:
        with pytest.raises(AnswerTooLarge, match="answer too large"):
            await within_hang_guard(client.fetch(ID))


async def test_P4_too_large_batch_is_split_until_it_fits(server):
    big = "x" * 400_000  # three of these pass 1 MiB, two do not

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        ids = request.json()["ids"]
        answer = [{**task_json(i), "prompt": big} for i in ids]
        return await respond(200, answer)(request, writer)

    ids = [f"177331494217{n:04d}" for n in range(8)]
    server.script(handler)
    async with make_client(server.url) as client:
        results = await client.fetch_many(ids)
    assert all(isinstance(results[i], Task) for i in ids)
    assert [len(r.json()["ids"]) for r in server.requests] == [8, 4, 4, 2, 2, 2, 2]


async def test_P4_after_a_too_large_batch_later_polls_send_the_size_that_fit(server):
    """Long prompts: the split costs requests once, not on every poll."""
    big = "x" * 400_000

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        ids = request.json()["ids"]
        return await respond(200, [{**task_json(i), "prompt": big} for i in ids])(request, writer)

    ids = [f"177331494217{n:04d}" for n in range(8)]
    server.script(handler)
    async with make_client(server.url) as client:
        await client.fetch_many(ids)
        server.requests.clear()
        again = await client.fetch_many(ids)
    assert all(isinstance(again[i], Task) for i in ids)
    assert [len(r.json()["ids"]) for r in server.requests] == [2, 2, 2, 2]


async def test_P4_a_task_too_large_alone_is_a_per_task_error_then_fetched_apart(server):
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.method == "GET":
            return await huge(2 * 1024 * 1024)(request, writer)
        ids = request.json()["ids"]
        if ID in ids:
            return await huge(2 * 1024 * 1024)(request, writer)
        return await respond(200, [task_json(i) for i in ids])(request, writer)

    server.script(handler)
    async with make_client(server.url) as client:
        first = await client.fetch_many([ID, ID2])
        server.requests.clear()
        second = await client.fetch_many([ID, ID2])
    assert isinstance(first[ID], BadTask) and "too large" in first[ID].reason
    assert isinstance(first[ID2], Task) and isinstance(second[ID2], Task)
    assert isinstance(second[ID], BadTask)
    assert sorted((r.method, r.path) for r in server.requests) == [
        ("GET", f"/mj/task/{ID}/fetch"),
        ("POST", "/mj/task/list-by-condition"),
    ]


# --- batches and fallback -------------------------------------------------------------------


async def test_C1_thousand_ids_in_bounded_concurrent_batches(server):
    server.script(task_api(delay=0.02))
    ids = [f"1773314942{n:06d}" for n in range(1000)]
    async with make_client(server.url, batch_size=100, concurrency=4) as client:
        results = await client.fetch_many(ids)
    assert len(server.requests) == math.ceil(1000 / 100)
    assert all(len(r.json()["ids"]) <= 100 for r in server.requests)
    assert sorted(i for r in server.requests for i in r.json()["ids"]) == ids
    assert all(isinstance(results[i], Task) for i in ids)
    assert 2 <= server.max_active <= 4


async def test_batch_route_missing_falls_back_to_one_fetch_per_id_for_good(server):
    server.script(task_api(batch=False, delay=0.01))
    ids = [f"1773314942{n:06d}" for n in range(20)]
    async with make_client(server.url, concurrency=3) as client:
        first = await client.fetch_many(ids)
        assert client.batch_route is False
        assert len(server.requests) == 1 + 20  # one probe, then per id
        server.requests.clear()
        second = await client.fetch_many(ids)
    assert len(server.requests) == 20
    assert all(r.method == "GET" for r in server.requests)
    assert all(isinstance(first[i], Task) and isinstance(second[i], Task) for i in ids)
    assert server.max_active <= 3


async def test_batch_route_405_also_falls_back(server):
    server.script(respond(405, b""), respond(200, task_json(ID)))
    async with make_client(server.url) as client:
        results = await client.fetch_many([ID])
    assert isinstance(results[ID], Task)
    assert client.batch_route is False


async def test_duplicate_ids_are_asked_once(server):
    server.script(task_api())
    async with make_client(server.url) as client:
        results = await client.fetch_many([ID, ID, ID2, ID])
    assert list(results) == [ID, ID2]
    assert server.requests[0].json() == {"ids": [ID, ID2]}


async def test_the_most_serious_concurrent_failure_wins():
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        ids = json.loads(request.content)["ids"]
        if ids[0].endswith("0150"):
            return httpx.Response(401)
        if calls == 1:
            return httpx.Response(200, json=[task_json(i) for i in ids])
        return httpx.Response(503)

    ids = [f"177331494217{n:04d}" for n in range(300)]
    async with mock_client(handler, batch_size=50) as client:
        with pytest.raises(AuthError):
            await client.fetch_many(ids)


# --- submits ------------------------------------------------------------------------------


async def test_submit_action_modal_imagine_payloads_and_results(server):
    server.script(
        respond(200, {"code": 1, "description": "Submit success", "result": ID2, "properties": {}}),
        respond(200, {"code": 21, "description": "Waiting for window confirm", "result": ID2}),
        respond(
            200,
            {
                "code": 22,
                "description": "排队中",
                "result": 1773315300999042,
                "properties": {"numberOfQueues": 3},
            },
        ),
        respond(
            200, {"code": 24, "description": "banned", "properties": {"bannedWord": "bad\x1b[31m"}}
        ),
    )
    async with make_client(server.url) as client:
        action = await client.submit_action(ID, "MJ::JOB::upsample::1::abc", state="s")
        modal = await client.submit_modal(ID2, "cat --zoom 1.5", mask_base64="AAAA")
        queued = await client.submit_imagine("a cat")
        banned = await client.submit_imagine("bad", bot_type="NIJI_JOURNEY")
    assert action == SubmitResult(1, "Submit success", ID2, {})
    assert action.ok and not action.opened_modal
    assert modal.ok and modal.opened_modal
    assert queued.ok and queued.queue_position == 3 and queued.task_id == "1773315300999042"
    assert not banned.ok and banned.task_id is None and banned.banned_word == "bad [31m"
    bodies = [(r.path, r.json()) for r in server.requests]
    assert bodies == [
        (
            "/mj/submit/action",
            {"taskId": ID, "customId": "MJ::JOB::upsample::1::abc", "state": "s"},
        ),
        ("/mj/submit/modal", {"taskId": ID2, "prompt": "cat --zoom 1.5", "maskBase64": "AAAA"}),
        ("/mj/submit/imagine", {"prompt": "a cat", "botType": "MID_JOURNEY"}),
        ("/mj/submit/imagine", {"prompt": "bad", "botType": "NIJI_JOURNEY"}),
    ]


async def test_submit_validation_error_in_a_400_is_a_result(server):
    server.script(respond(400, {"code": 4, "description": "prompt is empty"}))
    async with make_client(server.url) as client:
        result = await client.submit_imagine("")
    assert (result.code, result.description, result.ok) == (4, "prompt is empty", False)


@pytest.mark.parametrize("handler", [html(200), respond(200, b"[1]"), respond(200, b"nope")])
async def test_submit_non_json_is_bad_response(server, handler):
    server.script(handler)
    async with make_client(server.url) as client:
        with pytest.raises(BadResponse):
            await client.submit_action(ID, "MJ::JOB::upsample::1::abc")


async def test_submit_is_never_retried(server):
    server.script(respond(503))
    async with make_client(server.url) as client:
        with pytest.raises(TransientError):
            await client.submit_imagine("a cat")
    assert len(server.requests) == 1


# --- the key --------------------------------------------------------------------------------


async def test_the_key_is_in_no_error_and_no_repr(server):
    echo = {"description": f"bad key {KEY_TEXT}", "error": {"message": KEY_TEXT}}
    handlers = [
        respond(401, echo),
        respond(403, echo),
        respond(400, echo),
        respond(422, echo),
        respond(429, echo, {"Retry-After": "5"}),
        respond(500, echo),
        respond(200, echo),
        respond(200, {"code": 4, "description": KEY_TEXT}),
        html(200),
        redirect(f"http://{KEY_TEXT}.example/"),
        huge(2 * 1024 * 1024),
        reset(),
        stall(),
    ]
    errors: list[BaseException] = []
    for auth in ("bearer", "mj-api-secret"):
        async with make_client(server.url, auth=auth, timeout=0.3) as client:
            assert_no_key(client, client.__dict__.get("_auth_headers"))
            for handler in handlers:
                server.script(handler)
                for call in (client.fetch(ID), client.fetch_many([ID])):
                    try:
                        await call
                    except MjError as exc:
                        errors.append(exc)
            result = None
            server.script(respond(200, {"code": 4, "description": f"no {KEY_TEXT}"}))
            result = await client.submit_imagine("x")
            assert_no_key(result)
    async with make_client(f"http://127.0.0.1:{closed_port()}") as client:
        with pytest.raises(TransientError) as caught:
            await client.fetch(ID)
        errors.append(caught.value)
    assert len(errors) >= 2 * len(handlers) * 2 - 4
    assert_no_key(*errors)
    assert any("***" in str(e) for e in errors)  # echoed text is redacted, not dropped


def test_client_repr_shows_no_key():
    client = MidjourneyClient("https://api.example.test/mj-fast", KEY, auth="mj-api-secret")
    assert repr(client) == (
        "MidjourneyClient(base_url='https://api.example.test/mj-fast', auth='mj-api-secret', "
        "key='***')"
    )
    assert_no_key(client, vars(client))


# --- downloads and URL checks (rule 8, P6) --------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:alert(1)", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("-x", "starts with '-'"),
        ("--help", "starts with '-'"),
        ("http://user:pw@host/img.png", "user name or password"),
        ("https://@host/", "user name or password"),
        ("http:///nohost", "no host"),
        ("https://host:99999/", "invalid port"),
        ("https://host/a b", "spaces"),
        ("https://host/\x1b]52;c;x\x07", "control"),
        ("https://evil\\@good/", "backslash"),
        ("", "no URL"),
        (None, "no URL"),
    ],
)
def test_P6_url_refusals_have_a_reason(url, reason):
    refusal = url_refusal(url)
    assert refusal is not None and reason in refusal
    assert not is_safe_url(url)


@given(st.text(max_size=80) | st.from_regex(r"(https?|file|javascript):/*[^ ]{0,40}"))
def test_P6_url_refusal_never_raises_and_only_passes_plain_web_urls(url):
    refusal = url_refusal(url)
    if refusal is None:
        parts = urlsplit(url)
        assert parts.scheme.lower() in ("http", "https") and parts.hostname
        assert "@" not in parts.netloc and not url.startswith("-")
        assert not any(ch.isspace() or ord(ch) < 32 for ch in url)
    else:
        assert isinstance(refusal, str) and refusal


@pytest.mark.parametrize(
    "url",
    ["https://api.cometapi.com/mj/image/1773314942177684?rand=1", "http://127.0.0.1:8787/x.png"],
)
def test_P6_ordinary_image_urls_are_fine(url):
    assert url_refusal(url) is None


async def test_P6_download_refuses_bad_urls_without_a_request(server):
    async with make_client(server.url) as client:
        for url in ("javascript:alert(1)", "file:///etc/passwd", "-x", "http://u:p@h/"):
            with pytest.raises(RefusedUrl, match="image not downloaded"):
                await client.download_image(url)
    assert server.requests == []


async def test_download_sends_the_key_only_to_the_base_host(server):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
    server.script(respond(200, png, content_type="image/png"))
    async with make_client(server.url) as client:
        same = await client.download_image(f"{server.url}/mj/image/{ID}")
        other = await client.download_image(f"http://localhost:{server.port}/mj/image/{ID}")
    assert same == other == png
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY_TEXT}"
    assert "authorization" not in server.requests[1].headers
    assert server.requests[0].headers["accept"] == "image/*"


async def test_download_follows_redirects_without_the_key_and_checks_targets(server):
    png = b"\x89PNG" + b"\1" * 10
    async with FaultServer() as cdn:
        cdn.script(respond(200, png, content_type="image/png"))
        server.script(
            redirect(f"http://localhost:{cdn.port}/img.png"),
            redirect("http://user:pw@localhost/x.png"),
            redirect("javascript:alert(1)"),
        )
        async with make_client(server.url) as client:
            assert await client.download_image(f"{server.url}/mj/image/{ID}") == png
            with pytest.raises(RefusedUrl, match="user name or password"):
                await client.download_image(f"{server.url}/mj/image/{ID}")
            with pytest.raises(BadResponse, match="invalid URL"):
                await client.download_image(f"{server.url}/mj/image/{ID}")
        assert "authorization" not in cdn.requests[0].headers


async def test_download_is_capped_at_20_mib(server):
    server.script(huge(21 * 1024 * 1024, declared=False))
    async with make_client(server.url) as client:
        with pytest.raises(AnswerTooLarge, match="20 MiB"):
            await client.download_image(f"{server.url}/mj/image/{ID}")


async def test_download_errors_are_typed(server):
    server.script(respond(404, b""), respond(503), respond(429, b"", {"Retry-After": "3"}))
    url = f"{server.url}/mj/image/{ID}"
    async with make_client(server.url) as client:
        with pytest.raises(BadResponse, match="HTTP 404"):
            await client.download_image(url)
        with pytest.raises(TransientError):
            await client.download_image(url)
        with pytest.raises(RateLimited) as caught:
            await client.download_image(url)
    assert caught.value.retry_after == 3.0


# --- against the simulator over real loopback HTTP ------------------------------------------


async def test_sim_fetch_reads_the_task_the_engine_shows(sim_factory):
    sim = sim_factory(tasks=12)
    task_id = sim.seeded_ids[0]
    async with make_client(sim.url) as client:
        task = await client.fetch(task_id)
    expected = sim.engine.task_json(task_id, base_url=sim.url)
    assert task.id == task_id
    assert task.status_raw == expected["status"] or task.status is Status.PENDING
    assert task.prompt == expected["prompt"][: len(task.prompt)]
    assert sim.stats()["routes"]["fetch"] == 1


async def test_sim_batch_with_unknown_ids_confirms_them_once(sim_factory):
    sim = sim_factory(tasks=30)
    unknown = ["1000000000000001", "1000000000000002"]
    ids = sim.seeded_ids + unknown
    async with make_client(sim.url) as client:
        results = await client.fetch_many(ids)
    assert all(isinstance(results[i], Task) and results[i].id == i for i in sim.seeded_ids)
    assert results[unknown[0]] is None and results[unknown[1]] is None
    assert sim.stats()["routes"]["list"] == 1
    assert sim.stats()["routes"]["fetch"] == 2


async def test_sim_without_batch_route_falls_back_to_fetch(sim_factory):
    sim = sim_factory(tasks=15, batch_route=False)
    async with make_client(sim.url, concurrency=4) as client:
        results = await client.fetch_many(sim.seeded_ids)
        assert client.batch_route is False
        assert all(isinstance(results[i], Task) for i in sim.seeded_ids)
        first = sim.stats()["routes"]
        assert (first["list"], first["fetch"]) == (1, 15)
        sim.reset_stats()
        await client.fetch_many(sim.seeded_ids)
    assert (sim.stats()["routes"]["list"], sim.stats()["routes"]["fetch"]) == (0, 15)


@pytest.mark.parametrize("auth", ["bearer", "mj-api-secret"])
async def test_sim_both_auth_styles(sim_factory, auth):
    sim = sim_factory(tasks=3, key=KEY_TEXT)
    async with make_client(sim.url, auth=auth) as client:
        results = await client.fetch_many(sim.seeded_ids)
        submitted = await client.submit_imagine("a red kite over the sea")
        assert submitted.ok and submitted.task_id
        new = await client.fetch(submitted.task_id)
    assert all(isinstance(results[i], Task) for i in sim.seeded_ids)
    assert new.id == submitted.task_id


async def test_sim_rejects_a_wrong_key_with_auth_error(sim_factory):
    sim = sim_factory(tasks=3, key="the-right-key")
    async with make_client(sim.url, key_env="MY_KEY") as client:
        with pytest.raises(AuthError, match=r"key rejected \(HTTP 401\): check MY_KEY") as caught:
            await client.fetch_many(sim.seeded_ids)
    assert_no_key(caught.value)
    async with make_client(sim.url, key=None) as client:
        with pytest.raises(AuthError, match="no key"):
            await client.fetch(sim.seeded_ids[0])


async def test_sim_mode_prefix_and_image_download(sim_factory):
    sim = sim_factory(demo=True)
    async with make_client(sim.url + "/mj-fast") as client:
        results = await client.fetch_many(sim.seeded_ids)
        with_image = [t for t in results.values() if isinstance(t, Task) and t.image_url]
        assert with_image
        data = await client.download_image(with_image[0].image_url)
    assert data.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("429=1", RateLimited),
        ("503=1", TransientError),
        ("html=1", BadResponse),
        ("401=1", AuthError),
        ("redirect=1", BadResponse),
    ],
)
async def test_sim_faults_map_to_typed_errors(sim_factory, spec, error):
    sim = sim_factory(tasks=5, faults=spec)
    async with make_client(sim.url) as client:
        with pytest.raises(error):
            await client.fetch_many(sim.seeded_ids)


async def test_sim_hostile_batch_with_a_huge_prompt_is_split_not_lost(sim_factory):
    sim = sim_factory(hostile=True, tasks=80)  # together well over 1 MiB
    async with make_client(sim.url) as client:
        results = await client.fetch_many(sim.seeded_ids)
    assert all(isinstance(results[i], Task) for i in sim.seeded_ids)
    assert any(len(t.prompt) >= 7000 for t in results.values())  # cut by parse_task, not lost
    routes = sim.stats()["routes"]
    assert routes["list"] > 1 and routes["fetch"] == 0
