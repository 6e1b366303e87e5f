"""The task cache: round trips, private files, and never a crash over a bad file."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mjdash.model.task import Button, Status, Task, parse_task
from mjdash.sim.engine import Engine, ManualClock
from mjdash.store.cache import TaskCache

A = "1712345678901234"
B = "1712345678901235"


def sample_task(task_id: str = A, **changes) -> Task:
    fields = {
        "id": task_id,
        "status": Status.IN_PROGRESS,
        "status_raw": "IN_PROGRESS",
        "action": "IMAGINE",
        "progress": 42,
        "submit_time": datetime(2026, 3, 12, 10, 0, 0, tzinfo=UTC),
        "start_time": datetime(2026, 3, 12, 10, 0, 5, tzinfo=UTC),
        "prompt": "a lighthouse\nat dusk",
        "final_prompt": "a lighthouse at dusk --v 6.1",
        "image_url": "https://cdn.example/x.png",
        "buttons": (Button("MJ::JOB::upsample::1::abc", "U1"),),
    }
    fields.update(changes)
    return Task(**fields)


def engine_tasks(kind: str = "demo", n: int = 0) -> list[Task]:
    engine = Engine(clock=ManualClock(), seed=3, fail_rate=0.0)
    ids = {"demo": engine.seed_demo, "hostile": engine.seed_hostile}[kind]() if not n else None
    ids = ids or engine.seed_tasks(n)
    tasks = [parse_task(engine.task_json(i)) for i in ids]
    assert all(isinstance(t, Task) for t in tasks)
    return tasks  # type: ignore[return-value]


def test_round_trip(tmp_path: Path) -> None:
    tasks = engine_tasks("demo") + engine_tasks("hostile") + [sample_task()]
    with TaskCache(tmp_path / "tasks.sqlite3") as cache:
        cache.put_many(tasks)
        ids = [t.id for t in tasks]
        loaded = cache.load([*ids, "1999999999999999"])
        assert loaded == {t.id: t for t in tasks}
        assert cache.load_all() == loaded
        assert len(cache) == len(tasks)
    # A new process sees the same.
    with TaskCache(tmp_path / "tasks.sqlite3") as again:
        assert again.load(ids) == {t.id: t for t in tasks}
        assert again.error is None


def test_newer_snapshot_replaces_older_and_forget_drops(tmp_path: Path) -> None:
    cache = TaskCache(tmp_path / "c.sqlite3")
    cache.put_many([sample_task(A), sample_task(B)])
    done = sample_task(A, status=Status.SUCCESS, status_raw="SUCCESS", progress=100)
    cache.put(done)
    assert cache.load([A])[A] == done
    cache.forget([B, "nope"])
    assert set(cache.load_all()) == {A}
    assert cache.load([]) == {}
    cache.put_many([])
    cache.close()
    cache.close()
    assert cache.load([A]) == {}  # closed: empty, no exception


def test_default_location_and_private_modes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = TaskCache()
    cache.put_many([sample_task()])
    assert cache.path == tmp_path / "xdg" / "mjdash" / "tasks.sqlite3"
    assert cache.path.stat().st_mode & 0o777 == 0o600
    assert cache.path.parent.stat().st_mode & 0o777 == 0o700
    wal = cache.path.with_name("tasks.sqlite3-wal")
    assert wal.exists() and wal.stat().st_mode & 0o777 == 0o600
    assert cache.load([A])[A] == sample_task()
    cache.close()


@pytest.mark.parametrize(
    "garbage",
    [b"this is not a database" * 100, b"SQLite format 3\x00" + b"\xff" * 5000, b"\x00" * 4096],
)
def test_corrupt_file_is_moved_aside_and_recreated(tmp_path: Path, garbage: bytes) -> None:
    path = tmp_path / "tasks.sqlite3"
    path.write_bytes(garbage)
    cache = TaskCache(path)
    cache.put_many([sample_task()])
    assert cache.load([A]) == {A: sample_task()}
    assert cache.moved_aside is not None and cache.moved_aside.read_bytes() == garbage
    assert "corrupt" in (cache.error or "")
    assert path.stat().st_mode & 0o777 == 0o600
    cache.close()


def test_corruption_found_while_running_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite3"
    with TaskCache(path) as cache:
        cache.put_many(engine_tasks(n=300))
    cache = TaskCache(path)
    # Another program scribbles over the data pages behind the open connection.
    with path.open("r+b") as raw:
        raw.seek(4096)
        raw.write(b"\xa5" * (path.stat().st_size - 4096))
    assert cache.load_all() == {}  # unreadable: treated as empty, no exception
    assert cache.error
    cache.put_many([sample_task()])
    assert cache.load([A]) == {A: sample_task()}
    cache.close()
    assert list(tmp_path.glob("tasks.sqlite3.corrupt-*"))


def test_other_schema_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE tasks (something INTEGER)")
    db.execute("INSERT INTO tasks VALUES (1)")
    db.commit()
    db.close()
    with TaskCache(path) as cache:
        cache.put_many([sample_task()])
        assert cache.load([A]) == {A: sample_task()}


def test_bad_rows_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite3"
    with TaskCache(path) as cache:
        cache.put_many([sample_task(A)])
    db = sqlite3.connect(path)
    db.executemany(
        "INSERT INTO tasks VALUES ('', ?, ?, 0)",
        [(B, "{not json"), ("1712345678901236", "[1, 2]"), ("1712345678901237", '{"id": "1"}')],
    )
    db.commit()
    db.close()
    with TaskCache(path) as cache:
        assert set(cache.load_all()) == {A}


def test_unusable_location_falls_back_to_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cache = TaskCache(blocker / "tasks.sqlite3")  # its folder cannot exist
    assert cache.error and "memory" in cache.error
    cache.put_many([sample_task()])
    assert cache.load([A]) == {A: sample_task()}
    cache.close()


def test_two_caches_on_one_file_see_each_other(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite3"
    first, second = TaskCache(path), TaskCache(path)
    first.put_many([sample_task(A)])
    second.put_many([sample_task(B)])
    assert set(first.load([A, B])) == {A, B}
    assert set(second.load_all()) == {A, B}
    first.close()
    second.close()


def test_ten_thousand_tasks_round_trip(tmp_path: Path) -> None:
    # Past SQLite's variable limit, in chunks. The time it takes: tests/perf/bench_components.py.
    templates = engine_tasks(n=200)
    tasks = [replace(templates[i % 200], id=str(1_800_000_000_000_000 + i)) for i in range(10_000)]
    with TaskCache(tmp_path / "tasks.sqlite3") as cache:
        cache.put_many(tasks)
        loaded = cache.load([t.id for t in tasks])
        assert len(cache) == 10_000
    assert len(loaded) == 10_000
    assert loaded[tasks[0].id] == tasks[0]
    assert loaded[tasks[-1].id] == tasks[-1]
