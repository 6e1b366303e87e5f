"""The view (mjdash/model/view.py) with issue 12's server answers: the filter finds what the
prompt cell shows (promptEn, finalPrompt, "blend"), trueai's parentId places a hand-added id
under its watched parent, and the elapsed sort uses the board's clocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mjdash.model.task import Task, parse_task
from mjdash.model.view import ViewState, arrange, lineage_parent, matches, with_server_parents

NOW = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    id: str
    parent: str = ""
    label: str = ""


def parsed(data: dict) -> Task:
    task = parse_task(data, data["id"])
    assert isinstance(task, Task)
    return task


def test_the_text_filter_matches_prompt_en_final_prompt_and_blend():
    state = ViewState(text="lighthouse")
    describe = parsed({"id": "1", "action": "SHORTEN", "prompt": "", "promptEn": "a lighthouse"})
    final = parsed(
        {"id": "2", "action": "IMAGINE", "prompt": "", "properties": {"finalPrompt": "lighthouse"}}
    )
    assert matches(state, "1", describe) and matches(state, "2", final)
    blend = parsed({"id": "3", "action": "BLEND", "prompt": ""})
    assert matches(ViewState(text="blend"), "3", blend)
    assert not matches(ViewState(text="blend"), "2", final)


def test_a_hand_added_child_hangs_under_the_parent_its_task_names():
    entries = [Entry("p"), Entry("x"), Entry("c")]  # c was added by hand: no parent in the file
    tasks = {"c": parsed({"id": "c", "parentId": "p"})}
    rows, members = arrange(entries, (), ViewState(), tasks=tasks)
    assert [(row.id, row.depth) for row in rows] == [("p", 0), ("c", 1), ("x", 0)]
    assert members == ["p", "x", "c"]
    assert entries[2].parent == ""  # the entries themselves are not changed


def test_the_watchlists_own_watched_parent_wins_and_an_unwatched_server_parent_is_ignored():
    assert lineage_parent("own", "server", {"own", "server"}) == "own"
    assert lineage_parent("gone", "server", {"server"}) == "server"
    assert lineage_parent("", "server", set()) == ""
    entries = [Entry("p"), Entry("q"), Entry("c", parent="q")]
    tasks = {"c": parsed({"id": "c", "parentId": "p"})}
    assert with_server_parents(entries, tasks) is entries  # nothing to change: the same list
    alone = [Entry("c")]
    assert with_server_parents(alone, tasks) is alone  # its parent is not watched


def test_the_elapsed_sort_uses_the_clock_it_is_given():
    entries = [Entry("a"), Entry("b")]
    begun = int((NOW - timedelta(hours=2)).timestamp() * 1000)
    tasks = {
        # Both failed with no finish time: without the board both would run to now.
        "a": parsed({"id": "a", "status": "FAILURE", "submitTime": begun, "startTime": begun}),
        "b": parsed({"id": "b", "status": "FAILURE", "submitTime": begun + 1000}),
    }
    seen = {"a": NOW - timedelta(hours=1, minutes=59), "b": NOW - timedelta(minutes=1)}

    def elapsed(task_id: str, task: Task, now: datetime):
        return task.elapsed(now, first_seen_final=seen[task_id])

    rows, _ = arrange(entries, (), ViewState(sort="elapsed"), tasks=tasks, now=NOW, elapsed=elapsed)
    assert [row.id for row in rows] == ["b", "a"]  # b ran longest before it was seen failed
