"""The simulator over real loopback HTTP: every route, code, quirk and fault of docs/api.md."""

from __future__ import annotations

import asyncio
import io
import itertools
import re
import subprocess
import sys
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
from PIL import Image as PILImage

from mjdash.model.task import is_task_id
from mjdash.sim import faults as sim_faults
from mjdash.sim.engine import Engine, ManualClock
from mjdash.sim.server import SimServer

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
LONGEST_IMAGINE = 1.5 + 2.0 + 4.0 + 60.0  # queue phases plus render, simulated seconds


def api(server: SimServer, key: str = "test-key") -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=10)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def clocked(sim_factory, clock) -> SimServer:
    """A simulator at speed 1 whose time moves only with `clock.advance()`."""
    return sim_factory(clock=clock, speed=1.0)


@pytest.fixture
def client(clocked) -> Iterator[httpx.Client]:
    with api(clocked) as c:
        yield c


def imagine(client: httpx.Client, prompt: str = "a red fox --v 6.1") -> str:
    answer = client.post("/mj/submit/imagine", json={"prompt": prompt}).json()
    assert answer["code"] == 1, answer
    return answer["result"]


def fetch(client: httpx.Client, task_id: str) -> dict:
    response = client.get(f"/mj/task/{task_id}/fetch")
    assert response.status_code == 200, response.text
    return response.json()


def finished(client: httpx.Client, clock: ManualClock, prompt: str = "a red fox") -> dict:
    task_id = imagine(client, prompt)
    clock.advance(LONGEST_IMAGINE + 1)
    task = fetch(client, task_id)
    assert task["status"] == "SUCCESS"
    return task


def press(client: httpx.Client, task_id: str, custom_id: str) -> dict:
    return client.post("/mj/submit/action", json={"taskId": task_id, "customId": custom_id}).json()


def live_row(client: httpx.Client, task_id: str) -> dict:
    """new-api after /mj/submit/modal: list-by-condition's second row, the one that moves."""
    rows = client.post("/mj/task/list-by-condition", json={"ids": [task_id]}).json()
    assert [r["action"] for r in rows][-1] == "MODAL" and len(rows) == 2, rows
    return rows[-1]


def button(task: dict, predicate) -> str:
    matches = [b["customId"] for b in task["buttons"] if predicate(b)]
    assert matches, task["buttons"]
    return matches[0]


# --- progression ----------------------------------------------------------------------------------


def test_imagine_progresses_through_every_status_over_the_clock(clocked, client, clock):
    start_ms = int(clock.now * 1000)
    task_id = imagine(client)
    first = fetch(client, task_id)
    assert first["status"] == ""
    assert first["progress"] == ""
    assert first["buttons"] is None
    assert first["imageUrl"] == ""
    assert (first["startTime"], first["finishTime"]) == (0, 0)
    assert first["submitTime"] == start_ms
    assert task_id.startswith(str(start_ms)) and len(task_id) == 16

    seen: list[str] = []
    percents: list[int] = []
    for _ in range(int(LONGEST_IMAGINE * 4) + 8):
        task = fetch(client, task_id)
        if not seen or seen[-1] != task["status"]:
            seen.append(task["status"])
        if task["status"] == "IN_PROGRESS":
            percents.append(int(task["progress"].rstrip("%")))
            assert task["buttons"] is None
            assert task["imageUrl"].startswith(f"{clocked.url}/mj/image/{task_id}?rand=")
            assert task["startTime"] > 0 and task["finishTime"] == 0
        if task["status"] in ("NOT_START", "SUBMITTED"):
            assert task["progress"] == "0%" and task["imageUrl"] == ""
        clock.advance(0.25)
    assert seen == ["", "NOT_START", "SUBMITTED", "IN_PROGRESS", "SUCCESS"]
    assert percents == sorted(percents)
    steps = sorted(set(percents))
    assert steps[0] == 0 and len(steps) >= 4
    jumps = {b - a for a, b in itertools.pairwise(steps)}
    assert len(jumps) > 1, "progress should rise in uneven steps"

    done = fetch(client, task_id)
    assert done["progress"] == "100%"
    assert done["imageUrl"] == f"{clocked.url}/mj/image/{task_id}"
    queue_s = (done["startTime"] - done["submitTime"]) / 1000
    render_s = (done["finishTime"] - done["startTime"]) / 1000
    assert 0.5 < queue_s < 4, queue_s
    assert 30 <= render_s <= 64, render_s


def test_speed_divides_every_duration():
    clock = ManualClock()
    fast = Engine(clock=clock, speed=10.0, fail_rate=0.0)
    slow = Engine(clock=clock, speed=1.0, fail_rate=0.0)
    fast_id = fast.imagine("a")["result"]
    slow_id = slow.imagine("a")["result"]
    clock.advance(LONGEST_IMAGINE / 10 + 0.01)
    assert fast.status(fast_id) == "SUCCESS"
    assert slow.status(slow_id) in ("SUBMITTED", "IN_PROGRESS")


def test_fail_flag_and_fail_rate_give_failures(client, clock):
    task_id = imagine(client, "a cat --ar 99:1 --fail")
    clock.advance(10)
    task = fetch(client, task_id)
    assert task["status"] == "FAILURE"
    assert task["failReason"] == "[Invalid parameter] Invalid value"
    assert task["progress"] == "100%"
    assert task["buttons"] == []
    assert task["imageUrl"] == ""
    assert task["properties"] is None
    assert task["finishTime"] >= task["startTime"] > 0

    engine = Engine(clock=clock, fail_rate=1.0)
    ids = [engine.imagine(f"prompt {n}")["result"] for n in range(5)]
    clock.advance(LONGEST_IMAGINE + 1)
    for failed in (engine.task_json(i) for i in ids):
        assert failed["status"] == "FAILURE" and failed["failReason"]


def test_ids_are_unique_16_digits_even_with_a_frozen_clock(clocked):
    ids = [clocked.engine.imagine(f"p{n}")["result"] for n in range(300)]
    assert len(set(ids)) == 300
    assert all(is_task_id(i) and len(i) == 16 for i in ids)


# --- buttons and actions --------------------------------------------------------------------------


def test_finished_grid_has_the_nine_real_buttons(client, clock):
    task = finished(client, clock)
    labels = [b["label"] or b["emoji"] for b in task["buttons"]]
    assert labels == ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"]
    hashes = {re.search(UUID, b["customId"])[0] for b in task["buttons"]}
    assert len(hashes) == 1
    (h,) = hashes
    assert task["buttons"][0]["customId"] == f"MJ::JOB::upsample::1::{h}"
    assert task["buttons"][4]["customId"] == f"MJ::JOB::reroll::0::{h}::SOLO"
    assert task["buttons"][8]["customId"] == f"MJ::JOB::variation::4::{h}"
    assert all(b["type"] == 2 and isinstance(b["style"], int) for b in task["buttons"])
    other = finished(client, clock, "a blue fox")
    assert re.search(UUID, other["buttons"][0]["customId"])[0] != h


def test_upscale_child_has_twelve_buttons_and_a_fresh_hash(client, clock):
    grid = finished(client, clock, "a red fox --v 6.1")
    u2 = button(grid, lambda b: b["label"] == "U2")
    answer = press(client, grid["id"], u2)
    assert answer["code"] == 1 and answer["description"] == "Submit success"
    assert is_task_id(answer["result"]) and isinstance(answer["properties"], dict)
    child = fetch(client, answer["result"])
    assert (child["action"], child["customId"]) == ("UPSCALE", u2)
    assert child["prompt"] == grid["prompt"]
    clock.advance(20)  # an upscale takes ~10 s plus the queue
    child = fetch(client, answer["result"])
    assert child["status"] == "SUCCESS"
    labels = [b["label"] for b in child["buttons"]]
    assert labels[:8] == [
        "Upscale (Subtle)",
        "Upscale (Creative)",
        "Vary (Subtle)",
        "Vary (Strong)",
        "Vary (Region)",
        "Zoom Out 2x",
        "Zoom Out 1.5x",
        "Custom Zoom",
    ]
    assert labels[8:] == ["", "", "", ""]
    assert [b["emoji"] for b in child["buttons"][8:]] == ["⬅️", "➡️", "⬆️", "⬇️"]
    assert child["buttons"][0]["customId"].startswith("MJ::JOB::upsample_v6r1_2x_subtle::1::")
    assert re.search(UUID, child["buttons"][0]["customId"])[0] not in u2

    again = press(client, grid["id"], u2)  # the same upscale twice: "exists", which new-api
    assert (again["code"], again["result"]) == (1, answer["result"])  # rewrites 21 to 1


@pytest.mark.parametrize(
    ("label", "action"),
    [
        ("Upscale (Subtle)", "UPSCALE"),
        ("Vary (Subtle)", "LOW_VARIATION"),
        ("Vary (Strong)", "HIGH_VARIATION"),
        ("Zoom Out 2x", "ZOOM"),
        ("Zoom Out 1.5x", "ZOOM"),
    ],
)
def test_upscale_buttons_start_the_right_action(client, clock, label, action):
    grid = finished(client, clock)
    upscale_id = press(client, grid["id"], button(grid, lambda b: b["label"] == "U1"))["result"]
    clock.advance(20)
    upscale = fetch(client, upscale_id)
    answer = press(client, upscale_id, button(upscale, lambda b: b["label"] == label))
    assert answer["code"] == 1
    assert fetch(client, answer["result"])["action"] == action


def test_grid_and_pan_buttons_start_the_right_action(client, clock):
    grid = finished(client, clock)
    for predicate, action in [
        (lambda b: b["label"] == "V3", "VARIATION"),
        (lambda b: b["emoji"] == "🔄", "REROLL"),
    ]:
        answer = press(client, grid["id"], button(grid, predicate))
        assert fetch(client, answer["result"])["action"] == action
    upscale_id = press(client, grid["id"], button(grid, lambda b: b["label"] == "U4"))["result"]
    clock.advance(20)
    upscale = fetch(client, upscale_id)
    for emoji in ("⬅️", "➡️", "⬆️", "⬇️"):
        custom_id = button(upscale, lambda b, e=emoji: b["emoji"] == e)
        assert re.match(r"MJ::JOB::pan_(left|right|up|down)::1::", custom_id)
        answer = press(client, upscale_id, custom_id)
        child = fetch(client, answer["result"])
        assert (child["action"], child["customId"]) == ("PAN", custom_id)


def test_action_codes_for_bad_presses(client, clock):
    grid = finished(client, clock)
    u1 = button(grid, lambda b: b["label"] == "U1")
    assert press(client, "1234567890123456", u1)["code"] == 3
    assert press(client, grid["id"], "MJ::JOB::upsample::1::not-this-task")["code"] == 4
    assert press(client, grid["id"], "")["code"] == 4
    running = imagine(client)
    assert press(client, running, u1)["code"] == 4  # not finished
    bad = client.post("/mj/submit/action", content=b"{not json")
    assert bad.status_code == 400


def test_custom_zoom_opens_a_modal_that_needs_a_zoom_between_1_and_2(client, clock):
    grid = finished(client, clock)
    upscale_id = press(client, grid["id"], button(grid, lambda b: b["label"] == "U1"))["result"]
    clock.advance(20)
    upscale = fetch(client, upscale_id)
    zoom_button = button(upscale, lambda b: b["label"] == "Custom Zoom")
    answer = press(client, upscale_id, zoom_button)
    assert answer["code"] == 21 and is_task_id(answer["result"])
    modal = fetch(client, answer["result"])
    assert modal["status"] == "MODAL"
    assert modal["action"] == "CUSTOM_ZOOM"
    assert modal["description"] == "Waiting for window confirm"
    assert (modal["buttons"], modal["progress"], modal["startTime"]) == ([], "0%", 0)
    clock.advance(600)
    assert fetch(client, answer["result"])["status"] == "MODAL"  # waits for the user

    def submit_modal(prompt: str, **extra) -> dict:
        body = {"taskId": answer["result"], "prompt": prompt, **extra}
        return client.post("/mj/submit/modal", json=body).json()

    assert submit_modal("a red fox")["code"] == 4
    assert submit_modal("a red fox --zoom 2.5")["code"] == 4
    assert submit_modal("a red fox --zoom 0.5")["code"] == 4
    resumed = submit_modal("a red fox --zoom 1.5")
    assert (resumed["code"], resumed["result"]) == (1, answer["result"])
    # new-api: fetch keeps answering the first row; the second (action MODAL) moves on.
    assert fetch(client, answer["result"])["status"] == "MODAL"
    assert live_row(client, answer["result"])["status"] in ("", "NOT_START")
    assert submit_modal("a red fox --zoom 1.5")["code"] == 4  # no longer MODAL
    clock.advance(LONGEST_IMAGINE + 1)
    done = live_row(client, answer["result"])
    assert done["status"] == "SUCCESS" and len(done["buttons"]) == 9
    assert done["prompt"] == "a red fox --zoom 1.5"
    assert fetch(client, answer["result"])["status"] == "MODAL"


def test_vary_region_needs_mask_and_prompt(client, clock):
    grid = finished(client, clock)
    upscale_id = press(client, grid["id"], button(grid, lambda b: b["label"] == "U3"))["result"]
    clock.advance(20)
    upscale = fetch(client, upscale_id)
    answer = press(client, upscale_id, button(upscale, lambda b: b["label"] == "Vary (Region)"))
    assert answer["code"] == 21
    modal_id = answer["result"]
    assert fetch(client, modal_id)["action"] == "INPAINT"
    url = "/mj/submit/modal"
    assert client.post(url, json={"taskId": modal_id, "prompt": "a hat"}).json()["code"] == 4
    no_prompt = {"taskId": modal_id, "prompt": "", "maskBase64": "iVBORw0KGgo="}
    assert client.post(url, json=no_prompt).json()["code"] == 4
    body = {"taskId": modal_id, "prompt": "a hat", "maskBase64": "iVBORw0KGgo="}
    assert client.post(url, json=body).json()["code"] == 1
    assert live_row(client, modal_id)["maskBase64"] == "iVBORw0KGgo="
    unknown = {"taskId": "1234567890123456", "prompt": "x --zoom 1.5"}
    assert client.post(url, json=unknown).json()["code"] == 3


def test_describe_buttons_and_picreader(sim_factory, clock):
    # trueai accepts the PicReader buttons (new-api refuses them: test_sim_flavors.py).
    clocked = sim_factory(clock=clock, speed=1.0, flavor="trueai")
    client = httpx.Client(base_url=clocked.url, headers={"mj-api-secret": "k"}, timeout=10)
    clocked.engine.seed_demo()
    tasks = client.post("/mj/task/list-by-condition", json={"ids": clocked.engine.ids()}).json()
    describe = next(t for t in tasks if t["action"] == "DESCRIBE")
    assert describe["status"] == "SUCCESS"
    assert [b["emoji"] for b in describe["buttons"]] == ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "🔄"]
    assert [b["customId"] for b in describe["buttons"]] == [
        "MJ::Job::PicReader::1",
        "MJ::Job::PicReader::2",
        "MJ::Job::PicReader::3",
        "MJ::Job::PicReader::4",
        "MJ::Picread::Retry",
    ]
    suggestions = describe["promptEn"].split("\n\n")
    assert len(suggestions) == 4 and suggestions[1].startswith("2️⃣ ")
    answer = press(client, describe["id"], "MJ::Job::PicReader::2")
    child = fetch(client, answer["result"])
    assert child["action"] == "IMAGINE"
    assert child["prompt"] == suggestions[1].removeprefix("2️⃣ ")
    retry = fetch(client, press(client, describe["id"], "MJ::Picread::Retry")["result"])
    assert retry["action"] == "DESCRIBE"


# --- imagine codes --------------------------------------------------------------------------------


def test_imagine_answers_every_code(clocked, client):
    def submit(prompt: object) -> dict:
        return client.post("/mj/submit/imagine", json={"prompt": prompt}).json()

    assert submit("")["code"] == 4
    assert submit("   ")["code"] == 4
    assert submit(None)["code"] == 4
    banned = submit("a cat --banned")
    assert banned["code"] == 24 and banned["properties"]["bannedWord"] == "--banned"
    assert banned["result"] is None
    word = submit("a BadWord in a prompt")
    assert (word["code"], word["properties"]["bannedWord"]) == (24, "badword")
    clocked.engine.banned_words.add("gore")
    assert submit("some gore")["code"] == 24
    queued = submit("a cat --queued")
    assert queued["code"] == 22 and queued["properties"]["numberOfQueues"] >= 1
    assert fetch(client, queued["result"])["id"] == queued["result"]
    full = submit("a cat --queue-full")
    assert (full["code"], full["result"]) == (23, None)

    for code in (4, 9, 22, 23, 24):
        clocked.engine.force_code = code
        assert submit("a plain prompt")["code"] == code
    clocked.engine.force_code = None
    assert submit("a plain prompt")["code"] == 1
    with pytest.raises(ValueError):
        clocked.engine.force_code = 1


def test_force_code_applies_to_actions_too(clocked, client, clock):
    grid = finished(client, clock)
    u1 = button(grid, lambda b: b["label"] == "U1")
    clocked.engine.force_code = 23
    assert press(client, grid["id"], u1)["code"] == 23
    clocked.engine.force_code = 22
    queued = press(client, grid["id"], u1)
    assert queued["code"] == 22 and queued["properties"]["numberOfQueues"] == 1
    clocked.engine.force_code = None


# --- list-by-condition, fetch errors, auth --------------------------------------------------------


def test_list_by_condition_semantics(sim_factory, clock):
    server = sim_factory(tasks=40, clock=clock)
    ids = server.seeded_ids
    with api(server) as client:
        url = "/mj/task/list-by-condition"
        wanted = [*ids[:20], "1111111111111111", "nope"]
        answer = client.post(url, json={"ids": wanted})
        assert answer.status_code == 200
        got = [t["id"] for t in answer.json()]
        assert sorted(got) == sorted(ids[:20])
        assert got != ids[:20]
        reversed_ids = ids[:20][::-1]
        assert [t["id"] for t in client.post(url, json={"ids": reversed_ids}).json()] != (
            reversed_ids
        )
        assert client.post(url, json={"ids": [ids[0], ids[0]]}).json()[0]["id"] == ids[0]
        assert len(client.post(url, json={"ids": [ids[0], ids[0]]}).json()) == 1
        empty = client.post(url, json={"ids": []})
        assert (empty.status_code, empty.json()) == (200, [])
        assert client.post(url, json={}).json() == []
        numbers = client.post(url, json={"ids": [int(ids[0])]})
        assert numbers.status_code == 400
        assert numbers.json()["code"] == 4
        assert client.post(url, json={"ids": ids[0]}).status_code == 400
        assert client.post(url, json=[ids[0]]).status_code == 400
        assert client.post(url, content=b"<html>").status_code == 400


def test_tasks_of_another_key_are_left_out(sim):
    with api(sim, "alice") as alice, api(sim, "bob") as bob:
        mine = imagine(alice)
        seeded = sim.engine.seed_tasks(1)[0]
        url = "/mj/task/list-by-condition"
        assert {t["id"] for t in bob.post(url, json={"ids": [mine, seeded]}).json()} == {seeded}
        assert {t["id"] for t in alice.post(url, json={"ids": [mine, seeded]}).json()} == {
            mine,
            seeded,
        }
        assert bob.get(f"/mj/task/{mine}/fetch").status_code == 400
        assert alice.get(f"/mj/task/{mine}/fetch").status_code == 200


def test_batch_route_can_be_switched_off(sim):
    with api(sim) as client:
        sim.batch_route = False
        assert client.post("/mj/task/list-by-condition", json={"ids": []}).status_code == 404
        sim.batch_route = True
        assert client.post("/mj/task/list-by-condition", json={"ids": []}).status_code == 200


def test_fetch_of_unknown_id_is_the_exact_400_body(sim):
    with api(sim) as client:
        response = client.get("/mj/task/1773314942177684/fetch")
    assert response.status_code == 400
    assert response.content == b'{"description":"task_no_found ","type":"upstream_error","code":4}'


def test_mode_prefixes_reach_the_same_routes(sim):
    task_id = sim.engine.imagine("a fox")["result"]
    with api(sim) as client:
        for mode in ("mj-fast", "mj-relax", "mj-turbo"):
            assert client.get(f"/{mode}/mj/task/{task_id}/fetch").json()["id"] == task_id
            answer = client.post(f"/{mode}/mj/submit/imagine", json={"prompt": "x"}).json()
            assert answer["code"] == 1
        assert client.get(f"/mj-slow/mj/task/{task_id}/fetch").status_code == 404
        assert client.get("/mj/nothing/here").status_code == 404


def test_auth_styles_and_the_401_envelope(sim_factory):
    anyone = sim_factory()
    task_id = anyone.engine.imagine("a fox")["result"]
    path = f"/mj/task/{task_id}/fetch"
    with httpx.Client(base_url=anyone.url) as client:
        missing = client.get(path)
        assert missing.status_code == 401
        error = missing.json()["error"]
        assert (error["code"], error["type"]) == ("", "comet_api_error")
        assert re.search(r"\(request id: \d+\)$", error["message"])
        assert client.get(path, headers={"Authorization": "Bearer"}).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer any"}).status_code == 200
        assert client.get(path, headers={"mj-api-secret": "any"}).status_code == 200
        both = {"Authorization": "", "mj-api-secret": "any"}
        assert client.get(path, headers=both).status_code == 200
        assert client.get(f"/mj/image/{task_id}").status_code in (200, 404)  # no auth needed

    fixed = sim_factory(key="s3cret")
    with httpx.Client(base_url=fixed.url) as client:
        path = "/mj/task/1/fetch"
        wrong = client.get(path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["type"] == "comet_api_error"
        assert client.get(path, headers={"mj-api-secret": "nope"}).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer s3cret"}).status_code == 400
        assert client.get(path, headers={"mj-api-secret": "s3cret"}).status_code == 400


# --- images ---------------------------------------------------------------------------------------


def png_pixels(data: bytes) -> tuple[int, int, set[tuple[int, int, int]]]:
    """Width, height and the set of colours of an 8-bit RGB PNG (read with Pillow)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = PILImage.open(io.BytesIO(data))
    assert image.mode == "RGB"
    return image.width, image.height, {color for _count, color in image.getcolors(1 << 16)}


def test_image_route_serves_real_pngs(client, clock):
    grid = finished(client, clock)
    response = client.get(grid["imageUrl"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    width, height, colours = png_pixels(response.content)
    assert (width, height) == (128, 128) and len(colours) == 4
    assert len(response.content) < 4096

    upscale_id = press(client, grid["id"], button(grid, lambda b: b["label"] == "U1"))["result"]
    clock.advance(20)
    _, _, colours = png_pixels(client.get(fetch(client, upscale_id)["imageUrl"]).content)
    assert len(colours) == 1

    running = imagine(client)
    clock.advance(10)
    preview = fetch(client, running)["imageUrl"]
    assert "?rand=" in preview
    assert client.get(preview).status_code == 200
    assert client.get("/mj/image/1234567890123456").status_code == 404


# --- stats and faults -----------------------------------------------------------------------------


def test_stats_count_requests_by_route(sim):
    with api(sim) as client:
        task_id = imagine(client)
        client.get(f"/mj/task/{task_id}/fetch")
        client.get(f"/mj/task/{task_id}/fetch")
        client.post("/mj/task/list-by-condition", json={"ids": [task_id, "1", "2"]})
        press(client, task_id, "MJ::JOB::upsample::1::x")
        client.post("/mj/submit/modal", json={"taskId": task_id, "prompt": "x"})
        client.get(f"/mj/image/{task_id}")
        stats = client.get("/_sim/stats").json()
        assert stats["routes"] == {
            "fetch": 2,
            "list": 1,
            "list_ids": 0,
            "action": 1,
            "modal": 1,
            "imagine": 1,
            "image": 1,
            "video": 0,
        }
        assert stats["total"] == 7  # /_sim/ calls are not counted
        assert stats["ids_requested"] == 5
        assert set(stats["faults"]) >= {"429", "500", "reset", "slow"}
        assert sum(stats["faults"].values()) == 0
        assert sim.stats()["total"] == 7
        assert client.get("/_sim/tasks").json() == sim.engine.ids() == [task_id]
        sim.reset_stats()
        assert sim.stats()["total"] == 0 and sim.stats()["routes"]["fetch"] == 0


@pytest.mark.parametrize("code", [401, 403, 408, 409, 429, 500, 502, 503, 504, 524])
def test_status_faults_hit_every_mj_call(sim_factory, code):
    server = sim_factory(faults=f"{code}=1")
    task_id = server.engine.imagine("x")["result"]
    with api(server) as client:
        for _ in range(3):
            assert client.get(f"/mj/task/{task_id}/fetch").status_code == code
        assert client.post("/mj/submit/imagine", json={"prompt": "x"}).status_code == code
        assert client.get("/_sim/stats").status_code == 200  # never faulted
        assert client.get("/_sim/tasks").status_code == 200
    faults = server.stats()["faults"]
    assert faults[str(code)] == sum(faults.values()) == 4
    assert server.stats()["total"] == 4


def test_retry_after_is_sometimes_seconds_and_sometimes_absent(sim_factory):
    server = sim_factory(faults="429=1")
    with api(server) as client:
        headers = [client.get("/mj/task/1/fetch").headers.get("retry-after") for _ in range(30)]
    present = [h for h in headers if h is not None]
    assert present and len(present) < len(headers)
    assert all(h.isdigit() and 1 <= int(h) <= 5 for h in present)


def test_reset_fault_makes_httpx_raise_a_transport_error(sim_factory):
    server = sim_factory(faults="reset=1")
    with api(server) as client, pytest.raises(httpx.TransportError):
        client.get("/mj/task/1/fetch")
    assert server.stats()["faults"]["reset"] == sum(server.stats()["faults"].values()) == 1


def test_body_faults(sim):
    task_id = sim.engine.imagine("x")["result"]
    path = f"/mj/task/{task_id}/fetch"
    with api(sim) as client:
        sim.set_faults("html=1")
        html = client.get(path)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert html.text.lstrip().startswith("<!DOCTYPE html>")
        sim.set_faults("empty=1")
        empty = client.get(path)
        assert (empty.status_code, empty.content) == (200, b"")
        sim.set_faults("redirect=1")
        moved = client.get(path)
        assert moved.status_code == 301
        assert moved.headers["location"] == f"http://example.invalid{path}"
        sim.set_faults("garbage=1")
        for _ in range(10):
            junk = client.get(path)
            assert junk.status_code == 200
            try:
                value = junk.json()
            except ValueError:
                continue
            assert not (isinstance(value, dict) and value.get("id") == task_id)
        sim.set_faults("")
        assert client.get(path).json()["id"] == task_id


def test_slow_fault_delays_but_answers(sim, monkeypatch):
    # The delay is recorded where the fault sleeps, not timed on the wall clock.
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    monkeypatch.setattr(sim_faults, "SLOW_RANGE", (0.3, 0.3))
    monkeypatch.setattr(sim_faults, "asyncio", SimpleNamespace(sleep=sleep))
    task_id = sim.engine.imagine("x")["result"]
    sim.set_faults("slow=1")
    with api(sim) as client:
        assert client.get(f"/mj/task/{task_id}/fetch").json()["id"] == task_id
    assert waits == [0.3]


def test_fault_rates_and_spec_via_http(sim):
    with api(sim) as client:
        bad = client.post("/_sim/faults", json={"spec": "500=2"})
        assert bad.status_code == 400 and "0 to 1" in bad.json()["error"]
        assert client.post("/_sim/faults", json={"spec": "teapot=1"}).status_code == 400
        ok = client.post("/_sim/faults", json={"spec": "500=0.3, 429=0.2"})
        assert ok.json() == {"spec": "500=0.3,429=0.2"}
        codes = [client.get("/mj/task/1/fetch").status_code for _ in range(100)]
    assert 15 <= codes.count(500) <= 45
    assert 8 <= codes.count(429) <= 35
    assert codes.count(400) == 100 - codes.count(500) - codes.count(429)
    with pytest.raises(ValueError):
        sim.set_faults("reset=abc")


# --- seeding --------------------------------------------------------------------------------------


def test_seeding_10000_tasks_gives_a_mix(sim_factory, clock):
    # How long seeding takes: tests/perf/bench_components.py.
    server = sim_factory(tasks=10_000, clock=clock, speed=1.0)
    assert len(server.seeded_ids) == len(set(server.seeded_ids)) == 10_000
    statuses = {server.engine.status(i) for i in server.seeded_ids}
    assert statuses >= {"", "NOT_START", "SUBMITTED", "IN_PROGRESS", "SUCCESS", "FAILURE", "MODAL"}
    with api(server) as client:
        tasks = client.post(
            "/mj/task/list-by-condition", json={"ids": server.seeded_ids[:100]}
        ).json()
    assert len(tasks) == 100
    percents = {t["progress"] for t in tasks if t["status"] == "IN_PROGRESS"}
    assert len(percents) > 3  # running at various progress


def test_seed_demo_is_a_lively_realistic_batch(sim_factory, clock):
    server = sim_factory(demo=True, clock=clock, speed=1.0)
    assert 12 <= len(server.seeded_ids) <= 20
    with api(server) as client:

        def snapshot() -> dict[str, dict]:
            url = "/mj/task/list-by-condition"
            return {t["id"]: t for t in client.post(url, json={"ids": server.seeded_ids}).json()}

        tasks = snapshot()
        statuses = [t["status"] for t in tasks.values()]
        for wanted in ("", "NOT_START", "IN_PROGRESS", "SUCCESS", "FAILURE", "MODAL"):
            assert wanted in statuses
        percents = {t["progress"] for t in tasks.values() if t["status"] == "IN_PROGRESS"}
        assert len(percents) >= 3
        upscale = next(t for t in tasks.values() if t["action"] == "UPSCALE" and t["buttons"])
        assert len(upscale["buttons"]) == 12
        parents = [
            t
            for t in tasks.values()
            if upscale["customId"] in [b["customId"] for b in t["buttons"] or []]
        ]
        (parent,) = parents
        assert len(parent["buttons"]) == 9
        failure = next(t for t in tasks.values() if t["status"] == "FAILURE")
        assert failure["failReason"]
        describe = next(t for t in tasks.values() if t["action"] == "DESCRIBE")
        assert describe["promptEn"].count("\n\n") == 3
        assert len({t["prompt"] for t in tasks.values()}) >= 8

        running = {
            i for i, t in tasks.items() if t["status"] not in ("SUCCESS", "FAILURE", "MODAL")
        }
        clock.advance(30)
        later = snapshot()
        finished_soon = [i for i in running if later[i]["status"] == "SUCCESS"]
        assert len(finished_soon) >= 2
        clock.advance(90)
        still = [i for i in running if snapshot()[i]["status"] in ("NOT_START", "IN_PROGRESS")]
        assert len(still) >= 2  # some keep running for minutes


def test_seed_hostile_carries_every_nasty_character(sim_factory):
    server = sim_factory(hostile=True)
    with api(server) as client:
        raws = [client.get(f"/mj/task/{i}/fetch") for i in server.seeded_ids]
    assert all(r.status_code == 200 for r in raws)
    tasks = [r.json() for r in raws]
    text = "".join(
        t["prompt"] + t["failReason"] + str(t["buttons"]) + t["description"] for t in tasks
    )
    for needle in ("\x1b[", "\x1b]52;", "\x07", "\r", "\x00", "\u202e", "[/]", "[@click=app.quit]"):
        assert needle in text, repr(needle)
    huge = max(raws, key=lambda r: len(r.content))
    assert len(huge.json()["prompt"]) >= 1_000_000
    assert len(huge.content) < 1024 * 1024  # the client's body cap
    labels = [b["label"] for t in tasks for b in t["buttons"] or []]
    assert any("[@click=app.quit]" in label for label in labels)
    assert {"javascript:alert(1)", "file:///etc/passwd"} <= {t["imageUrl"] for t in tasks}
    # A hostile button still works when pressed.
    grid = next(t for t in tasks if t["buttons"] and "\x1b" in t["buttons"][0]["customId"])
    with api(server) as client:
        assert press(client, grid["id"], grid["buttons"][0]["customId"])["code"] == 1


# --- the server itself ----------------------------------------------------------------------------


def test_server_starts_and_stops_cleanly():
    # How long start and stop take: tests/perf/bench_components.py.
    server = SimServer().start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
    with api(server) as client:
        assert client.get("/_sim/tasks").json() == []
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/_sim/tasks", timeout=2)


async def test_usable_from_async_tests(sim):
    async with httpx.AsyncClient(base_url=sim.url, headers={"mj-api-secret": "k"}) as client:
        answer = (await client.post("/mj/submit/imagine", json={"prompt": "a fox"})).json()
        task = (await client.get(f"/mj/task/{answer['result']}/fetch")).json()
    assert task["id"] == answer["result"]


def test_run_sim_serves_in_the_foreground_and_prints_its_url():
    code = "from mjdash.sim.server import run_sim; run_sim(port=0, tasks=5)"
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        first = process.stdout.readline()
        match = re.fullmatch(r"mjdash simulator on (http://127\.0\.0\.1:\d+)\n", first)
        assert match, first
        assert "key" in process.stdout.readline()
        ids = httpx.get(f"{match[1]}/_sim/tasks", timeout=5).json()
        assert len(ids) == 5
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert "Traceback" not in process.stderr.read()
