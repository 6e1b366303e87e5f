"""The board's view (model/view.py BoardView) without Textual: which tasks pass the view, their
counts for the summary line, when a poll re-places rows, and what an empty view says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from mjdash.model.board import Board
from mjdash.model.view import ViewState
from tests.unit.test_board import NOW, result, task

MOMENT = datetime.fromtimestamp(NOW, UTC)


@dataclass(frozen=True)
class Entry:  # a watchlist entry as the view reads it
    id: str
    parent: str = ""
    label: str = ""


def watched(board: Board, *tasks) -> list[Entry]:
    entries = [Entry(t.id) for t in tasks]
    board.apply(result(tasks), {e.id for e in entries}, NOW)
    return entries


def ids(rows) -> list[str]:
    return [row.id for row in rows]


def test_with_nothing_filtered_out_the_members_are_counted_once_as_everything():
    board = Board()
    entries = watched(board, task("a"), task("b", "SUCCESS", "100%"), task("c", "FAILURE", "0%"))
    view = board.view
    assert ids(view.arrange(entries, (), MOMENT)) == ["a", "b", "c"]
    assert view.stats is board.everything  # one BatchStats for a poll to update
    summary = view.recount(NOW)
    assert (summary.total, summary.done, summary.failed, summary.running) == (3, 1, 1, 1)
    assert (view.shown, view.total) == (3, 3)


def test_a_quick_filter_counts_only_its_members_and_a_poll_updates_them():
    board = Board()
    entries = watched(board, task("a"), task("b"), task("c", "FAILURE", "0%"))
    view = board.view
    assert view.set_state(ViewState(show="unfinished"))
    assert not view.set_state(ViewState(show="unfinished"))  # the same view: nothing to do
    assert ids(view.arrange(entries, (), MOMENT)) == ["a", "b"]
    assert view.stats is not board.everything
    assert (view.recount(NOW).total, view.shown, view.total) == (2, 2, 3)

    # b finishes: it leaves "unfinished", so the rows must be placed again.
    changes = board.apply(result([task("b", "SUCCESS", "100%")]), {"a", "b", "c"}, NOW + 1)
    assert view.count_changes(changes.changed, lambda _id: "")
    assert view.recount(NOW + 1).done == 1  # counted before the re-place
    assert ids(view.arrange(entries, (), MOMENT)) == ["a"]
    assert (view.recount(NOW + 1).total, view.recount(NOW + 1).done) == (1, 0)
    assert board.everything.count("done") == 1  # "batch complete" still counts every task

    # a moves on inside the view: recounted, no re-place.
    changes = board.apply(result([task("a", progress="80%")]), {"a", "b", "c"}, NOW + 2)
    assert not view.count_changes(changes.changed, lambda _id: "")


def test_the_text_filter_reads_the_label_and_a_sort_re_places_on_any_member_change():
    board = Board()
    entries = [Entry("a", label="cats"), Entry("b", label="dogs")]
    board.apply(result([task("a"), task("b")]), {"a", "b"}, NOW)
    view = board.view
    view.set_state(ViewState(text="dogs"))
    assert ids(view.arrange(entries, (), MOMENT)) == ["b"]
    labels = {e.id: e.label for e in entries}
    changes = board.apply(result([task("a", progress="90%")]), {"a", "b"}, NOW + 1)
    assert not view.count_changes(changes.changed, labels.__getitem__)  # a stays out
    view.set_state(ViewState(sort="progress"))
    view.arrange(entries, (), MOMENT)
    changes = board.apply(result([task("b", progress="95%")]), {"a", "b"}, NOW + 2)
    assert view.count_changes(changes.changed, labels.__getitem__)


def test_an_empty_view_says_why_and_how_to_undo_it():
    board = Board()
    entries = watched(board, task("a"), task("b"))
    view = board.view
    view.arrange(entries, (), MOMENT)
    assert view.hides_everything(rows_shown=2) == ""
    view.set_state(ViewState(text="zebra", show="failed"))
    rows = view.arrange(entries, (), MOMENT)
    assert rows == [] and view.recount(NOW).total == 0
    said = view.hides_everything(rows_shown=len(rows))
    assert said.splitlines() == [
        "The view hides all 2 tasks: filter 'zebra' · only failed.",
        "Esc clears the filter; / changes it.",
        "f shows another set (only failed now).",
    ]
    assert Board().view.hides_everything(rows_shown=0) == ""  # nothing watched: nothing hidden


def test_an_export_takes_the_rows_shown_then_the_members_folded_away():
    board = Board()
    entries = [Entry("p"), Entry("k", parent="p"), Entry("q")]
    board.apply(result([task("p"), task("k"), task("q")]), {"p", "k", "q"}, NOW)
    view = board.view
    rows = view.arrange(entries, {"p"}, MOMENT)  # p folded: k is not a row
    assert ids(rows) == ["p", "q"]
    assert view.export_order(ids(rows)) == ["p", "q", "k"]


def test_ids_no_longer_watched_leave_the_counts_and_the_stall_clocks():
    board = Board()
    entries = watched(board, task("a"), task("b"))
    view = board.view
    view.arrange(entries, (), MOMENT)
    board.stalls.check(NOW + 10_000)  # both stalled
    assert set(board.stalls.stalled) == {"a", "b"}
    view.arrange(entries[:1], (), MOMENT)
    assert view.arranged_ids == {"a"} and len(board.everything) == 1
    assert set(board.stalls.stalled) == {"a"}
    assert view.recount(NOW + 10_000).stalled == 1
