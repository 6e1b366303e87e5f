"""The status-transition journal (mjdash/journal.py): real files, append-only, bounded."""

from __future__ import annotations

import json
import os
import stat

from mjdash.store import paths
from mjdash.store.journal import Journal, JournalWriter, Record, default_path

A, B = "1773314942177001", "1773314942177002"


def test_records_round_trip_through_json_lines(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    records = [
        Record(1773314942.5, A, None, "NOT_START", 0),
        Record(1773314950.25, A, "NOT_START", "IN_PROGRESS", 12),
        Record(1773314951.0, B, None, "SUBMITTED", None),
    ]
    assert journal.append(records)
    assert journal.append([])  # nothing to write is fine
    assert journal.read() == records
    lines = (tmp_path / "j.jsonl").read_text().splitlines()
    assert json.loads(lines[1]) == {
        "ts": "2026-03-12T11:29:10.250+00:00",
        "id": A,
        "from": "NOT_START",
        "to": "IN_PROGRESS",
        "progress": 12,
    }
    assert journal.latest() == {A: records[1], B: records[2]}
    assert journal.latest([B]) == {B: records[2]}
    assert stat.S_IMODE(os.stat(tmp_path / "j.jsonl").st_mode) == 0o600


def test_default_path_is_in_the_user_state_dir_and_private():
    journal = Journal()
    assert journal.path == default_path() == paths.state_dir() / "journal.jsonl"
    assert journal.append([Record(1.0e9, A, None, "SUBMITTED", None)])
    assert stat.S_IMODE(os.stat(journal.path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(journal.path).st_mode) == 0o600


def test_bad_and_torn_lines_are_skipped(tmp_path):
    path = tmp_path / "j.jsonl"
    good = Record(1773314942.0, A, None, "SUCCESS", 100)
    path.write_text(
        "\n".join(
            [
                "not json",
                "[1, 2]",
                json.dumps({"ts": "2026-03-12T11:29:02+00:00", "id": "12", "to": "X"}),  # bad id
                json.dumps({"ts": "yesterday", "id": A, "to": "X"}),
                json.dumps(
                    {"ts": "2026-03-12T11:29:02+00:00", "id": A, "to": "X", "progress": 101}
                ),
                json.dumps({"ts": "2026-03-12T11:29:02+00:00", "id": A, "to": "X" * 41}),
                good.to_line(),
                '{"ts": "2026-03-12T11:29:0',  # torn by a crash mid-write
            ]
        )
    )
    assert Journal(path).read() == [good]


def test_the_file_is_rotated_so_the_journal_stays_bounded(tmp_path):
    journal = Journal(tmp_path / "j.jsonl", max_bytes=2000)
    for n in range(200):
        assert journal.append([Record(1773314942.0 + n, A, "SUBMITTED", "IN_PROGRESS", n % 100)])
    current = tmp_path / "j.jsonl"
    rotated = tmp_path / "j.jsonl.1"
    assert current.stat().st_size <= 2000 and rotated.stat().st_size <= 2000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.jsonl", "j.jsonl.1"]
    records = journal.read()
    assert 0 < len(records) < 200
    assert records[-1].progress == 199 % 100  # the newest line is kept
    assert [r.ts for r in records] == sorted(r.ts for r in records)


def test_a_file_grown_past_the_bound_is_read_from_its_tail(tmp_path):
    path = tmp_path / "j.jsonl"
    lines = [Record(1773314942.0 + n, A, None, "SUBMITTED", n % 100).to_line() for n in range(300)]
    path.write_text("\n".join(lines) + "\n")
    records = Journal(path, max_bytes=1000).read()
    assert records and records[-1].ts == 1773314942.0 + 299
    assert len(records) < 20


def test_an_unwritable_place_is_an_error_not_a_crash(tmp_path):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")  # fails even for root
    journal = Journal(blocker / "j.jsonl")
    assert journal.append([Record(1.0e9, A, None, "SUBMITTED", None)]) is False
    assert journal.error and journal.error.startswith("journal not written")
    assert journal.read() == []


def test_the_writer_appends_off_the_thread_in_order_and_close_writes_the_rest(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    writer = JournalWriter(journal)
    batches = [[Record(1773314942.0 + n, A, None, "SUBMITTED", n)] for n in range(50)]
    for batch in batches:
        writer.put(batch)
    writer.put([])
    writer.close()
    assert [r.progress for r in journal.read()] == list(range(50))
    writer.put([Record(1773314999.0, B, None, "SUCCESS", 100)])  # after close: at once
    assert journal.latest([B])[B].progress == 100


def test_latest_goes_by_time_when_two_dashboards_interleave(tmp_path):
    path = tmp_path / "j.jsonl"
    newer = Record(1773315000.0, A, "SUBMITTED", "IN_PROGRESS", 40)
    older = Record(1773314000.0, A, None, "SUBMITTED", None)
    path.write_text(newer.to_line() + "\n" + older.to_line() + "\n")
    assert Journal(path).latest() == {A: newer}
