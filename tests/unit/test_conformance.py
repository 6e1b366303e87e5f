"""The simulator's fetch answers against CometAPI's published response schema.

jsonschema is not installed, so a tiny validator below covers the shapes this schema uses
(object/required/properties, array/items, string, integer).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mjdash.model.task import Status, Task, parse_task
from mjdash.sim.engine import ManualClock

# Transcribed by hand from the OpenAPI YAML of CometAPI's fetch page (docs/api.md):
# paths./mj/task/{id}/fetch.get.responses.200.content.application/json.schema
# (descriptions and the example left out).
FETCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "status", "progress", "imageUrl", "buttons"],
    "properties": {
        "id": {"type": "string"},
        "action": {"type": "string"},
        "customId": {"type": "string"},
        "botType": {"type": "string"},
        "prompt": {"type": "string"},
        "promptEn": {"type": "string"},
        "description": {"type": "string"},
        "state": {"type": "string"},
        "submitTime": {"type": "integer"},
        "startTime": {"type": "integer"},
        "finishTime": {"type": "integer"},
        "imageUrl": {"type": "string"},
        "videoUrl": {"type": "string"},
        "status": {"type": "string"},
        "progress": {"type": "string"},
        "failReason": {"type": "string"},
        "buttons": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "customId": {"type": "string"},
                    "emoji": {"type": "string"},
                    "label": {"type": "string"},
                    "type": {"type": "integer"},
                    "style": {"type": "integer"},
                },
            },
        },
        "maskBase64": {"type": "string"},
        "properties": {
            "type": "object",
            "properties": {
                "finalPrompt": {"type": "string"},
                "finalZhPrompt": {"type": "string"},
            },
        },
    },
}
# The schema's own example, from the same file.
SCHEMA_EXAMPLE = {
    "id": "1773314942177684",
    "status": "SUCCESS",
    "progress": "100%",
    "imageUrl": "https://api.cometapi.com/mj/image/1773314942177684",
    "videoUrl": "",
    "buttons": [
        {
            "customId": "MJ::JOB::upsample::1::example",
            "emoji": "",
            "label": "U1",
            "type": 2,
            "style": 1,
        }
    ],
}
# Where the real service departs from its schema (docs/api.md, marked [code]): `buttons` is
# null until the task finishes and `properties` is null on FAILURE and MODAL. Only these may be
# null.
NULL_PER_API_NOTES = {"$.buttons", "$.properties"}
EVERY_KEY = set(FETCH_SCHEMA["properties"])
# docs/api.md's table, row 'Extra fields' and 'VIDEO': new-api adds these where set.
NEWAPI_EXTRAS = {"imageUrls", "videoUrls"}

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
}


def schema_errors(
    value: Any, schema: dict[str, Any], path: str = "$", nullable: frozenset[str] = frozenset()
) -> list[str]:
    """Every way `value` breaks `schema`; [] when it conforms."""
    if value is None and path in nullable:
        return []
    kind = schema.get("type")
    if kind and not _TYPES[kind](value):
        return [f"{path}: expected {kind}, got {type(value).__name__}"]
    errors = []
    if kind == "object":
        errors += [
            f"{path}.{key}: required" for key in schema.get("required", []) if key not in value
        ]
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                errors += schema_errors(value[key], sub, f"{path}.{key}", nullable)
    if kind == "array" and "items" in schema:
        for index, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{path}[{index}]", nullable)
    return errors


def test_the_validator_accepts_the_schema_example_and_catches_mistakes():
    assert schema_errors(SCHEMA_EXAMPLE, FETCH_SCHEMA) == []
    broken = {**SCHEMA_EXAMPLE, "progress": 100, "buttons": [{"type": "2"}]}
    del broken["imageUrl"]
    assert sorted(schema_errors(broken, FETCH_SCHEMA)) == [
        "$.buttons[0].type: expected integer, got str",
        "$.imageUrl: required",
        "$.progress: expected string, got int",
    ]
    assert schema_errors({**SCHEMA_EXAMPLE, "buttons": None}, FETCH_SCHEMA) == [
        "$.buttons: expected array, got NoneType"
    ]
    assert schema_errors({**SCHEMA_EXAMPLE, "submitTime": True}, FETCH_SCHEMA) != []


@pytest.fixture
def every_state(sim_factory):
    """A simulator at speed 1 on a still clock, holding tasks in every state."""
    clock = ManualClock()
    server = sim_factory(clock=clock, speed=1.0, demo=True, tasks=300)
    engine = server.engine
    engine.imagine("a fox --fail")
    clock.advance(5)  # the failure lands; the demo batch keeps running
    engine.imagine("a fox just submitted")  # status ""
    ids = server.engine.ids()
    return server, ids


def fetch_all(server, ids: list[str]) -> list[dict]:
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer k"}) as client:
        return [client.get(f"/mj/task/{task_id}/fetch").json() for task_id in ids]


def test_fetch_answers_in_every_state_conform_to_the_schema(every_state):
    server, ids = every_state
    answers = fetch_all(server, ids)
    statuses = {answer["status"] for answer in answers}
    assert statuses >= {"", "NOT_START", "SUBMITTED", "IN_PROGRESS", "SUCCESS", "FAILURE", "MODAL"}
    actions = {answer["action"] for answer in answers}
    assert actions >= {"IMAGINE", "UPSCALE", "VARIATION", "DESCRIBE", "CUSTOM_ZOOM"}
    for answer in answers:
        errors = schema_errors(answer, FETCH_SCHEMA, nullable=frozenset(NULL_PER_API_NOTES))
        assert errors == [], (answer["status"], errors)
        # No omitempty; nothing extra but what docs/api.md's table lists.
        assert EVERY_KEY <= set(answer) <= EVERY_KEY | NEWAPI_EXTRAS
        if answer["status"] == "SUCCESS":
            # A finished task meets the schema with no exceptions at all.
            assert schema_errors(answer, FETCH_SCHEMA) == []
        if answer["buttons"] is None:
            assert answer["status"] in ("", "NOT_START", "SUBMITTED", "IN_PROGRESS")
        if answer["properties"] is None:
            assert answer["status"] in ("FAILURE", "MODAL")


def test_fetch_answers_parse_into_tasks(every_state):
    server, ids = every_state
    for answer in fetch_all(server, ids):
        task = parse_task(answer, expected_id=answer["id"])
        assert isinstance(task, Task), task
        assert task.id == answer["id"]
        assert task.status_raw == answer["status"]
        assert task.status is not Status.UNKNOWN
        assert task.progress == (int(answer["progress"][:-1]) if answer["progress"] else None)
        assert len(task.buttons) == len(answer["buttons"] or [])
        assert task.submit_time is not None
        assert (task.start_time is None) == (answer["startTime"] == 0)
        assert (task.finish_time is None) == (answer["finishTime"] == 0)
        if task.status is Status.SUCCESS:
            assert task.is_terminal and task.image_url and task.finish_time
            assert all(b.kind != "unknown" for b in task.buttons)
        if task.status is Status.MODAL:
            assert not task.needs_polling and task.buttons == ()


def test_batch_answers_conform_too(every_state):
    server, ids = every_state
    with httpx.Client(base_url=server.url, headers={"mj-api-secret": "k"}) as client:
        answer = client.post("/mj/task/list-by-condition", json={"ids": ids[:100]}).json()
    # The demo's continued Vary (Region) has two rows (docs/api.md: new-api after /mj/submit/modal).
    assert isinstance(answer, list) and len({task["id"] for task in answer}) == 100
    nullable = frozenset(NULL_PER_API_NOTES)
    assert [
        e for task in answer for e in schema_errors(task, FETCH_SCHEMA, nullable=nullable)
    ] == []
    assert all(isinstance(parse_task(task), Task) for task in answer)


def test_hostile_answers_still_match_the_schema_and_parse(sim_factory):
    server = sim_factory(hostile=True)
    nullable = frozenset(NULL_PER_API_NOTES)
    for answer in fetch_all(server, server.seeded_ids):
        assert schema_errors(answer, FETCH_SCHEMA, nullable=nullable) == []
        task = parse_task(answer)
        assert isinstance(task, Task)
        assert "\x1b" not in task.prompt + task.fail_reason + task.action + task.status_text
        assert len(task.prompt) <= 8000
