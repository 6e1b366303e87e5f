"""Batch moves over real HTTP against the simulator (mjdash.net.batch_press): 20 presses paced
as the simulator recorded them, refusals reported and passed over, cancel, abort, retry.

The simulator runs on a manual clock; the batch's sleeps move that clock, so the submit times
the simulator records show the pacing exactly, with no wall-clock timing in the test.
"""

from __future__ import annotations

import asyncio
import itertools
import socket

import pytest

from mjdash.model.moves import plan_press, plan_retry
from mjdash.model.secret import Secret
from mjdash.model.task import Task
from mjdash.net.batch_press import (
    BatchAborted,
    Job,
    JobResult,
    press_jobs,
    record_result,
    retry_jobs,
    run_jobs,
)
from mjdash.net.client import MidjourneyClient
from mjdash.sim.engine import ManualClock
from mjdash.sim.server import SimServer
from mjdash.store.watchlist import Watchlist

KEY = "sk-batch-test-4242"


class SimTime:
    """The batch's clock and sleep, moving the simulator's manual clock."""

    def __init__(self, clock: ManualClock) -> None:
        self.manual = clock
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.manual()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.manual.advance(seconds)


@pytest.fixture
def manual_sim():
    clock = ManualClock()
    with SimServer(clock=clock, speed=100.0, fail_rate=0.0) as server:
        yield server, clock


def finished_grids(server: SimServer, clock: ManualClock, count: int, prompt="grid") -> list[str]:
    ids = [server.engine.imagine(f"{prompt} {n} --ar 3:2")["result"] for n in range(count)]
    clock.advance(600)  # at speed 100 every grid is long finished
    assert all(server.engine.status(i) == "SUCCESS" for i in ids)
    return ids


def client_for(server: SimServer, key: str = KEY) -> MidjourneyClient:
    return MidjourneyClient(server.url, Secret(key), timeout=5.0)


async def fetched(server: SimServer, ids: list[str]) -> dict[str, Task | None]:
    async with client_for(server) as client:
        found = await client.fetch_many(ids)
    return {i: t if isinstance(t, Task) else None for i, t in found.items()}


def submit_ms(server: SimServer, task_id: str) -> int:
    return server.engine.task_json(task_id)["submitTime"]


async def test_u1_on_20_grids_makes_20_upscales_under_their_parents_paced(manual_sim, tmp_path):
    server, clock = manual_sim
    grids = finished_grids(server, clock, 20)
    watchlist = Watchlist(tmp_path / "w.toml")
    watchlist.add(grids)
    plan = plan_press(grids, await fetched(server, grids), ["U1"])
    assert plan.count == 20 and plan.lacking == ()
    seen: list[JobResult] = []

    def report(result: JobResult) -> None:
        seen.append(result)
        record_result(watchlist, result)

    time = SimTime(clock)
    async with client_for(server) as client:
        run = await run_jobs(
            client, press_jobs(plan.presses), pace=1.5, report=report, sleep=time.sleep,
            clock=time.clock,
        )  # fmt: skip
    assert run.results == seen and run.refused == 0 and not run.cancelled
    children = [r.task_id for r in run.results]
    assert len(set(children)) == 20
    for grid, child in zip(grids, children, strict=True):
        answer = server.engine.task_json(child)
        assert answer["action"] == "UPSCALE"
        assert answer["customId"].startswith("MJ::JOB::upsample::1::")
        assert server.engine.parent_of(child) == grid
        assert watchlist.get(child).parent == grid
        assert watchlist.get(grid).used == [answer["customId"]]
    gaps = [submit_ms(server, b) - submit_ms(server, a) for a, b in itertools.pairwise(children)]
    assert gaps == [1500] * 19
    watchlist.save()
    again = Watchlist.load(tmp_path / "w.toml")
    assert [again.get(c).parent for c in children] == grids


async def test_refusals_are_reported_with_their_code_and_the_rest_go_on(manual_sim):
    server, clock = manual_sim
    grids = finished_grids(server, clock, 8)
    plan = plan_press(grids, await fetched(server, grids), ["U2"])
    # The simulator refuses while force_code is set: switched between jobs by the report.
    switch = {2: 23, 4: 24, 5: None}
    seen: list[JobResult] = []

    def report(result: JobResult) -> None:
        seen.append(result)
        if len(seen) in switch:
            server.engine.force_code = switch[len(seen)]

    time = SimTime(clock)
    async with client_for(server) as client:
        run = await run_jobs(
            client, press_jobs(plan.presses), pace=1.0, report=report, sleep=time.sleep,
            clock=time.clock,
        )  # fmt: skip
    assert [r.code for r in run.results] == [1, 1, 23, 23, 24, 1, 1, 1]
    assert run.refused == 3 and len(run.results) == 8
    assert run.results[2].error == "23 queue full, try again later"
    assert run.results[4].error.startswith("24 banned")
    assert run.results[2].line() == f"error (23 queue full, try again later)  {grids[2]}  U2"
    assert run.results[5].line() == f"{run.results[5].task_id}  {grids[5]}  U2"
    made = [r.task_id for r in run.results if r.ok]
    assert [server.engine.parent_of(t) for t in made] == [grids[i] for i in (0, 1, 5, 6, 7)]


async def test_cancel_mid_batch_stops_what_is_not_sent(manual_sim):
    server, clock = manual_sim
    grids = finished_grids(server, clock, 10)
    plan = plan_press(grids, await fetched(server, grids), ["U3"])
    cancel = asyncio.Event()
    before = len(server.engine)

    def report(result: JobResult) -> None:
        if result.job.parent == grids[2]:
            cancel.set()  # Esc after the third answer

    time = SimTime(clock)
    async with client_for(server) as client:
        run = await run_jobs(
            client, press_jobs(plan.presses), pace=1.0, report=report, cancel=cancel,
            sleep=time.sleep, clock=time.clock,
        )  # fmt: skip
    assert [r.job.parent for r in run.results] == grids[:3]
    assert [job.parent for job in run.unsent] == grids[3:]
    assert run.cancelled
    assert len(server.engine) == before + 3  # nothing else reached the server


async def test_cancel_wakes_a_pacing_wait_at_once(manual_sim):
    server, clock = manual_sim
    grids = finished_grids(server, clock, 3)
    jobs = press_jobs(plan_press(grids, await fetched(server, grids), ["U1"]).presses)
    cancel = asyncio.Event()
    waiting = asyncio.Event()

    async def endless_sleep(seconds: float) -> None:
        waiting.set()
        await asyncio.Event().wait()  # a pace that never ends: only the cancel can end it

    async with client_for(server) as client:
        runner = asyncio.ensure_future(
            run_jobs(client, jobs, pace=3600, cancel=cancel, sleep=endless_sleep)
        )
        await waiting.wait()
        cancel.set()
        run = await asyncio.wait_for(runner, timeout=30)
    assert len(run.results) == 1 and len(run.unsent) == 2


async def test_a_rejected_key_aborts_the_rest(sim_factory):
    server = sim_factory(key="the-right-key")
    jobs = [
        Job(f"17123456789012{n:02d}", "U1", custom_id="MJ::JOB::upsample::1::x") for n in range(3)
    ]
    async with client_for(server, key="a-wrong-key") as client:
        with pytest.raises(BatchAborted) as caught:
            await run_jobs(client, jobs, pace=0)
    assert caught.value.kind == "key"
    assert caught.value.run.results == [] and caught.value.run.unsent == jobs
    assert "a-wrong-key" not in caught.value.message


async def test_an_unreachable_server_aborts_with_nothing_sent():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    jobs = [
        Job("1712345678901200", "retry", prompt="a fox"),
        Job("1712345678901201", "retry", prompt="a cat"),
    ]
    async with MidjourneyClient(f"http://127.0.0.1:{port}", Secret(KEY), timeout=2.0) as client:
        with pytest.raises(BatchAborted) as caught:
            await run_jobs(client, jobs, pace=0)
    assert caught.value.kind == "unreachable"
    assert caught.value.run.unsent == jobs


async def test_retry_of_a_failed_task_is_a_new_imagine_with_the_same_prompt_linked(
    manual_sim, tmp_path
):
    server, clock = manual_sim
    prompt = "a paper fox at dawn --ar 3:2 --fail"
    old = server.engine.imagine(prompt)["result"]
    clock.advance(600)
    assert server.engine.status(old) == "FAILURE"
    watchlist = Watchlist(tmp_path / "w.toml")
    watchlist.add([old])
    plan = plan_retry([old], await fetched(server, [old]))
    assert [r.prompt for r in plan.retries] == [prompt]
    async with client_for(server) as client:
        run = await run_jobs(client, retry_jobs(plan.retries), pace=0)
    (result,) = run.results
    assert result.ok and result.line() == f"{result.task_id}  {old}  retry"
    assert record_result(watchlist, result)
    new = server.engine.task_json(result.task_id)
    assert (new["action"], new["prompt"]) == ("IMAGINE", prompt)
    entry = watchlist.get(result.task_id)
    assert (entry.parent, entry.retry_of) == (old, old)
    assert watchlist.get(old).dismissed  # out of triage
    assert watchlist.children(old) == (result.task_id,)  # shown under it in the lineage
    watchlist.save()
    text = (tmp_path / "w.toml").read_text()
    assert f'retry_of = "{old}"' in text
    assert Watchlist.load(tmp_path / "w.toml").get(result.task_id).retry_of == old


async def test_a_refused_retry_records_nothing(manual_sim, tmp_path):
    server, clock = manual_sim
    old = server.engine.imagine("a heron --fail")["result"]
    clock.advance(600)
    watchlist = Watchlist(tmp_path / "w.toml")
    watchlist.add([old])
    server.engine.force_code = 24
    plan = plan_retry([old], await fetched(server, [old]))
    async with client_for(server) as client:
        run = await run_jobs(client, retry_jobs(plan.retries), pace=0)
    assert run.refused == 1 and run.results[0].code == 24
    assert not record_result(watchlist, run.results[0])
    assert watchlist.ids == [old] and not watchlist.get(old).dismissed


async def test_a_rate_limited_job_is_retried_then_reported_and_the_rest_go_on(manual_sim):
    server, clock = manual_sim
    grids = finished_grids(server, clock, 2)
    jobs = press_jobs(plan_press(grids, await fetched(server, grids), ["U1"]).presses)
    server.set_faults("429=1")  # every request: 429 (nothing taken)
    time = SimTime(clock)
    async with client_for(server) as client:
        run = await run_jobs(client, jobs, pace=0, sleep=time.sleep, clock=time.clock)
    assert [r.error.startswith("rate limited") for r in run.results] == [True, True]
    assert len(time.sleeps) == 4  # two waits per job, then it is that job's result


async def test_a_cancel_during_a_rate_limit_wait_leaves_that_job_unsent(manual_sim):
    server, clock = manual_sim
    grids = finished_grids(server, clock, 2)
    jobs = press_jobs(plan_press(grids, await fetched(server, grids), ["U1"]).presses)
    server.set_faults("429=1")
    cancel = asyncio.Event()
    sent: list[int] = []

    async def sleep_then_cancel(seconds: float) -> None:
        cancel.set()  # Esc while the first job waits out its 429

    async with client_for(server) as client:
        run = await run_jobs(
            client, jobs, pace=0, cancel=cancel, sleep=sleep_then_cancel,
            sending=lambda job, index: sent.append(index),
        )  # fmt: skip
    assert run.results == [] and run.unsent == jobs and sent == [0]
