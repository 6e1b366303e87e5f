"""One digest a poll (model/notify.py) without Textual: what it holds, "batch complete" once,
stalls told only while they last, and the words each channel gets."""

from __future__ import annotations

from mjdash.model.notify import Channels, DigestKeeper, plan

A, B, C = "1773314942177001", "1773314942177002", "1773314942177003"


def test_nothing_to_tell_is_no_digest():
    keeper = DigestKeeper()
    assert (
        keeper.digest([], [], [], still_stalled=(), finished=False, total=3, failed_total=0) is None
    )


def test_batch_complete_is_told_once_and_only_when_a_poll_finished_something():
    keeper = DigestKeeper()
    # Already finished at start (nothing finished in this poll): no "batch complete".
    assert (
        keeper.digest([], [], [], still_stalled=(), finished=True, total=2, failed_total=0) is None
    )
    keeper = DigestKeeper()
    first = keeper.digest([A], [B], [], still_stalled=(), finished=True, total=2, failed_total=1)
    assert first is not None and first.batch_complete
    assert (
        first.text() == "1 done, 1 failed: …42177002, …42177001\nBatch complete: 2 tasks, 1 failed"
    )
    again = keeper.digest([A], [], [], still_stalled=(), finished=True, total=2, failed_total=1)
    assert again is not None and not again.batch_complete  # once
    # A task added later un-finishes the batch; when it finishes, the batch completes again.
    assert keeper.digest([], [], [C], still_stalled=(), finished=False, total=3, failed_total=1)
    last = keeper.digest([C], [], [], still_stalled=(), finished=True, total=3, failed_total=1)
    assert last is not None and last.batch_complete


def test_new_stalls_are_told_once_and_not_when_they_moved_again_meanwhile():
    keeper = DigestKeeper()
    keeper.stalled([A, B])
    digest = keeper.digest([], [], [], still_stalled={A}, finished=False, total=3, failed_total=0)
    assert digest is not None and digest.stalled == (A,)  # B moved on before the digest
    assert (
        keeper.digest([], [], [], still_stalled={A}, finished=False, total=3, failed_total=0)
        is None
    )


def test_each_channel_gets_its_events():
    keeper = DigestKeeper()
    keeper.stalled([C])
    digest = keeper.digest([A], [B], [], still_stalled={C}, finished=False, total=3, failed_total=1)
    assert digest is not None
    chosen = plan(digest, Channels(bell=frozenset({"failed"}), toast=frozenset({"done"})))
    assert chosen.bell and chosen.toast == "1 done: …42177001" and chosen.desktop == ""
    assert chosen.events == {"done", "failed", "stalled"}
