"""The task cache keyed by server: one server's task never answers for another; v1 migrates."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from mjdash.model.task import Status, Task
from mjdash.store import cached_status
from mjdash.store.cache import SCHEMA_VERSION, TaskCache

A = "1712345678901234"
B = "1712345678901235"
COMET = "https://api.cometapi.com"
PROXY = "http://192.0.2.10:8080/mj-fast"


def task(task_id: str, status: Status, prompt: str) -> Task:
    return Task(task_id, status, status.value, "IMAGINE", prompt=prompt)


def test_a_task_cached_from_one_server_never_answers_for_another(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite3"
    with TaskCache(path, server=COMET) as comet:
        comet.put_many([task(A, Status.SUCCESS, "from comet")])
    with TaskCache(path, server=PROXY) as proxy:
        assert proxy.load([A]) == {} and proxy.load_all() == {} and len(proxy) == 0
        proxy.put_many([task(A, Status.IN_PROGRESS, "from the proxy")])
        assert proxy.load([A])[A].prompt == "from the proxy"
    with TaskCache(path, server=COMET + "/") as comet:  # a trailing slash is the same server
        assert comet.load([A])[A].prompt == "from comet"
    # The mode prefix is part of the server: /mj-fast and /mj-relax are two.
    with TaskCache(path, server="http://192.0.2.10:8080/mj-relax") as relax:
        assert relax.load([A]) == {}
    assert cached_status.cached_tasks(path, [A], COMET)[A].prompt == "from comet"
    assert cached_status.cached_tasks(path, [A], PROXY)[A].prompt == "from the proxy"
    assert cached_status.cached_statuses(path, [A], PROXY) == {A: "IN_PROGRESS"}
    assert cached_status.cached_counts(path, [A], "http://other.invalid").total == 1
    assert cached_status.cached_counts(path, [A], "http://other.invalid").done == 0
    # forget() drops an id whatever server it came from (it is no longer watched).
    with TaskCache(path, server=COMET) as comet:
        comet.forget([A])
    assert cached_status.cached_tasks(path, [A], PROXY) == {}


def _old_cache(path: Path) -> None:
    """A version-1 cache file as mjdash wrote it before servers were part of the key."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE tasks (id TEXT PRIMARY KEY, json TEXT NOT NULL, updated REAL NOT NULL)"
    )
    for task_id, status in ((A, "SUCCESS"), (B, "FAILURE")):
        row = {"id": task_id, "status": status, "action": "IMAGINE", "prompt": f"old {task_id}"}
        db.execute("INSERT INTO tasks VALUES (?, ?, 0)", (task_id, json.dumps(row)))
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()


def test_an_old_cache_migrates_and_the_configured_server_adopts_it(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite3"
    _old_cache(path)
    # Read-only readers (status --cached) see the old rows before any migration.
    assert cached_status.cached_statuses(path, [A, B], COMET) == {A: "SUCCESS", B: "FAILURE"}
    with TaskCache(path, server=COMET) as cache:
        assert cache.error is None and cache.moved_aside is None
        assert {i: t.prompt for i, t in cache.load([A, B]).items()} == {
            A: f"old {A}",
            B: f"old {B}",
        }
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert sorted(db.execute("SELECT server, id FROM tasks")) == [(COMET, A), (COMET, B)]
    db.close()
    with TaskCache(path, server=PROXY) as other:  # adopted: no longer anyone's
        assert other.load([A, B]) == {}
    assert cached_status.cached_tasks(path, [A], PROXY) == {}
    assert cached_status.cached_tasks(path, [A], COMET)[A].status is Status.SUCCESS


# --- not-found answers -----------------------------------------------------------------------


def test_not_found_answers_are_kept_per_server_and_cleared_when_the_task_is_answered(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tasks.sqlite3"
    with TaskCache(path, server=COMET) as comet:
        comet.put_many([task(A, Status.SUCCESS, "was there")])
        comet.put_many([], not_found=[A, B])
        assert comet.load_not_found([A, B, "1712345678909999"]) == {A, B}
        assert comet.load([A])[A].prompt == "was there"  # the last snapshot stays (export)
    # --cached: the mark wins over the older snapshot; every id in exactly one bucket.
    counts = cached_status.cached_counts(path, [A, B, "1712345678909999"], COMET)
    assert (counts.total, counts.missing, counts.done, counts.unpolled) == (3, 2, 0, 1)
    tasks, not_found = cached_status.cached_answers(path, [A, B], COMET)
    assert not_found == {A, B} and set(tasks) == {A}
    # Another server never saw those answers.
    assert cached_status.cached_counts(path, [A, B], PROXY).missing == 0
    with TaskCache(path, server=PROXY) as proxy:
        assert proxy.load_not_found([A, B]) == set()
    # Answered later: the mark goes in the same write; a task and a mark in one batch: the task.
    with TaskCache(path, server=COMET) as comet:
        comet.put_many([task(B, Status.IN_PROGRESS, "there now")], not_found=[B])
        assert comet.load_not_found([A, B]) == {A}
    counts = cached_status.cached_counts(path, [A, B], COMET)
    assert (counts.missing, counts.running, counts.total) == (1, 1, 2)
    # forget() drops the marks with the snapshots.
    with TaskCache(path, server=COMET) as comet:
        comet.forget([A])
        assert comet.load_not_found([A]) == set()


def test_a_cache_from_before_the_not_found_table_reads_as_no_marks(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite3"
    with TaskCache(path, server=COMET) as comet:
        comet.put_many([task(A, Status.SUCCESS, "old")])
    db = sqlite3.connect(path)
    db.execute("DROP TABLE not_found")  # as a version-2 cache written before this change
    db.commit()
    db.close()
    counts = cached_status.cached_counts(path, [A, B], COMET)
    assert (counts.done, counts.missing, counts.unpolled) == (1, 0, 1)
    assert cached_status.cached_answers(path, [A], COMET)[1] == set()
    with TaskCache(path, server=COMET) as comet:  # opening it adds the table, keeps the rows
        assert comet.load([A])[A].prompt == "old"
        comet.put_many([], not_found=[B])
        assert comet.load_not_found([B]) == {B}
