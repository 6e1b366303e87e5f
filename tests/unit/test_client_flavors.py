"""The client against the simulator in each server flavor, over real loopback HTTP: fetch, batch,
missing ids, MODAL continued (two rows on new-api), auth header styles, task kinds, refused
buttons and the ❤️ bookmark; and `mjdash status --json` carrying the results."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mjdash.model import kinds
from mjdash.model.secret import Secret
from mjdash.model.task import Status, Task
from mjdash.net.client import AuthError, MidjourneyClient, TaskNotFound
from mjdash.net.submit import action_outcome, answer_problem
from mjdash.sim.engine import ManualClock
from mjdash.sim.server import SimServer

FLAVORS = ("newapi", "trueai", "novicezk")
KEY = "flavor-key-4f3e2d"
UNKNOWN = "1773314942177999"
RIGHT_AUTH = {"newapi": "bearer", "trueai": "mj-api-secret", "novicezk": "mj-api-secret"}


@pytest.fixture(params=FLAVORS)
def flavor(request) -> str:
    return request.param


@pytest.fixture
def sim(flavor) -> SimServer:
    # A manual clock: the demo batch stays where it was planned until a test moves it.
    server = SimServer(demo=True, key=KEY, fail_rate=0.0, flavor=flavor, clock=ManualClock())
    server.start()
    yield server
    server.stop()


def client_for(sim: SimServer, auth: str | None = None, key: str = KEY) -> MidjourneyClient:
    flavor = sim.engine.flavor.name
    return MidjourneyClient(sim.url, Secret(key), auth=auth or RIGHT_AUTH[flavor], key_env="MJ_K")


async def all_tasks(sim: SimServer) -> dict[str, Task]:
    async with client_for(sim) as client:
        found = await client.fetch_many(sim.seeded_ids)
    assert all(isinstance(t, Task) for t in found.values()), found
    return found  # type: ignore[return-value]


def by_action(tasks: dict[str, Task], action: str) -> list[Task]:
    return [t for t in tasks.values() if t.action == action]


async def test_fetch_batch_and_missing_ids(sim, flavor):
    async with client_for(sim) as client:
        found = await client.fetch_many([*sim.seeded_ids, UNKNOWN])
        assert found[UNKNOWN] is None
        assert all(isinstance(found[i], Task) for i in sim.seeded_ids)
        # novicezk has no list-by-condition: one fetch per id from the first 404 on.
        assert client.batch_route is (flavor != "novicezk")
        with pytest.raises(TaskNotFound):
            await client.fetch(UNKNOWN)
        assert client.family == flavor  # told by the answers' shapes
        one = await client.fetch(sim.seeded_ids[0])
        assert one.id == sim.seeded_ids[0] and one == found[sim.seeded_ids[0]]
    assert client.auth_switched is None


async def test_describe_shorten_video_blend_tasks(sim, flavor):
    tasks = await all_tasks(sim)
    (describe,) = by_action(tasks, "DESCRIBE")
    suggestions = kinds.describe_suggestions(describe)
    assert len(suggestions) == 4 and all(s and "\u20e3" not in s for s in suggestions)
    (blend,) = by_action(tasks, "BLEND")
    assert blend.shown_prompt == "blend"
    assert kinds.makes_grid(blend)  # v2 sends no buttons: its grids are labelled all the same
    if flavor == "novicezk":  # no such tasks on midjourney-proxy v2
        assert not by_action(tasks, "SHORTEN") and not by_action(tasks, "VIDEO")
        return
    (shorten,) = by_action(tasks, "SHORTEN")
    shortened = kinds.shorten_results(shorten)
    assert len(shortened) == 5 and shortened[0].startswith("a very long")
    (video,) = by_action(tasks, "VIDEO")
    assert len(video.video_links) == 4 and all(v.endswith(".mp4") for v in video.video_links)
    if flavor == "trueai":
        assert video.parent_id in sim.seeded_ids
        assert video.image_url == video.video_links[0]  # trueai: imageUrl is the MP4 link


async def test_a_modal_continued_is_shown_moving_on(sim, flavor):
    if flavor == "novicezk":
        pytest.skip("midjourney-proxy v2 has no MODAL, no /submit/action, no /submit/modal")
    tasks = await all_tasks(sim)
    async with client_for(sim) as client:
        # The demo's continued Vary (Region): a MODAL row and one that moved on.
        continued = [t for t in tasks.values() if t.has_mask]
        assert len(continued) == 1 and continued[0].status is Status.SUCCESS
        fetched = await client.fetch(continued[0].id)
        # new-api's fetch keeps answering the first row (MODAL); the client asks the batch
        # route once and shows the row that moved. trueai: the same id went on.
        assert fetched == continued[0]
        assert continued[0].action == ("INPAINT" if flavor == "newapi" else "VARIATION")
        # A fresh Custom Zoom, continued through the client.
        upscale = next(t for t in tasks.values() if t.action == "UPSCALE" and t.buttons)
        zoom = next(b for b in upscale.buttons if b.kind == "custom_zoom")
        opened = await client.submit_action(upscale.id, zoom.custom_id)
        assert opened.opened_modal and action_outcome(opened, upscale.id, opens_modal=True) == (
            "modal"
        )
        modal = await client.fetch(opened.task_id)
        assert modal.status is Status.MODAL and kinds.modal_kind(modal) == "zoom"
        assert modal.action == ("CUSTOM_ZOOM" if flavor == "newapi" else "ZOOM")
        assert (await client.submit_modal(modal.id, "a boat --zoom 1.5")).code == 1
        sim.engine.clock.advance(8)  # past the queue phases
        moved = (await client.fetch_many([modal.id]))[modal.id]
        assert isinstance(moved, Task) and moved.status is Status.IN_PROGRESS
        assert (await client.fetch(modal.id)).status is Status.IN_PROGRESS
        raw = await client._send("GET", f"{sim.url}/mj/task/{modal.id}/fetch")
        assert json.loads(raw.body)["status"] == ("MODAL" if flavor == "newapi" else "IN_PROGRESS")


async def test_trueai_modal_kinds_without_custom_id(sim, flavor):
    if flavor != "trueai":
        pytest.skip("trueai's shapes")
    tasks = await all_tasks(sim)
    async with client_for(sim) as client:
        upscale = next(t for t in tasks.values() if t.action == "UPSCALE" and t.buttons)
        region = next(b for b in upscale.buttons if b.kind == "inpaint")
        opened = await client.submit_action(upscale.id, region.custom_id)
        modal = await client.fetch(opened.task_id)
    assert (modal.action, modal.custom_id, modal.prompt) == ("VARIATION", "", "")
    assert kinds.modal_kind(modal) == "region" and modal.progress is None
    assert modal.parent_id == upscale.id


async def test_the_other_header_style_is_tried_once_and_named(sim, flavor):
    wrong = "mj-api-secret" if RIGHT_AUTH[flavor] == "bearer" else "bearer"
    async with client_for(sim, auth=wrong) as client:
        found = await client.fetch_many(sim.seeded_ids[:3])
        assert all(isinstance(t, Task) for t in found.values())
        if flavor == "newapi":  # new-api reads mj-api-secret when Authorization is empty
            assert client.auth_switched is None
        else:
            assert client.auth_switched == RIGHT_AUTH[flavor]
            assert f'auth = "{RIGHT_AUTH[flavor]}"' in client.auth_note()
    before = sim.stats()["total"]
    async with client_for(sim, key="wrong-key-0a1b") as client:
        with pytest.raises(AuthError) as caught:
            await client.fetch_many(sim.seeded_ids[:3])
    message = str(caught.value)
    assert "MJ_K" in message and '"bearer"' in message and '"mj-api-secret"' in message
    assert "wrong-key-0a1b" not in message
    # One try with the other style, no more (novicezk: the batch probe's 404, then one fetch
    # per id, the first of them tried again).
    assert sim.stats()["total"] - before == (2 if flavor != "novicezk" else 1 + 3 + 1)


async def test_refused_buttons_and_the_bookmark(sim, flavor):
    if flavor == "novicezk":
        pytest.skip("no buttons on midjourney-proxy v2")
    tasks = await all_tasks(sim)
    (describe,) = by_action(tasks, "DESCRIBE")
    reader = next(b for b in describe.buttons if b.custom_id == "MJ::Job::PicReader::2")
    async with client_for(sim) as client:
        await client.fetch(describe.id)
        result = await client.submit_action(describe.id, reader.custom_id)
        if flavor == "newapi":
            assert result.refused_button and result.code == 4
            assert "does not take this button" in answer_problem(result)
            assert action_outcome(result, describe.id) == "refused"
            assert kinds.refusal(reader, client.family, client.refused_prefixes)
            (shorten,) = by_action(tasks, "SHORTEN")
            assert all(kinds.refusal(b, client.family) for b in shorten.buttons)
        else:
            assert result.code == 1 and action_outcome(result, describe.id) == "new"
            assert kinds.refusal(reader, client.family, client.refused_prefixes) is None
        upscale = next(t for t in tasks.values() if t.action == "UPSCALE" and t.buttons)
        hearts = [b for b in upscale.buttons if b.custom_id == "MJ::BOOKMARK"]
        if flavor == "trueai":
            result = await client.submit_action(upscale.id, hearts[0].custom_id)
            assert result.bookmarked and result.task_id == upscale.id
            assert action_outcome(result, upscale.id) == "bookmarked"
        else:
            assert hearts == []


def test_status_json_carries_the_results(sim, flavor, tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "MJ_K": KEY,
    }
    config = tmp_path / "mjdash.toml"
    config.write_text(f'[api]\nkey_env = "MJ_K"\nauth = "{RIGHT_AUTH[flavor]}"\n')
    command = [sys.executable, "-m", "mjdash", "--config", str(config), "status", "--json"]
    done = subprocess.run(
        [*command, "--base-url", sim.url, *sim.seeded_ids],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    rows = {row["id"]: row for row in map(json.loads, done.stdout.splitlines())}
    assert set(rows) == set(sim.seeded_ids)
    (describe,) = [r for r in rows.values() if r["action"] == "DESCRIBE"]
    assert len(describe["suggestions"]) == 4 and describe["promptEn"]
    assert "finalPrompt" in describe and "description" in describe
    if flavor != "novicezk":
        (shorten,) = [r for r in rows.values() if r["action"] == "SHORTEN"]
        assert len(shorten["shortened"]) == 5
        (video,) = [r for r in rows.values() if r["action"] == "VIDEO"]
        assert len(video["videoUrls"]) == 4
    assert KEY not in done.stdout + done.stderr


async def test_the_other_style_is_tried_on_the_same_host_only(sim, flavor):
    """A 401 from another host (another port) is not tried again with the other style."""
    if flavor != "trueai":
        pytest.skip("one flavor is enough")
    with SimServer(key=KEY, flavor="trueai") as other:
        async with client_for(sim, auth="bearer") as client:
            answer = await client._send("GET", f"{other.url}/mj/task/{UNKNOWN}/fetch")
            assert answer.status == 401 and client.auth_switched is None
            assert other.stats()["total"] == 1
            await client.fetch_many(sim.seeded_ids[:1])  # its own host: tried, and it works
            assert client.auth_switched == "mj-api-secret"


def test_status_prints_the_auth_setting_to_save(sim, flavor, tmp_path):
    if flavor != "novicezk":
        pytest.skip("one flavor is enough")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MJ_K": KEY}
    for name in ("CONFIG", "CACHE", "DATA", "STATE"):
        env[f"XDG_{name}_HOME"] = str(tmp_path / name.lower())
    config = tmp_path / "mjdash.toml"
    config.write_text('[api]\nkey_env = "MJ_K"\n')  # auth left at "bearer": the wrong style
    command = [sys.executable, "-m", "mjdash", "--config", str(config), "status", "--json"]
    done = subprocess.run(
        [*command, "--base-url", sim.url, sim.seeded_ids[0]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["id"] == sim.seeded_ids[0]
    assert 'set auth = "mj-api-secret" in the config file\'s [api] section' in done.stderr
    assert KEY not in done.stderr
