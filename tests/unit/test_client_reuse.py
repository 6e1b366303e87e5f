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


def test_an_answer_that_only_moved_gives_what_a_fresh_parse_gives(monkeypatch):
    """Progress (and the preview URL) moved, nothing else: the remembered task is updated in
    place of a full parse, and must equal parse_task of the new answer, field for field. Any
    other change (status, a button, the prompt) takes the full parse. Answers written from the
    API notes, not the simulator."""
    base = {
        "id": "1773314942177684",
        "action": "IMAGINE",
        "status": "IN_PROGRESS",
        "progress": "12%",
        "prompt": "a lighthouse in fog --ar 3:2",
        "submitTime": 1773314942177,
        "startTime": 1773314944930,
        "finishTime": 0,
        "imageUrl": "https://api.cometapi.com/mj/image/1773314942177684?rand=1",
        "buttons": [],
        "properties": {"finalPrompt": "a lighthouse in fog --ar 3:2"},
        "failReason": "",
    }
    later = [
        {"progress": "13%"},
        {
            "progress": "40%",
            "imageUrl": "https://api.cometapi.com/mj/image/1773314942177684?rand=9",
        },
        {"progress": "41%", "imageUrl": "https://cdn.example.com/preview-41.webp"},
        {"progress": "55%", "status": "FAILURE", "failReason": "banned prompt"},
        {"progress": "60%", "prompt": "a lighthouse in fog, changed"},
        {"progress": "70%", "buttons": [{"customId": "MJ::JOB::upsample::1::x", "label": "U1"}]},
        {"progress": 80},
        {"progress": "not a number"},
    ]
    import mjdash.net.client as client_module

    full_parses: list[str] = []

    def counted(obj, expected_id=None):
        full_parses.append(str(obj.get("progress")))
        return parse_task(obj, expected_id)

    monkeypatch.setattr(client_module, "parse_task", counted)
    client = MidjourneyClient("http://127.0.0.1:9", Secret("k"))
    task_id = base["id"]
    first = client._parse(dict(base), task_id)
    assert first == parse_task(dict(base), task_id)
    for change in later:
        answer = {**base, **change}
        got = client._parse(dict(answer), task_id)
        assert got == parse_task(dict(answer), task_id), change
        client._parse(dict(base), task_id)  # back to the base answer for the next step
    # Only answers where more than progress and the preview URL moved were parsed whole (and
    # the base answer after each of them: it differs from them in more than progress too).
    assert full_parses == ["12%", "55%", "12%", "60%", "12%", "70%", "12%"]
