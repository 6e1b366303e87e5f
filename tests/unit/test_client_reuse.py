"""The client does not parse an unchanged task twice (CPU per poll cycle; tests/perf/bench.py)."""

from __future__ import annotations

import dataclasses

from mjdash.model.secret import Secret
from mjdash.model.task import Status, parse_task
from mjdash.net.client import MidjourneyClient
from mjdash.sim.engine import ManualClock


async def test_unchanged_answers_give_back_the_same_task(sim_factory):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0)
    task_id = sim.engine.imagine("a lighthouse in fog")["result"]
    clock.advance(20)  # past the queue: rendering, with a preview URL
    async with MidjourneyClient(sim.url, Secret("k"), batch_size=100) as client:
        first = (await client.fetch_many([task_id]))[task_id]
        assert first.status is Status.IN_PROGRESS and "rand=" in first.image_url
        clock.advance(0.001)  # only new-api's preview cache-buster moves
        again = (await client.fetch_many([task_id]))[task_id]
        assert again is first
        # A fresh parse differs only in the preview URL's rand= (the first URL still works).
        fresh = parse_task(sim.engine.task_json(task_id, owner="k"), task_id)
        assert fresh.image_url != first.image_url
        assert dataclasses.replace(fresh, image_url=first.image_url) == again
        clock.advance(600)  # finished: a real change is parsed
        done = (await client.fetch_many([task_id]))[task_id]
        assert done is not first and done.status is Status.SUCCESS
        assert "rand=" not in done.image_url
        assert task_id not in client._last_answers  # finished tasks are not remembered


async def test_a_changed_field_is_never_hidden(sim_factory):
    clock = ManualClock()
    sim = sim_factory(clock=clock, speed=1.0)
    task_id = sim.engine.imagine("koi pond")["result"]
    clock.advance(20)
    async with MidjourneyClient(sim.url, Secret("k"), batch_size=100) as client:
        seen = [(await client.fetch_many([task_id]))[task_id]]
        for _ in range(40):
            clock.advance(1.5)
            task = (await client.fetch_many([task_id]))[task_id]
            fresh = parse_task(sim.engine.task_json(task_id, owner="k"), task_id)
            # Everything but the preview's rand= equals a fresh parse of the same answer.
            assert task.status == fresh.status and task.progress == fresh.progress
            assert task.image_url.split("?")[0] == fresh.image_url.split("?")[0]
            seen.append(task)
    progress = [t.progress for t in seen]
    assert len(set(progress)) > 2  # the progress did move, and each move was seen
