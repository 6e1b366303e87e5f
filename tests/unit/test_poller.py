"""The poller: schedule, the one retry layer, and the fault rows it owns (docs/reliability.md).

A fake monotonic clock drives time; rng=1.0 makes the jitter deterministic (delay = ceiling).
Fault rows run the real MidjourneyClient against tests/support/faultserver.py on loopback.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mjdash.model.secret import Secret
from mjdash.model.task import BadTask, Status, Task
from mjdash.net.client import (
    AuthError,
    BadResponse,
    MidjourneyClient,
    RateLimited,
    TransientError,
)
from mjdash.net.poller import MIN_INTERVAL, MODAL_INTERVAL, Poller, PollerState, PollResult
from tests.support.faultserver import (
    FaultServer,
    closed_port,
    hang_up,
    html,
    huge,
    reset,
    respond,
    stall,
    task_api,
    task_json,
    truncated,
)

START = 10_000.0
WALL = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)
KEY = Secret("sk-poller-test-key-123456")
IDS = [f"17733149421776{n:02d}" for n in range(5)]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return WALL + timedelta(seconds=self.now - START)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def server():
    async with FaultServer() as fault_server:
        yield fault_server


def running(task_id: str, progress: int = 50, status: Status = Status.IN_PROGRESS, **kw) -> Task:
    kw.setdefault("start_time", WALL - timedelta(minutes=1))
    return Task(id=task_id, status=status, status_raw=status.value, progress=progress, **kw)


class FakeClient:
    """fetch_many over a dict; errors queued in `errors` are raised first, one per call."""

    def __init__(self, tasks: dict[str, Any] | None = None, batch_size: int = 100) -> None:
        self.tasks = dict(tasks or {})
        self.batch_size = batch_size
        self.errors: list[BaseException] = []
        self.calls: list[list[str]] = []
        self.request_count = 0

    async def fetch_many(self, ids):
        ids = list(ids)
        self.calls.append(ids)
        self.request_count += math.ceil(len(ids) / self.batch_size)
        if self.errors:
            raise self.errors.pop(0)
        return {i: self.tasks.get(i) for i in ids}


def make_poller(client: Any, clock: Clock, **kwargs: Any) -> Poller:
    kwargs.setdefault("interval", 5.0)
    return Poller(client, clock=clock, rng=lambda: 1.0, wall=clock.wall, **kwargs)


def real_client(url: str, **kwargs: Any) -> MidjourneyClient:
    kwargs.setdefault("timeout", 2.0)
    return MidjourneyClient(url, KEY, **kwargs)


# --- schedule -------------------------------------------------------------------------------


async def test_unknown_tasks_are_due_at_once_and_finished_ones_never(clock):
    done = running(IDS[1], 100, Status.SUCCESS)
    modal = running(IDS[2], 0, Status.MODAL)
    failed = running(IDS[3], 100, Status.FAILURE)
    poller = make_poller(FakeClient(), clock)
    poller.track(IDS[:4], known={IDS[1]: done, IDS[2]: modal, IDS[3]: failed})
    assert poller.due_ids() == [IDS[0]]
    clock.now += MODAL_INTERVAL  # MODAL ones slowly (continued elsewhere, or timed out)
    assert poller.due_ids() == [IDS[0], IDS[2]]


async def test_polled_tasks_are_due_again_after_the_interval(clock):
    client = FakeClient({i: running(i) for i in IDS})
    poller = make_poller(client, clock)
    poller.track(IDS)
    result = await poller.poll_once()
    assert (result.state, result.error, result.next_delay) == (PollerState.OK, None, 5.0)
    assert set(result.tasks) == set(IDS) and result.polled_ids == 5 and result.requests == 1
    assert poller.due_ids() == []
    clock.now += 4.9
    assert (await poller.poll_once()).requests == 0
    clock.now += 0.1
    assert poller.due_ids() == IDS


async def test_a_task_that_finishes_is_not_polled_again(clock):
    client = FakeClient({IDS[0]: running(IDS[0])})
    poller = make_poller(client, clock)
    poller.track([IDS[0]])
    await poller.poll_once()
    client.tasks[IDS[0]] = running(IDS[0], 100, Status.SUCCESS)
    clock.now += 5
    result = await poller.poll_once()
    assert result.tasks[IDS[0]].is_terminal
    clock.now += 3600
    assert poller.due_ids() == []
    assert (await poller.poll_once()).requests == 0
    assert len(client.calls) == 2


async def test_quiet_tasks_are_polled_less_often(clock):
    client = FakeClient({IDS[0]: running(IDS[0], 40)})
    poller = make_poller(client, clock)
    poller.track([IDS[0]])
    polls = []
    for _ in range(400):  # 2000 s of a task stuck at 40 %
        result = await poller.poll_once()
        if result.requests:
            polls.append(clock.now - START)
        clock.now += 5
    gaps = {round(b - a) for a, b in itertools.pairwise(polls)}
    assert gaps == {5, 15, 30}
    assert polls[polls.index(600) + 1] - 600 == 15  # quiet 10 min: every 3 intervals
    # A change puts it back on the plain interval.
    client.tasks[IDS[0]] = running(IDS[0], 41)
    clock.now += 30
    await poller.poll_once()
    clock.now += 5
    assert poller.due_ids() == [IDS[0]]


async def test_last_change_is_wall_clock_time_of_the_last_status_change(clock):
    client = FakeClient({IDS[0]: running(IDS[0], 10)})
    poller = make_poller(client, clock)
    poller.track([IDS[0]])
    await poller.poll_once()
    changed = clock.wall()
    for _ in range(3):
        clock.now += 5
        await poller.poll_once()
    assert poller.last_change(IDS[0]) == changed
    client.tasks[IDS[0]] = running(IDS[0], 20)
    clock.now += 5
    await poller.poll_once()
    assert poller.last_change(IDS[0]) == clock.wall()
    assert poller.last_change("nope") is None


async def test_update_known_wake_untrack(clock):
    client = FakeClient({i: running(i) for i in IDS[:2]})
    poller = make_poller(client, clock)
    poller.track(IDS[:2])
    assert poller.update_known(running(IDS[0], 0, Status.MODAL))
    assert not poller.update_known(running("1" * 16))
    assert poller.due_ids() == [IDS[1]]
    poller.wake([IDS[0]])  # the modal was submitted: look again once
    assert poller.due_ids() == IDS[:2]
    poller.untrack([IDS[1]])
    result = await poller.poll_once()
    assert client.calls == [[IDS[0]]]
    assert set(result.tasks) == {IDS[0]}


async def test_interval_is_clamped_and_a_shorter_one_applies_at_once(clock):
    client = FakeClient({IDS[0]: running(IDS[0])})
    poller = make_poller(client, clock, interval=60)
    poller.track([IDS[0]])
    await poller.poll_once()
    poller.interval = 0.01
    assert poller.interval == MIN_INTERVAL
    poller.interval = float("nan")
    assert poller.interval == MIN_INTERVAL
    poller.interval = 2
    clock.now += 2
    assert poller.due_ids() == [IDS[0]]


async def test_paused_sends_nothing_until_forced(clock):
    client = FakeClient({IDS[0]: running(IDS[0])})
    poller = make_poller(client, clock)
    poller.track([IDS[0]])
    poller.paused = True
    result = await poller.poll_once()
    assert (result.state, result.requests, client.calls) == (PollerState.PAUSED, 0, [])
    assert poller.state is PollerState.PAUSED
    forced = await poller.poll_once(force=True)
    assert forced.state is PollerState.OK and forced.requests == 1
    poller.paused = False
    assert poller.state is PollerState.OK


async def test_requests_per_minute_is_a_sliding_window(clock):
    client = FakeClient({i: running(i) for i in IDS}, batch_size=2)
    poller = make_poller(client, clock)
    poller.track(IDS)
    await poller.poll_once()  # 3 requests
    clock.now += 30
    await poller.poll_once()  # 3 more
    assert poller.requests_per_minute() == 6
    clock.now += 30.5
    assert poller.requests_per_minute() == 3
    clock.now += 60
    assert poller.requests_per_minute() == 0


async def test_unexpected_errors_become_a_state_not_a_crash(clock):
    client = FakeClient()
    client.errors.append(KeyError("boom"))
    poller = make_poller(client, clock)
    poller.track([IDS[0]])
    result = await poller.poll_once()
    assert result.state is PollerState.RETRYING
    assert "KeyError" in result.error and result.next_delay == 0.8


async def test_cancellation_propagates(clock):
    client = FakeClient()
    client.errors.append(asyncio.CancelledError())
    poller = make_poller(client, clock)
    poller.track([IDS[0]])
    with pytest.raises(asyncio.CancelledError):
        await poller.poll_once()


async def test_requests_per_cycle_are_exactly_the_batches_of_due_ids(clock):
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        ids = json.loads(request.content)["ids"]
        sent.append(len(ids))
        return httpx.Response(200, json=[task_json(i) for i in ids])

    ids = [f"1773314942{n:06d}" for n in range(250)]
    transport = httpx.MockTransport(handler)
    async with MidjourneyClient("https://x.test", KEY, batch_size=100, transport=transport) as c:
        poller = make_poller(c, clock)
        poller.track(ids)
        result = await poller.poll_once()
        assert result.requests == len(sent) == math.ceil(250 / 100)
        assert sorted(sent) == [50, 100, 100]
        clock.now += 5
        poller.untrack(ids[:200])
        result = await poller.poll_once()
    assert result.requests == 1 and result.polled_ids == 50


# --- N: network faults ------------------------------------------------------------------------


async def test_N1_unreachable_backs_off_and_sends_nothing_meanwhile(clock):
    async with real_client(f"http://127.0.0.1:{closed_port()}") as client:
        poller = make_poller(client, clock)
        poller.track(IDS)
        result = await poller.poll_once()
        assert result.state is PollerState.UNREACHABLE
        assert result.next_delay == 0.8 and result.retry_at == START + 0.8
        assert result.message == "server unreachable, retrying in 1s"
        assert result.error.startswith("server unreachable: cannot connect to 127.0.0.1:")
        assert result.tasks == {} and result.requests == 1
        clock.now += 0.5
        waiting = await poller.poll_once()
        assert waiting.requests == 0 and client.request_count == 1
        assert waiting.state is PollerState.UNREACHABLE
        assert waiting.next_delay == pytest.approx(0.3)
        assert waiting.status_line(clock.now) == "server unreachable, retrying in 1s"
        assert poller.clock() == clock.now and poller.retry_at == START + 0.8
        clock.now += 0.3
        again = await poller.poll_once()
    assert again.requests == 1 and again.next_delay == 1.6


async def test_N3_stalled_server_is_unreachable_then_backoff(server, clock):
    server.script(stall())
    async with real_client(server.url, timeout=0.3) as client:
        poller = make_poller(client, clock)
        poller.track(IDS)
        result = await poller.poll_once()
    assert result.state is PollerState.UNREACHABLE
    assert "no answer from 127.0.0.1" in result.error
    assert result.retry_at == START + 0.8


async def test_N5_reset_is_retried_once_at_once_then_backs_off(server, clock):
    server.script(reset())
    async with real_client(server.url) as client:
        poller = make_poller(client, clock)
        poller.track(IDS)
        result = await poller.poll_once()
    assert result.requests == 2 == len(server.requests)
    assert result.state is PollerState.UNREACHABLE and result.next_delay == 0.8


async def test_N5_truncated_body_then_good_retry_is_ok(server, clock):
    server.script(truncated(), task_api())
    async with real_client(server.url) as client:
        poller = make_poller(client, clock)
        poller.track(IDS)
        result = await poller.poll_once()
    assert result.state is PollerState.OK and result.error is None
    assert result.requests == 2 and set(result.tasks) == set(IDS)


async def test_N6_stale_keep_alive_retry_succeeds_and_nothing_is_shown(server, clock):
    server.script(task_api(), hang_up(), task_api())
    async with real_client(server.url) as client:
        poller = make_poller(client, clock)
        poller.track(IDS)
        first = await poller.poll_once()
        clock.now += 5
        second = await poller.poll_once()
    assert first.state is second.state is PollerState.OK
    assert second.error is None and second.message is None
    assert set(second.tasks) == set(IDS) and second.requests == 2
    assert [r.connection for r in server.requests] == [1, 1, 2]
    assert poller.backoff.failures == 0


# --- H: HTTP faults ---------------------------------------------------------------------------


async def test_H1_sustained_server_errors_slow_down_and_recovery_does_not_burst(server, clock):
    server.script(respond(503), respond(503), respond(502), task_api())
    async with real_client(server.url) as client:
        poller = make_poller(client, clock)
        poller.track(IDS)
        delays = []
        for _ in range(3):
            result = await poller.poll_once()
            assert result.state is PollerState.RETRYING and result.requests == 1
            assert result.message.startswith("server error, retrying in")
            delays.append(result.next_delay)
            clock.now = result.retry_at
        assert delays == [0.8, 1.6, 3.2]
        recovered = await poller.poll_once()
        assert recovered.state is PollerState.OK and recovered.requests == 1
        assert recovered.next_delay == 5.0 and recovered.retry_at is None
        clock.now += 5
        assert (await poller.poll_once()).requests == 1
    assert len(server.requests) == 5


@pytest.mark.parametrize(
    ("headers", "delay"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "2500"}, 2.5),
        ({}, 0.8),
        ({"Retry-After": "abc"}, 0.8),
        ({"Retry-After": "-5"}, 0.8),
        ({"Retry-After": "1e309"}, 0.8),
        ({"Retry-After": "0"}, 1.0),
    ],
)
async def test_H2_rate_limit_waits_as_told(server, clock, headers, delay):
    server.script(respond(429, {"description": "slow down"}, headers))
    async with real_client(server.url) as client:
        poller = make_poller(client, clock)
        poller.track(IDS)
        result = await poller.poll_once()
    assert result.state is PollerState.RATE_LIMITED
    assert result.next_delay == delay and result.retry_at == START + delay
    assert re.fullmatch(r"rate limited, retrying in \ds", result.message)


async def test_H2_huge_retry_after_shows_until_when(server, clock):
    server.script(respond(429, b"", {"Retry-After": "86400"}))
    async with real_client(server.url) as client:
        poller = make_poller(client, clock)
        poller.track(IDS)
        result = await poller.poll_once()
        clock.now += 200
        assert (await poller.poll_once()).requests == 0
    assert result.next_delay == 300.0
    until = (WALL + timedelta(seconds=300)).astimezone().strftime("%H:%M:%S")
    assert result.message == f"rate limited until {until}"
    assert result.status_line(START + 250) == "rate limited, retrying in 50s"


@pytest.mark.parametrize("status", [408, 409])
async def test_H3_timeout_and_conflict_retry_like_5xx(server, clock, status):
    server.script(respond(status))
    async with real_client(server.url) as client:
        poller = make_poller(client, clock)
        poller.track(IDS)
        result = await poller.poll_once()
    assert result.state is PollerState.RETRYING and result.next_delay == 0.8


@pytest.mark.parametrize("status", [401, 403])
async def test_H4_auth_failure_stops_polling_until_the_user_retries(server, clock, status):
    refused = respond(status, {"error": {"message": "invalid token"}})
    # A first 401 is tried once with the other header style: two requests, both refused.
    server.script(*[refused] * (2 if status == 401 else 1), task_api())
    async with real_client(server.url, key_env="MJ_KEY") as client:
        poller = make_poller(client, clock)
        poller.track(IDS)
        result = await poller.poll_once()
        assert result.state is PollerState.AUTH_FAILED
        assert result.error.startswith(f"key rejected (HTTP {status}): check MJ_KEY")
        assert result.retry_at is None
        for _ in range(5):
            clock.now += 3600
            quiet = await poller.poll_once()
            assert quiet.state is PollerState.AUTH_FAILED and quiet.requests == 0
        assert len(server.requests) == (2 if status == 401 else 1)
        retried = await poller.poll_once(force=True)
    assert retried.state is PollerState.OK and retried.requests == 1
    assert set(retried.tasks) == set(IDS)


async def test_H5_unknown_ids_stop_and_the_others_keep_updating(server, clock):
    known = {IDS[0], IDS[1]}
    server.script(task_api(lambda i: task_json(i) if i in known else None))
    async with real_client(server.url) as client:
        poller = make_poller(client, clock)
        poller.track(IDS[:3])
        result = await poller.poll_once()
        assert result.not_found == {IDS[2]} and set(result.tasks) == known
        clock.now += 5
        assert poller.due_ids() == IDS[:2]
        later = await poller.poll_once()
        assert later.not_found == set() and later.requests == 1
        assert server.requests[-1].json() == {"ids": IDS[:2]}
        poller.track([IDS[2]])  # tracked again: asked once more
        assert IDS[2] in poller.due_ids()


async def test_force_refresh_asks_about_everything_unfinished(clock):
    client = FakeClient({IDS[0]: running(IDS[0]), IDS[1]: None})
    poller = make_poller(client, clock)
    poller.track(IDS[:3], known={IDS[2]: running(IDS[2], 100, Status.SUCCESS)})
    await poller.poll_once()
    client.errors.append(TransientError("server unreachable: x"))
    clock.now += 5
    failed = await poller.poll_once()
    assert failed.state is PollerState.UNREACHABLE
    forced = await poller.poll_once(force=True)  # inside the backoff window: r still polls
    assert forced.state is PollerState.OK
    assert client.calls[-1] == IDS[:2]  # the not-found one too; the finished one not


# --- P: payload faults --------------------------------------------------------------------


async def test_P1_html_marks_rows_stale_and_keeps_last_good_data(server, clock):
    server.script(task_api(), html(200))
    async with real_client(server.url) as client:
        poller = make_poller(client, clock)
        poller.track(IDS)
        good = await poller.poll_once()
        clock.now += 5
        result = await poller.poll_once()
    assert set(good.tasks) == set(IDS)
    assert result.tasks == {} and result.state is PollerState.RETRYING
    assert set(result.bad) == set(IDS)
    assert all("HTML" in reason for reason in result.bad.values())
    assert result.message == "bad answer from the server, retrying in 1s"
    assert result.retry_at == START + 5 + 0.8


async def test_P3_per_task_errors_do_not_stop_the_others(clock):
    client = FakeClient({IDS[0]: running(IDS[0]), IDS[1]: BadTask("server error: busy", IDS[1])})
    poller = make_poller(client, clock)
    poller.track(IDS[:2])
    result = await poller.poll_once()
    assert result.state is PollerState.OK
    assert set(result.tasks) == {IDS[0]} and result.bad == {IDS[1]: "server error: busy"}
    clock.now += 5
    assert poller.due_ids() == IDS[:2]


async def test_P4_ten_megabyte_answers_are_per_task_errors(server, clock):
    server.script(huge(10 * 1024 * 1024))
    async with real_client(server.url) as client:
        poller = make_poller(client, clock)
        poller.track(IDS[:2])
        result = await poller.poll_once()
    assert result.state is PollerState.OK
    assert set(result.bad) == set(IDS[:2])
    assert all("too large" in reason for reason in result.bad.values())


async def test_bad_response_for_whole_poll_backs_off(clock):
    client = FakeClient()
    client.errors.append(BadResponse("the batch answer is not a list of tasks"))
    poller = make_poller(client, clock)
    poller.track(IDS[:2])
    result = await poller.poll_once()
    assert result.bad == dict.fromkeys(IDS[:2], "the batch answer is not a list of tasks")
    assert result.next_delay == 0.8


# --- C: scale, flapping, clock jumps ------------------------------------------------------


async def test_C1_thousand_ids_in_bounded_batches(server, clock):
    server.script(task_api(delay=0.01))
    ids = [f"1773314942{n:06d}" for n in range(1000)]
    async with real_client(server.url, batch_size=100, concurrency=3) as client:
        poller = make_poller(client, clock)
        poller.track(ids)
        result = await poller.poll_once()
    assert result.requests == 10 == len(server.requests)
    assert len(result.tasks) == 1000
    assert server.max_active <= 3


async def test_C2_flapping_server_does_not_thrash(clock):
    client = FakeClient({IDS[0]: running(IDS[0])})
    poller = make_poller(client, clock, interval=1)
    poller.track([IDS[0]])
    delays = []
    for _ in range(6):
        client.errors.append(TransientError("server error (HTTP 502)", status=502))
        failed = await poller.poll_once()
        delays.append(failed.next_delay)
        clock.now = failed.retry_at
        ok = await poller.poll_once()  # one good answer in between
        assert ok.state is PollerState.OK
        clock.now += 1
    assert delays == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6]
    for _ in range(121):  # two minutes healthy
        await poller.poll_once()
        clock.now += 1
    client.errors.append(TransientError("server error (HTTP 502)", status=502))
    assert (await poller.poll_once()).next_delay == 0.8


async def test_C3_clock_jump_after_suspend_polls_once_without_burst(clock):
    ids = [f"1773314942{n:06d}" for n in range(250)]
    client = FakeClient({i: running(i) for i in ids})
    poller = make_poller(client, clock)
    poller.track(ids)
    await poller.poll_once()
    client.errors.append(TransientError("server unreachable: x"))
    clock.now += 5
    await poller.poll_once()
    before = client.request_count
    clock.now += 10 * 3600  # the laptop slept
    result = await poller.poll_once()
    assert result.requests == 3 == client.request_count - before
    assert result.state is PollerState.OK and result.next_delay == 5.0
    again = await poller.poll_once()  # straight after: nothing to catch up
    assert again.requests == 0


async def test_results_are_plain_data(clock):
    poller = make_poller(FakeClient(), clock)
    result = await poller.poll_once()
    assert isinstance(result, PollResult)
    assert (result.state, result.requests, result.polled_ids) == (PollerState.OK, 0, 0)
    assert result.bad == {} and result.not_found == set()


async def test_rate_limited_and_auth_errors_from_a_fake_client(clock):
    client = FakeClient({IDS[0]: running(IDS[0])})
    client.errors += [RateLimited("rate limited by x", retry_after=None), AuthError("key rejected")]
    poller = make_poller(client, clock)
    poller.track([IDS[0]])
    limited = await poller.poll_once()
    assert limited.state is PollerState.RATE_LIMITED and limited.next_delay == 0.8
    clock.now += 1
    denied = await poller.poll_once()
    assert denied.state is PollerState.AUTH_FAILED and denied.message == "key rejected"
    assert poller.state is PollerState.AUTH_FAILED and poller.error == "key rejected"


# --- against the simulator over real loopback HTTP ------------------------------------------


async def test_requests_per_cycle_counted_by_the_simulator(sim_factory, clock):
    sim = sim_factory(tasks=250)
    async with real_client(sim.url, batch_size=100) as client:
        poller = make_poller(client, clock)
        poller.track(sim.seeded_ids)
        first = await poller.poll_once()
        assert first.state is PollerState.OK
        assert sim.stats()["total"] == first.requests == math.ceil(250 / 100)
        unfinished = [i for i, t in first.tasks.items() if t.needs_polling]
        sim.reset_stats()
        clock.now += 5
        second = await poller.poll_once()
    assert second.polled_ids == len(unfinished) < 250
    assert sim.stats()["total"] == second.requests == math.ceil(len(unfinished) / 100)
    assert sim.stats()["ids_requested"] == len(unfinished)


async def test_sim_faults_never_break_the_poller(sim_factory, clock):
    sim = sim_factory(
        tasks=40, faults="429=0.05,503=0.05,html=0.05,garbage=0.05,reset=0.05,empty=0.05"
    )
    async with real_client(sim.url, batch_size=10) as client:
        poller = make_poller(client, clock)
        poller.track(sim.seeded_ids)
        states = set()
        for _ in range(25):
            result = await poller.poll_once(force=True)
            states.add(result.state)
            assert result.state is not PollerState.AUTH_FAILED
            assert (result.error is None) == (result.state is PollerState.OK)
            clock.now += 40
    assert PollerState.OK in states and len(states) >= 2
