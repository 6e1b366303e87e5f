"""Recorded answers per server family (tests/fixtures/<flavor>/, written from docs/api.md's table):
the parser reads them right, the client handles the exchanges right, and the simulator answers
in the same shapes, so it cannot drift from the notes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from mjdash.model import kinds
from mjdash.model.secret import Secret
from mjdash.model.task import Task, parse_task
from mjdash.net.client import AuthError, MidjourneyClient, MjError, TaskNotFound
from mjdash.sim.engine import Engine, ManualClock
from mjdash.sim.server import SimServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FLAVORS = ("newapi", "trueai", "novicezk")
KEY = "test-key"
UNKNOWN = "1773314942177999"


def _load() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for flavor in FLAVORS:
        for path in sorted((FIXTURES / flavor).glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            assert data.get("comment"), f"{path} names no table row"
            found.append((flavor, path.stem, data))
    return found


ALL = _load()
TASKS = [pytest.param(f, d, id=f"{f}/{n}") for f, n, d in ALL if "task" in d]
ROWS = [pytest.param(f, d, id=f"{f}/{n}") for f, n, d in ALL if "rows" in d]
EXCHANGES = [pytest.param(f, d, id=f"{f}/{n}") for f, n, d in ALL if "request" in d]
SIM_TASKS = [pytest.param(f, d, id=f"{f}/{n}") for f, n, d in ALL if "sim" in d]


def test_every_flavor_has_recorded_answers() -> None:
    for flavor in FLAVORS:
        names = {n for f, n, _ in ALL if f == flavor}
        assert "unknown_id" in names and len(names) >= 6, flavor


# --- the parser -------------------------------------------------------------------------------


def check_expect(task: Task, expect: dict[str, Any], flavor: str) -> None:
    checks = {
        "status": lambda: task.status.value,
        "progress": lambda: task.progress,
        "action": lambda: task.action,
        "prompt": lambda: task.prompt,
        "suggestions": lambda: len(kinds.describe_suggestions(task)),
        "first_suggestion": lambda: kinds.describe_suggestions(task)[0],
        "shortened": lambda: len(kinds.shorten_results(task)),
        "first_shortened": lambda: kinds.shorten_results(task)[0],
        "video_links": lambda: len(task.video_links),
        "image_urls": lambda: len(task.image_urls),
        "shown_prompt": lambda: task.shown_prompt,
        "grid": lambda: kinds.makes_grid(task),
        "finish_time": lambda: task.finish_time,
        "start_time": lambda: task.start_time,
        "clock_stops_when_seen": lambda: task.clock_stops_when_seen,
        "modal_kind": lambda: kinds.modal_kind(task),
        "parent_id": lambda: task.parent_id,
        "buttons": lambda: len(task.buttons),
        "needs_polling": lambda: task.needs_polling,
        "refused_buttons": lambda: sum(kinds.refusal(b, flavor) is not None for b in task.buttons),
    }
    for name, wanted in expect.items():
        assert checks[name]() == wanted, name


@pytest.mark.parametrize(("flavor", "fixture"), TASKS)
def test_the_parser_reads_each_recorded_task(flavor: str, fixture: dict) -> None:
    task = parse_task(fixture["task"])
    assert isinstance(task, Task)
    check_expect(task, fixture["expect"], flavor)
    # The cache keeps what the parser read (to_api_dict reads back the same task).
    assert parse_task(task.to_api_dict()) == task


@pytest.mark.parametrize(("flavor", "fixture"), ROWS)
def test_of_two_rows_for_one_id_the_one_that_moved_is_kept(flavor: str, fixture: dict) -> None:
    rows = [parse_task(row) for row in fixture["rows"]]
    assert all(isinstance(r, Task) for r in rows)
    for order in (rows, rows[::-1]):  # never the first blindly
        check_expect(kinds.moved_row(order), fixture["expect"], flavor)


# --- the client against the recorded exchanges --------------------------------------------------

BASE = "http://127.0.0.1:9"
TASK_ID = "1773316000111001"
UPSCALE_ID = "1773316000222002"
CUSTOM_ZOOM = "MJ::CustomZoom::6f1c2a9e-1d2b-4c3d-9e8f-0a1b2c3d4e5f"
UNKNOWN_ANSWER = {f: d for f, n, d in ALL if n == "unknown_id"}  # each family's not-found


def _fill(value: Any, ids: dict[str, str]) -> Any:
    text = json.dumps(value, ensure_ascii=False)
    for name, task_id in ids.items():
        text = text.replace("{" + name + "}", task_id)
    return json.loads(text)


def _recorded(fixture: dict, ids: dict[str, str]) -> httpx.Response:
    if "body" in fixture:
        content = json.dumps(_fill(fixture["body"], ids), ensure_ascii=False).encode()
        return httpx.Response(fixture["http_status"], content=content)
    return httpx.Response(fixture["http_status"], content=fixture.get("text", "").encode())


def _task_answer(task_id: str) -> httpx.Response:
    body = {"id": task_id, "action": "IMAGINE", "status": "SUCCESS", "progress": "100%"}
    return httpx.Response(200, json=body)


@pytest.mark.parametrize(("flavor", "fixture"), EXCHANGES)
async def test_the_client_handles_each_recorded_exchange(flavor: str, fixture: dict) -> None:
    ids = {"unknown": UNKNOWN, "describe": TASK_ID, "upscale": UPSCALE_ID}
    ids["custom_zoom"] = CUSTOM_ZOOM
    request = _fill(fixture["request"], ids)
    expect = _fill(fixture["expect"], ids)
    styles_seen: list[str] = []

    def handler(sent: httpx.Request) -> httpx.Response:
        style = "mj-api-secret" if "mj-api-secret" in sent.headers else "bearer"
        styles_seen.append(style)
        if sent.url.path.endswith("/list-by-condition") and "list-by" not in request["path"]:
            return httpx.Response(200, json=[])  # batch answers leave unknown ids out
        if expect.get("auth_retry_works") and style == "mj-api-secret":
            return _task_answer(TASK_ID)
        if "batch" in expect and sent.url.path.endswith("/fetch"):  # the left-out id, confirmed
            return _recorded(UNKNOWN_ANSWER[flavor], ids)
        return _recorded(fixture, ids)

    auth = "bearer" if flavor == "newapi" or expect.get("auth_retry_works") else "mj-api-secret"
    auth = expect.get("fetched_with", auth)
    transport = httpx.MockTransport(handler)
    async with MidjourneyClient(BASE, Secret(KEY), auth=auth, transport=transport) as client:
        path, body = request["path"], request.get("json") or {}
        if expect.get("not_found"):
            with pytest.raises(TaskNotFound):
                await client.fetch(UNKNOWN)
            assert (await client.fetch_many([UNKNOWN]))[UNKNOWN] is None
        elif expect.get("auth_error"):
            with pytest.raises(AuthError, match=r'auth setting \(now "bearer"'):
                await client.fetch(TASK_ID)
        elif "fetched_with" in expect:
            task = await client.fetch(TASK_ID)
            assert task.id == TASK_ID and client.auth_switched is None
            assert styles_seen == [expect["fetched_with"]]
        elif "batch" in expect:
            tasks = await client.fetch_many(body["ids"])
            assert list(tasks) == body["ids"]  # in the order asked, matched by id
            for task_id in expect["batch"]["found"]:
                assert isinstance(tasks[task_id], Task) and tasks[task_id].id == task_id
            for task_id in expect["batch"]["missing"]:
                assert tasks[task_id] is None
        elif expect.get("auth_retry_works"):
            task = await client.fetch(TASK_ID)
            assert task.id == TASK_ID and client.auth_switched == "mj-api-secret"
            assert styles_seen == ["bearer", "mj-api-secret"]
            assert 'auth = "mj-api-secret"' in (client.auth_note() or "")
        elif expect.get("batch_falls_back"):
            # The route is missing: one fetch per id from then on (here also a 404: not found).
            assert await client.fetch_many([TASK_ID]) == {TASK_ID: None}
            assert client.batch_route is False
        elif expect.get("refused_submit"):
            with pytest.raises(MjError, match="HTTP 404"):
                await client.submit_action(body["taskId"], body["customId"])
        elif expect.get("refused_modal"):
            with pytest.raises(MjError, match="HTTP 404"):
                await client.submit_modal(body["taskId"], body["prompt"])
        elif path.endswith("/imagine"):
            result = await client.submit_imagine(body["prompt"])
            assert (result.code, result.ok) == (expect["code"], expect["ok"])
        else:
            result = await client.submit_action(body["taskId"], body["customId"])
            assert result.bookmarked is expect.get("bookmarked", False)
            assert result.refused_button is expect.get("refused_button", False)
            if "code" in expect:
                assert result.code == expect["code"]
            if "ok" in expect:
                assert result.ok is expect["ok"]
            if "opened_modal" in expect:
                assert result.opened_modal is expect["opened_modal"]
            if result.refused_button:
                assert client.refused_prefixes == {"MJ::Job::PicReader::"}


# --- the simulator answers in the recorded shapes -----------------------------------------------


def _json_type(value: Any) -> str:
    return type(value).__name__ if value is not None else "null"


def assert_same_shape(sim: dict[str, Any], recorded: dict[str, Any], same: list[str]) -> None:
    assert set(sim) == set(recorded), set(sim) ^ set(recorded)
    for key, value in recorded.items():
        assert _json_type(sim[key]) == _json_type(value), key
    for key in same:
        assert sim[key] == recorded[key], key


def _demo(flavor: str, advance: float) -> tuple[Engine, list[dict[str, Any]]]:
    clock = ManualClock()
    engine = Engine(clock=clock, speed=1.0, fail_rate=0.0, flavor=flavor)
    ids = engine.seed_demo()
    clock.advance(advance)
    return engine, [engine.task_json(i) for i in ids]


@pytest.mark.parametrize(("flavor", "fixture"), SIM_TASKS)
def test_the_simulator_answers_in_the_recorded_shape(flavor: str, fixture: dict) -> None:
    want = fixture["sim"]
    if want.get("two_rows"):
        clock = ManualClock()
        engine = Engine(clock=clock, speed=1.0, fail_rate=0.0, flavor=flavor)
        ids = engine.seed_demo()
        waiting = [i for i in ids if len(engine.list_json([i])) == 1]
        (modal,) = [i for i in waiting if (engine.task_json(i) or {}).get("status") == "MODAL"]
        assert engine.modal(modal, "a boat --zoom 1.5")["code"] == 1
        clock.advance(8)  # past the queue phases, still rendering
        rows = engine.list_json([modal])
        assert engine.task_json(modal) == rows[0]  # fetch keeps answering the first
        for sim_row, recorded in zip(rows, fixture["rows"], strict=True):
            assert_same_shape(sim_row, recorded, ["status", "description"])
        assert rows[1]["action"] == "MODAL"
        return
    if "submit" in want:  # a task just submitted
        engine = Engine(clock=ManualClock(), speed=1.0, fail_rate=0.0, flavor=flavor)
        answer = engine.task_json(engine.imagine(want["submit"])["result"])
        assert_same_shape(answer, fixture["task"], want.get("same", []))
        return
    engine, answers = _demo(flavor, want.get("advance", 0))
    matches = [
        a
        for a in answers
        if a["action"] == want["action"]
        and a["status"] == want["status"]
        and all(a.get(k) == v for k, v in want.items() if k == "failReason")
    ]
    assert matches, [(a["action"], a["status"]) for a in answers]
    assert_same_shape(matches[0], fixture["task"], want.get("same", []))


@pytest.fixture(scope="module")
def flavored_sims():
    servers: dict[str, SimServer] = {}
    for flavor in FLAVORS:
        servers[flavor] = SimServer(demo=True, key=KEY, fail_rate=0.0, flavor=flavor).start()
    yield servers
    for server in servers.values():
        server.stop()


def _sim_ids(server: SimServer) -> dict[str, str]:
    ids = {"unknown": UNKNOWN}
    for task_id in server.seeded_ids:
        answer = server.engine.task_json(task_id) or {}
        if answer.get("status") != "SUCCESS":
            continue
        if answer.get("action") == "DESCRIBE":
            ids.setdefault("describe", task_id)
        if answer.get("action") == "UPSCALE" and "upscale" not in ids:
            ids["upscale"] = task_id
            zoom = [
                b["customId"] for b in answer.get("buttons") or [] if "CustomZoom" in b["customId"]
            ]
            ids["custom_zoom"] = zoom[0] if zoom else "MJ::CustomZoom::none"
    return ids


@pytest.mark.parametrize(("flavor", "fixture"), EXCHANGES)
def test_the_simulator_answers_each_recorded_exchange(flavored_sims, flavor, fixture) -> None:
    server = flavored_sims[flavor]
    ids = _sim_ids(server)
    request = _fill(fixture["request"], ids)
    auth = {"Authorization": f"Bearer {KEY}"} if flavor == "newapi" else {"mj-api-secret": KEY}
    headers = request.get("headers") or auth
    with httpx.Client(base_url=server.url, timeout=10) as http:
        answer = http.request(
            request["method"], request["path"], json=request.get("json"), headers=headers
        )
    assert answer.status_code == fixture["http_status"]
    match = fixture.get("match", "exact")
    if match == "status":
        return
    if match == "ids":  # a batch answer: the same rows, in any order (matched by id)
        rows = answer.json()
        assert isinstance(rows, list)
        recorded = _fill(fixture["body"], ids)
        assert sorted(row["id"] for row in rows) == sorted(row["id"] for row in recorded)
        for row, want in zip(
            sorted(rows, key=lambda r: r["id"]),
            sorted(recorded, key=lambda r: r["id"]),
            strict=True,
        ):
            assert set(row) == set(want), set(row) ^ set(want)
        return
    if "text" in fixture:
        assert answer.text == fixture["text"]
        return
    recorded = _fill(fixture["body"], ids)
    if match == "exact":
        assert answer.json() == recorded
    else:
        body = answer.json()
        if "error" in recorded:
            assert set(body["error"]) == set(recorded["error"])
        assert set(body) == set(recorded)
        for key in fixture.get("same", []):
            assert body[key] == recorded[key], key
