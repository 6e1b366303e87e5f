"""CacheWriter: poll results reach the task cache off the UI thread, coalesced."""

from __future__ import annotations

import dataclasses
import time

from mjdash.model.task import Status, Task
from mjdash.store.cache import TaskCache
from mjdash.store.cache_writer import CacheWriter


def task(task_id: str, status: Status, progress: int | None = None) -> Task:
    return Task(id=task_id, status=status, status_raw=status.value, progress=progress)


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_running_snapshots_wait_and_the_newest_is_written_on_close(tmp_path):
    cache = TaskCache(tmp_path / "tasks.sqlite3")
    writer = CacheWriter(cache, delay=3600, urgent_delay=3600)
    first = task("1773314942177001", Status.IN_PROGRESS, 10)
    writer.put([first])
    writer.put([dataclasses.replace(first, progress=55)])
    assert writer.pending == 1  # coalesced: one row for the task
    assert cache.load([first.id]) == {}  # not written yet: nothing blocked the caller
    writer.close()
    assert cache.load([first.id])[first.id].progress == 55
    # After close, a put writes at once (nothing is left queued at exit).
    writer.put([dataclasses.replace(first, progress=60)])
    assert cache.load([first.id])[first.id].progress == 60
    cache.close()


def test_finished_tasks_are_written_soon(tmp_path):
    cache = TaskCache(tmp_path / "tasks.sqlite3")
    writer = CacheWriter(cache, delay=3600, urgent_delay=0.01)
    running = task("1773314942177002", Status.IN_PROGRESS, 30)
    done = task("1773314942177003", Status.SUCCESS, 100)
    writer.put([running, done])
    # A finished task is what saves requests on the next start: it goes out within the
    # urgent delay; the running snapshot waits for its own (a running batch has a task
    # finishing on most polls: each must not write every running snapshot with it).
    assert wait_for(lambda: done.id in cache.load([done.id]))
    assert running.id not in cache.load([running.id])
    assert writer.pending == 1
    writer.close()  # on exit, what is left is written
    assert running.id in cache.load([running.id])
    cache.close()


def test_running_snapshots_go_out_on_their_own_delay_newest_first(tmp_path):
    cache = TaskCache(tmp_path / "tasks.sqlite3")
    writer = CacheWriter(cache, delay=0.2, urgent_delay=3600)
    first = task("1773314942177002", Status.IN_PROGRESS, 30)
    writer.put([first])
    writer.put([task("1773314942177002", Status.IN_PROGRESS, 45)])
    assert wait_for(lambda: first.id in cache.load([first.id]))
    assert cache.load([first.id])[first.id].progress == 45  # the newest snapshot won
    # Finished after running: the final snapshot replaces the queued running one.
    writer.put([task("1773314942177004", Status.IN_PROGRESS, 10)])
    writer.put([task("1773314942177004", Status.SUCCESS, 100)])
    writer.close()
    assert cache.load(["1773314942177004"])["1773314942177004"].status is Status.SUCCESS
    cache.close()


def test_not_found_answers_are_written_urgently_and_the_newest_answer_wins(tmp_path):
    cache = TaskCache(tmp_path / "tasks.sqlite3")
    writer = CacheWriter(cache, delay=3600, urgent_delay=0.01)
    gone, back = "1773314942177011", "1773314942177012"
    writer.put([], not_found=[gone, back])
    assert wait_for(lambda: cache.load_not_found([gone, back]) == {gone, back})
    # Answered in a later poll: the snapshot replaces the mark.
    writer.put([task(back, Status.SUCCESS)])
    assert wait_for(lambda: cache.load_not_found([gone, back]) == {gone})
    assert cache.load([back])[back].status is Status.SUCCESS
    writer.close()
    cache.close()


def test_queued_answers_for_one_id_coalesce_to_the_newest(tmp_path):
    cache = TaskCache(tmp_path / "tasks.sqlite3")
    writer = CacheWriter(cache, delay=3600, urgent_delay=3600)
    first, second = "1773314942177021", "1773314942177022"
    writer.put([], not_found=[first])
    writer.put([task(first, Status.IN_PROGRESS, 5)])  # answered after all
    writer.put([task(second, Status.IN_PROGRESS, 5)])
    writer.put([], not_found=[second])  # then gone
    assert writer.pending == 2
    writer.close()
    assert cache.load_not_found([first, second]) == {second}
    assert set(cache.load([first, second])) == {first}
    cache.close()
