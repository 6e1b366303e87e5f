"""The simulator's three flavors over real HTTP: the rules of docs/api.md's table that the recorded
fixtures (test_sim_fixtures.py) do not show, and the fault switches in every flavor."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from mjdash.sim.engine import ManualClock
from mjdash.sim.flavors import TIMEOUT_REASON
from mjdash.sim.server import SimServer

FLAVORS = ("newapi", "trueai", "novicezk")
AUTH = {
    "newapi": {"Authorization": "Bearer k"},
    "trueai": {"Authorization": "k"},  # the raw value
    "novicezk": {"mj-api-secret": "k"},
}
EVERY_KIND = {"IMAGINE", "UPSCALE", "DESCRIBE", "SHORTEN", "BLEND", "VIDEO", "VARIATION", "PAN"}


@pytest.fixture(params=FLAVORS)
def flavor(request) -> str:
    return request.param


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(sim_factory, flavor, clock) -> SimServer:
    return sim_factory(flavor=flavor, demo=True, clock=clock, speed=1.0)


def api(sim: SimServer, flavor: str) -> httpx.Client:
    return httpx.Client(base_url=sim.url, headers=AUTH[flavor], timeout=10)


def fetch(client: httpx.Client, task_id: str) -> dict:
    answer = client.get(f"/mj/task/{task_id}/fetch")
    assert answer.status_code == 200, answer.text
    return answer.json()


def fetch_one(sim: SimServer, flavor: str, task_id: str) -> dict:
    with api(sim, flavor) as client:
        return fetch(client, task_id)


def demo(client: httpx.Client, sim: SimServer) -> list[dict]:
    return [fetch(client, i) for i in sim.seeded_ids]


def test_the_demo_batch_holds_every_kind_the_family_has(sim, flavor):
    with api(sim, flavor) as client:
        tasks = demo(client, sim)
    actions = {t["action"] for t in tasks}
    if flavor == "novicezk":  # no MODAL, SHORTEN or VIDEO on midjourney-proxy v2
        assert actions >= {"IMAGINE", "UPSCALE", "DESCRIBE", "BLEND", "VARIATION"}
        assert not actions & {"SHORTEN", "VIDEO", "CUSTOM_ZOOM", "ZOOM", "INPAINT"}
        assert all("buttons" not in t for t in tasks)
        return
    assert actions >= EVERY_KIND
    assert "MODAL" in {t["status"] for t in tasks}
    with api(sim, flavor) as client:
        listed = client.post("/mj/task/list-by-condition", json={"ids": sim.seeded_ids}).json()
    masked = [t for t in listed if t["maskBase64"]]  # the continued Vary (Region)
    assert len(masked) == 1 and masked[0]["status"] == "SUCCESS"
    rows = [t for t in listed if t["id"] == masked[0]["id"]]
    if flavor == "newapi":  # fetch answers the first row; the list has both
        assert [(r["action"], r["status"]) for r in rows] == [
            ("INPAINT", "MODAL"),
            ("MODAL", "SUCCESS"),
        ]
        assert fetch_one(sim, flavor, masked[0]["id"]) == rows[0]
    else:
        assert rows == masked and masked[0]["action"] == "VARIATION"


def test_status_empty_after_submit_only_on_newapi(sim, flavor):
    with api(sim, flavor) as client:
        answer = client.post("/mj/submit/imagine", json={"prompt": "a heron"}).json()
        assert answer["code"] == 1
        task = fetch(client, answer["result"])
    assert task["status"] == ("" if flavor == "newapi" else "NOT_START")
    if flavor == "trueai":
        assert task["progress"] is None and task["startTime"] is None
    if flavor == "novicezk":
        assert task["progress"] == "Waiting to start"


def test_the_one_hour_sweep_fails_modal_tasks_on_newapi_only(sim, flavor, clock):
    if flavor == "novicezk":
        pytest.skip("no MODAL")
    with api(sim, flavor) as client:
        tasks = demo(client, sim)
        (modal,) = [t for t in tasks if t["status"] == "MODAL" and "ZOOM" in t["action"]]
        clock.advance(3600)
        later = fetch(client, modal["id"])
        body = {"taskId": modal["id"], "prompt": "x --zoom 1.5"}
        answer = client.post("/mj/submit/modal", json=body)
    if flavor == "newapi":
        assert (later["status"], later["failReason"]) == ("FAILURE", TIMEOUT_REASON)
        assert (later["finishTime"], later["progress"]) == (0, "100%")
        assert answer.status_code == 400 and answer.json()["code"] == 4
    else:
        assert later["status"] == "MODAL"
        assert answer.json()["code"] == 1


def test_codes_21_and_22_per_family(sim, flavor, clock):
    if flavor == "novicezk":
        pytest.skip("no /mj/submit/action")
    with api(sim, flavor) as client:
        grid = next(
            t for t in demo(client, sim) if t["action"] == "IMAGINE" and t["status"] == "SUCCESS"
        )
        u4 = next(b["customId"] for b in grid["buttons"] if b["label"] == "U4")
        first = client.post("/mj/submit/action", json={"taskId": grid["id"], "customId": u4})
        again = client.post("/mj/submit/action", json={"taskId": grid["id"], "customId": u4})
    assert first.json()["code"] == 1
    # "exists": new-api rewrites 21 to 1 (21 stays only for INPAINT / CUSTOM_ZOOM).
    assert again.json()["code"] == (1 if flavor == "newapi" else 21)
    assert again.json()["result"] == first.json()["result"]


def test_trueai_reroll_keeps_the_parent_action_and_list_by_ids(sim_factory, clock):
    sim = sim_factory(flavor="trueai", demo=True, clock=clock, speed=1.0)
    clock.advance(60)  # the demo's PAN finishes
    with api(sim, "trueai") as client:
        tasks = demo(client, sim)
        pan = next(t for t in tasks if t["action"] == "PAN" and t["status"] == "SUCCESS")
        reroll = next(b["customId"] for b in pan["buttons"] if "reroll" in b["customId"])
        child = client.post("/mj/submit/action", json={"taskId": pan["id"], "customId": reroll})
        rerolled = fetch(client, child.json()["result"])
        assert rerolled["action"] == "PAN" and rerolled["parentId"] == pan["id"]
        listed = client.post("/mj/task/list-by-ids", json={"ids": sim.seeded_ids[:3]}).json()
        assert sorted(t["id"] for t in listed) == sorted(sim.seeded_ids[:3])


def test_missing_routes_on_novicezk(sim_factory):
    sim = sim_factory(flavor="novicezk", demo=True)
    with api(sim, "novicezk") as client:
        for path in ("/mj/task/list-by-condition", "/mj/submit/action", "/mj/submit/modal"):
            assert client.post(path, json={"ids": []}).status_code == 404
        assert client.post("/mj/task/list-by-ids", json={"ids": []}).status_code == 404


def test_auth_rules_per_family(sim_factory, flavor):
    sim = sim_factory(flavor=flavor, key="k")
    task_id = sim.engine.imagine("a wren")["result"]
    url = f"{sim.url}/mj/task/{task_id}/fetch"
    tries = {
        "bearer": {"Authorization": "Bearer k"},
        "raw": {"Authorization": "k"},
        "secret": {"mj-api-secret": "k"},
    }
    works = {name: httpx.get(url, headers=h).status_code == 200 for name, h in tries.items()}
    assert (
        works
        == {
            "newapi": {"bearer": True, "raw": True, "secret": True},
            "trueai": {"bearer": False, "raw": True, "secret": True},
            "novicezk": {"bearer": False, "raw": False, "secret": True},
        }[flavor]
    )


def test_videos_download_as_mp4(sim, flavor):
    if flavor == "novicezk":
        pytest.skip("no VIDEO")
    with api(sim, flavor) as client:
        (video,) = [t for t in demo(client, sim) if t["action"] == "VIDEO"]
        links = [v["url"] for v in video["videoUrls"]]
        assert len(links) == 4 and video["videoUrl"] == links[0]
        answer = httpx.get(links[1])
    assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp4"
    assert answer.content[4:8] == b"ftyp"


def test_fault_switches_work_in_every_flavor(sim, flavor):
    with api(sim, flavor) as client:
        sim.set_faults("500=1.0")
        assert client.get(f"/mj/task/{sim.seeded_ids[0]}/fetch").status_code == 500
        sim.set_faults("")
        assert client.get(f"/mj/task/{sim.seeded_ids[0]}/fetch").status_code == 200
        sim.engine.force_code = 4
        answer = client.post("/mj/submit/imagine", json={"prompt": "a crane"})
        assert answer.json()["code"] == 4
        sim.engine.force_code = None
    assert sim.stats()["faults"]["500"] == 1


def test_fault_answers_take_the_familys_shape(sim, flavor):
    """docs/api.md "Errors": new-api's 429 has a body, the proxies' is bare; each 401 is the
    family's own (the Auth row)."""
    with api(sim, flavor) as client:
        sim.set_faults("429=1.0")
        limited = client.get(f"/mj/task/{sim.seeded_ids[0]}/fetch")
        sim.set_faults("401=1.0")
        refused = client.get(f"/mj/task/{sim.seeded_ids[0]}/fetch")
        sim.set_faults("")
    assert limited.status_code == 429 and refused.status_code == 401
    if flavor == "newapi":
        assert limited.json()["code"] == 30
        assert refused.json()["error"]["type"] == "comet_api_error"
    else:
        assert limited.content == b""
        wanted = b"Authorization header missing." if flavor == "trueai" else b""
        assert refused.content == wanted


def test_mjdash_sim_takes_a_flavor():
    process = subprocess.Popen(
        [sys.executable, "-m", "mjdash", "sim", "--port", "0", "--flavor", "novicezk"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        assert first.startswith("mjdash simulator on http://127.0.0.1:")
        second = process.stdout.readline()
        assert "mj-api-secret: <key> only" in second and "answers like novicezk" in second
    finally:
        process.terminate()
        process.wait(timeout=10)
    bad = subprocess.run(
        [sys.executable, "-m", "mjdash", "sim", "--flavor", "comet"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
