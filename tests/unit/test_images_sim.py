"""The simulator's images (mjdash/sim/images.py): every format at any size, a grid's four
images, video tasks with MP4 bytes and WebP thumbnails; read back over real HTTP."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image as PILImage

from mjdash.media.images import decode, sniff
from mjdash.model.task import parse_task
from mjdash.sim import images as sim_images


def fetch_task(sim, task_id: str) -> dict:
    answer = httpx.get(f"{sim.url}/mj/task/{task_id}/fetch", headers={"Authorization": "k"})
    return answer.json()


def finished_grid(sim) -> str:
    ids = sim.engine.seed_demo()
    return next(
        i
        for i in ids
        if sim.engine.status(i) == "SUCCESS" and fetch_task(sim, i)["action"] == "IMAGINE"
    )


@pytest.mark.parametrize(
    ("fmt", "media_type", "kind"),
    [("png", "image/png", "png"), ("jpeg", "image/jpeg", "jpg"), ("webp", "image/webp", "webp")],
)
def test_images_are_served_in_the_asked_format_and_size(sim, fmt, media_type, kind):
    sim.engine.image_size, sim.engine.image_format = 512, fmt
    task = fetch_task(sim, finished_grid(sim))
    answer = httpx.get(task["imageUrl"])
    assert answer.status_code == 200 and answer.headers["content-type"] == media_type
    assert sniff(answer.content) == kind
    image = PILImage.open(io.BytesIO(answer.content))
    assert image.size == (512, 512)
    # Four distinct quadrants, decodable by the dashboard's decoder.
    small = decode(answer.content, max_side=64)
    corners = {small.pixel(12, 12), small.pixel(52, 12), small.pixel(12, 52), small.pixel(52, 52)}
    assert len(corners) == 4


def test_mixed_picks_a_format_per_task_and_the_default_stays_small_png(sim):
    assert {sim_images.format_for("mixed", seed) for seed in range(6)} == {"png", "jpeg", "webp"}
    task = fetch_task(sim, finished_grid(sim))
    data = httpx.get(task["imageUrl"]).content
    assert sniff(data) == "png" and PILImage.open(io.BytesIO(data)).size == (128, 128)


def test_a_finished_grid_lists_its_four_images(sim):
    task = fetch_task(sim, finished_grid(sim))
    links = [item["url"] for item in task["imageUrls"]]
    assert len(links) == 4
    colors = set()
    for link in links:
        image = decode(httpx.get(link).content)
        colors.add(image.pixel(image.width // 2, image.height // 2))
    assert len(colors) == 4  # each is one quadrant of the grid
    assert parse_task(task).image_urls == tuple(links)


def test_video_tasks_serve_mp4_bytes_and_webp_thumbnails(sim):
    video_id = sim.engine.place_video()
    task = fetch_task(sim, video_id)
    assert task["action"] == "VIDEO" and task["status"] == "SUCCESS"
    link = task["videoUrls"][0]
    mp4 = httpx.get(link["url"])
    assert mp4.headers["content-type"] == "video/mp4" and sniff(mp4.content) == "mp4"
    assert task["videoUrl"] == link["url"]
    thumb = httpx.get(link["thumbnail"])
    assert thumb.headers["content-type"] == "image/webp" and sniff(thumb.content) == "webp"
    parsed = parse_task(task)
    assert parsed.video_thumbnails[0] == link["thumbnail"]


def test_unknown_parts_are_not_found(sim):
    grid = finished_grid(sim)
    assert httpx.get(f"{sim.url}/mj/image/{grid}~9").status_code == 404
    assert httpx.get(f"{sim.url}/mj/image/{grid}~mp4").status_code == 404  # not a video
