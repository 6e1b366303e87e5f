"""The watchlist file: round trips, hand edits, crashes, full disks, two writers
(docs/reliability.md S1-S5)."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mjdash.model.task import clean
from mjdash.store import atomic
from mjdash.store.watchlist import Entry, Watchlist, WatchlistError

ROOT = Path(__file__).resolve().parents[2]
A = "1712345678901234"
B = "1712345678901235"
C = "1712345678901236"
D = "17123456789012345678"  # 20 digits, the longest id


def temp_litter(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# --- basics ----------------------------------------------------------------------------------


def test_missing_file_is_an_empty_watchlist(tmp_path: Path) -> None:
    watchlist = Watchlist.load(tmp_path / "nope" / "watchlist.toml")
    assert len(watchlist) == 0
    assert watchlist.ids == []
    assert not watchlist.dirty
    watchlist.save()  # nothing to write: no file, no folder
    assert not (tmp_path / "nope").exists()


def test_round_trip_keeps_order_and_fields(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.toml"
    watchlist = Watchlist.load(path)
    assert watchlist.add([B, A], label="hero shot") == [B, A]
    assert watchlist.add([C], parent=B) == [C]
    watchlist.mark_used(B, "MJ::JOB::upsample::1::abc")
    watchlist.mark_used(B, "MJ::JOB::upsample::1::abc")  # twice: once in the list
    watchlist.set_dismissed(A, True)
    watchlist.set_label(C, "detail\x1b[31m pass")
    watchlist.view = {"sort": "added", "filter": {"status": ["FAILURE"]}}
    assert watchlist.dirty
    watchlist.save()
    assert not watchlist.dirty

    again = Watchlist.load(path)
    assert again.ids == [B, A, C]
    assert again.entries == watchlist.entries
    assert again.get(B).used == ["MJ::JOB::upsample::1::abc"]
    assert again.get(A).dismissed is True
    assert again.get(C).parent == B
    assert again.get(C).label == "detail [31m pass"  # ESC made inert on the way in
    assert again.view == {"sort": "added", "filter": {"status": ["FAILURE"]}}
    assert again.warnings == []
    assert isinstance(again.get(A).added, datetime) and again.get(A).added.tzinfo is not None

    doc = tomllib.loads(path.read_text())
    assert doc["version"] == 1
    # Optional keys only when set.
    assert set(doc["tasks"][0]) == {"id", "added", "label", "used"}
    assert set(doc["tasks"][1]) == {"id", "added", "label", "dismissed"}
    assert set(doc["tasks"][2]) == {"id", "added", "label", "parent"}


def test_file_and_folder_are_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "watchlist.toml"
    watchlist = Watchlist.load(path)
    watchlist.add([A])
    watchlist.save()
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert temp_litter(path.parent) == []


def test_add_validates_ids_and_skips_known_ones(tmp_path: Path) -> None:
    watchlist = Watchlist.load(tmp_path / "w.toml")
    assert watchlist.add(A) == [A]  # a single id as a string
    assert watchlist.add([A, B, B, D]) == [B, D]
    with pytest.raises(ValueError, match="'12345' is not a task id"):
        watchlist.add([C, "12345"])
    assert C not in watchlist  # all or nothing
    with pytest.raises(ValueError, match="not a task id"):
        watchlist.add(["1712345678901234x"])
    with pytest.raises(ValueError, match="parent"):
        watchlist.add([C], parent="abc")
    assert watchlist.remove([A, C]) == [A]
    assert watchlist.ids == [B, D]
    assert len(watchlist) == 2
    assert [e.id for e in watchlist] == [B, D]
    assert B in watchlist and A not in watchlist and 5 not in watchlist


def test_changing_an_unknown_id_is_a_key_error(tmp_path: Path) -> None:
    watchlist = Watchlist.load(tmp_path / "w.toml")
    for call in (
        lambda: watchlist.mark_used(A, "x"),
        lambda: watchlist.set_dismissed(A, True),
        lambda: watchlist.set_label(A, "x"),
    ):
        with pytest.raises(KeyError):
            call()
    assert not watchlist.dirty


def test_no_op_changes_do_not_make_it_dirty(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    watchlist = Watchlist.load(path)
    watchlist.add([A], label="x")
    watchlist.save()
    watchlist.add([A])
    watchlist.set_label(A, "x")
    watchlist.set_dismissed(A, False)
    watchlist.remove([B])
    watchlist.view = {}
    assert not watchlist.dirty


def test_view_is_validated_and_copied(tmp_path: Path) -> None:
    watchlist = Watchlist.load(tmp_path / "w.toml")
    with pytest.raises(ValueError, match="TOML"):
        watchlist.view = {"filter": None}
    with pytest.raises(TypeError):
        watchlist.view = ["sort"]  # type: ignore[assignment]
    watchlist.view = {"sort": "id"}
    copy = watchlist.view
    copy["sort"] = "changed"
    assert watchlist.view == {"sort": "id"}


_ids = st.from_regex(r"1[5-9][0-9]{14,18}", fullmatch=True)  # a plausible ms time first
_custom_ids = st.text(min_size=1, max_size=40).map(lambda t: clean(t, 500, single_line=True))
_entries = st.lists(
    st.tuples(
        _ids,
        st.text(max_size=60),
        st.lists(_custom_ids.filter(bool), max_size=4),
        st.booleans(),
        st.one_of(st.just(""), _ids),
    ),
    max_size=12,
    unique_by=lambda e: e[0],
)
_view_values = st.one_of(
    st.text(max_size=20),
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=False),
    st.lists(st.integers(0, 9), max_size=3),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=_entries, view=st.dictionaries(st.text(max_size=10), _view_values, max_size=4))
def test_any_valid_watchlist_round_trips(entries, view) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "watchlist.toml"
        watchlist = Watchlist.load(path)
        for task_id, label, used, dismissed, parent in entries:
            watchlist.add([task_id], label=label, parent=parent)
            for custom_id in used:
                watchlist.mark_used(task_id, custom_id)
            watchlist.set_dismissed(task_id, dismissed)
        watchlist.view = view
        watchlist.save()
        again = Watchlist.load(path)
        assert again.warnings == []
        assert again.ids == [e[0] for e in entries]
        assert again.entries == watchlist.entries
        assert again.view == view
        for task_id, label, used, dismissed, parent in entries:
            entry = again.get(task_id)
            assert entry.label == clean(label, 200, single_line=True)
            assert entry.used == list(dict.fromkeys(used))
            assert entry.dismissed == dismissed
            assert entry.parent == parent


# --- hand edits and corrupt files (S3) -------------------------------------------------------


def test_S3_corrupt_file_is_reported_copied_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "watchlist.toml"
    broken = f'version = 1\n\n[[tasks]]\nid = "{A}"\nlabel = "unterminated\n'.encode()
    path.write_bytes(broken)
    with pytest.raises(WatchlistError) as caught:
        Watchlist.load(path)
    error = caught.value
    assert str(error).startswith(f"{path}:5:")
    assert (error.line, error.col) == (5, 22)
    assert error.copy is not None and error.copy.name.startswith("watchlist.toml.corrupt-")
    assert error.copy.read_bytes() == broken
    assert error.copy.stat().st_mode & 0o777 == 0o600

    # The app goes on in memory; saving is refused and the file stays as the user left it.
    watchlist = error.watchlist
    assert watchlist is not None and watchlist.broken
    watchlist.add([B])
    with pytest.raises(WatchlistError, match="not saved"):
        watchlist.save()
    assert B in watchlist and watchlist.dirty
    assert path.read_bytes() == broken

    # Reopening the same broken file does not pile up copies.
    with pytest.raises(WatchlistError):
        Watchlist.load(path)
    assert len(list(tmp_path.glob("watchlist.toml.corrupt-*"))) == 1


def test_S3_end_of_document_error_and_bad_utf8_have_positions(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_bytes(b"version = 1\ntasks = [\n")
    with pytest.raises(WatchlistError) as caught:
        Watchlist.load(path)
    assert (caught.value.line, caught.value.col) == (3, 1)
    path.write_bytes(b'version = 1\nlabel = "caf\xe9"\n')
    with pytest.raises(WatchlistError, match=r"w\.toml:2:13: not valid UTF-8"):
        Watchlist.load(path)


def test_S3_file_corrupted_after_load_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    watchlist = Watchlist.load(path)
    watchlist.add([A])
    watchlist.save()
    path.write_text("version = 1\n[[tasks]\n")  # a hand edit gone wrong while mjdash runs
    watchlist.add([B])
    with pytest.raises(WatchlistError) as caught:
        watchlist.save()
    assert caught.value.line == 2
    assert path.read_text() == "version = 1\n[[tasks]\n"
    assert caught.value.copy is not None and caught.value.copy.exists()
    assert watchlist.ids == [A, B]
    with pytest.raises(WatchlistError, match="not saved"):
        watchlist.save()


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("version = 1\ntasks = 5\n", ":2:1:", "tasks must be an array of tables"),
        ("version = 2\n", ":1:1:", "newer mjdash"),
        ('version = "1"\n', ":1:1:", "version must be an integer"),
        ("view = 3\n", ":1:1:", "view must be a table"),
        ("tasks = [1, 2]\n", ":1:1:", "item 1 is not"),
    ],
)
def test_S3_wrong_shape_is_an_error(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = tmp_path / "w.toml"
    path.write_text(text)
    with pytest.raises(WatchlistError, match=message) as caught:
        Watchlist.load(path)
    assert str(caught.value).startswith(str(path) + where)
    assert path.read_text() == text
    copies = list(tmp_path.glob("w.toml.corrupt-*"))
    assert len(copies) == (0 if "newer" in message else 1)  # a newer format is not corrupt


def test_unreadable_path_is_a_watchlist_error(tmp_path: Path) -> None:
    (tmp_path / "w.toml").mkdir()
    with pytest.raises(WatchlistError, match="it is a folder") as caught:
        Watchlist.load(tmp_path / "w.toml")
    assert str(caught.value).startswith(f"{tmp_path / 'w.toml'}: could not read")
    assert caught.value.watchlist is not None


def test_S3_bad_entries_are_warned_skipped_and_kept_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text(
        f"""version = 1

[[tasks]]
id = "{A}"
added = 2024-04-05T10:11:12Z

[[tasks]]
id = "12345"

[[tasks]]
id = {B}

[[tasks]]
id = "{C}"
label = 7

[[tasks]]
id = "{A}"
label = "again"

[[tasks]]
id = "{D}"
lable = "typo"
added = 2024-04-05
"""
    )
    watchlist = Watchlist.load(path)
    assert watchlist.ids == [A, D]
    warnings = "\n".join(watchlist.warnings)
    assert f"{path}:8:1: task 2: id '12345' is not a task id" in warnings
    assert (
        f"{path}:11:1: task 3: id must be a string, got an integer (put it in quotes)" in warnings
    )
    assert f"{path}:15:1: task 4: label must be a string" in warnings
    assert f"{path}:17: task {A} is listed twice" in warnings
    assert f"{path}:23:1: task {D}: unknown key 'lable' (kept; did you mean 'label'?)" in warnings
    assert len(watchlist.warnings) == 5
    assert watchlist.get(D).added == datetime(2024, 4, 5, tzinfo=UTC)

    watchlist.add([C])  # C is a new, valid entry; the broken C table stays as it was
    watchlist.save()
    doc = tomllib.loads(path.read_text())
    kept = [t["id"] for t in doc["tasks"]]
    assert kept == [A, "12345", int(B), C, D, C]  # bad ones kept in place, duplicate dropped
    assert doc["tasks"][2] == {"id": int(B)}
    assert doc["tasks"][4]["lable"] == "typo"


def test_unknown_top_level_keys_survive_a_save(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text('version = 1\nnote = "mine"\n[plugins]\nx = 1\n')
    watchlist = Watchlist.load(path)
    assert any("unknown key 'note'" in w for w in watchlist.warnings)
    watchlist.add([A])
    watchlist.save()
    doc = tomllib.loads(path.read_text())
    assert doc["note"] == "mine" and doc["plugins"] == {"x": 1}
    assert [t["id"] for t in doc["tasks"]] == [A]


def test_hand_written_id_list_and_local_times_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text(f'tasks = ["{A}", "{B}"]\n')
    watchlist = Watchlist.load(path)
    assert watchlist.ids == [A, B]
    path.write_text(f'[[tasks]]\nid = "{C}"\nadded = 2024-01-02T03:04:05\n')
    entry = Watchlist.load(path).get(C)
    assert entry.added.tzinfo is not None
    assert entry.added == datetime(2024, 1, 2, 3, 4, 5).astimezone(UTC)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300))
def test_load_of_any_bytes_raises_only_watchlist_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "w.toml"
        path.write_bytes(data)
        try:
            Watchlist.load(path)
        except WatchlistError as error:
            assert str(error).startswith(str(path))
        assert path.read_bytes() == data


_toml_scalars = st.one_of(
    st.text(max_size=25),
    _ids,
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.dates(),
)
_toml_values = st.recursive(
    _toml_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
_task_tables = st.dictionaries(
    st.sampled_from(["id", "added", "label", "parent", "used", "dismissed", "other"]),
    _toml_values,
)
_documents = st.fixed_dictionaries(
    {"tasks": st.lists(_task_tables | _ids, max_size=5)},
    optional={
        "version": st.sampled_from([1, 0, 2, "1"]),
        "view": st.dictionaries(st.text(max_size=8), _toml_values, max_size=3),
        "extra": _toml_values,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_documents)
def test_whatever_loads_can_be_saved_and_loads_the_same(doc) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "w.toml"
        path.write_text(tomli_w.dumps(doc))
        try:
            watchlist = Watchlist.load(path)
        except WatchlistError:
            return
        watchlist.add(["1999999999999999"])
        watchlist.save()
        again = Watchlist.load(path)
        assert again.ids == watchlist.ids
        assert again.entries == watchlist.entries
        # Everything warned about is kept in the file, except duplicates, dropped on save.
        kept = [w for w in watchlist.warnings if "listed twice" not in w]
        assert len(again.warnings) == len(kept)


# --- symlinks (S5) and merging (S4) ----------------------------------------------------------


def test_S5_symlink_is_kept_and_its_target_updated(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "watchlist.toml"
    real.parent.mkdir()
    link = tmp_path / "watchlist.toml"
    link.symlink_to(real)
    watchlist = Watchlist.load(link)
    watchlist.add([A])
    watchlist.save()
    watchlist.add([B])
    watchlist.save()
    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    assert Watchlist.load(real).ids == [A, B]
    assert (real.parent / "watchlist.toml.lock").exists()  # lock beside the real file
    assert temp_litter(tmp_path) == [] and temp_litter(real.parent) == []


def test_S4_two_objects_merge_instead_of_overwriting(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    first = Watchlist.load(path)
    first.add([A, B])
    first.save()
    second = Watchlist.load(path)

    first.add([C])
    first.remove([A])
    first.save()
    second.add([D])
    second.mark_used(A, "MJ::JOB::variation::1::x")  # A is gone on disk: nothing to mark
    second.set_label(B, "kept")
    second.view = {"sort": "status"}
    second.save()

    assert second.ids == [B, C, D]  # sees the other's add and remove after saving
    assert Watchlist.load(path).ids == [B, C, D]
    assert Watchlist.load(path).get(B).label == "kept"
    first.reload()
    assert first.ids == [B, C, D] and first.view == {"sort": "status"}


def test_S4_reload_keeps_unsaved_changes(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    first = Watchlist.load(path)
    second = Watchlist.load(path)
    second.add([A])
    second.save()
    first.add([B])
    first.reload()
    assert first.ids == [A, B] and first.dirty
    first.save()
    assert Watchlist.load(path).ids == [A, B]


_WRITER = """
import os, sys, time
from mjdash.store.watchlist import Watchlist
path, tag, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
watchlist = Watchlist.load(path)
base = 1_800_000_000_000_000 + tag * 1000
for i in range(50):
    watchlist.add([str(base + i)])
    watchlist.save()
    if i % 3 == 2:
        watchlist.remove([str(base + i - 1)])
        watchlist.save()
    if i == 25:
        watchlist.mark_used(sys.argv[4], f"MJ::JOB::upsample::{tag}::x")
        watchlist.save()
    # After a save this object holds the merge: count the rounds it saw the other writer.
    other = str(1_800_000_000_000_000 + (3 - tag) * 1000)[:-3]
    overlap = sum(1 for x in watchlist.ids if x.startswith(other))
    seen_other = locals().get("seen_other", 0) + (1 if overlap and i < 49 else 0)
print(seen_other)
"""


def test_S4_two_processes_adding_and_removing_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    seeded = Watchlist.load(path)
    seeded.add([A, B])
    seeded.save()
    go = tmp_path / "go"
    writers = [run_python(_WRITER, str(path), str(tag), str(go), A) for tag in (1, 2)]
    assert [w.stdout.readline().strip() for w in writers] == ["ready", "ready"]
    go.touch()
    rounds_seeing_the_other = 0
    for writer in writers:
        out, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err
        rounds_seeing_the_other += int(out)
    assert rounds_seeing_the_other > 0  # the two really ran at the same time

    expected = {A, B}
    for tag in (1, 2):
        base = 1_800_000_000_000_000 + tag * 1000
        expected |= {str(base + i) for i in range(50)}
        expected -= {str(base + i - 1) for i in range(50) if i % 3 == 2}
    final = Watchlist.load(path)
    assert set(final.ids) == expected
    assert len(final.ids) == len(expected)
    assert sorted(final.get(A).used) == ["MJ::JOB::upsample::1::x", "MJ::JOB::upsample::2::x"]
    assert temp_litter(tmp_path) == []


# --- crashes (S1) and failing disks (S2) -----------------------------------------------------

_SAVER = """
import sys
from mjdash.store.watchlist import Watchlist
base = 1_900_000_000_000_000
watchlist = Watchlist.load(sys.argv[1])
done = sum(1 for i in watchlist.ids if i.startswith("19"))
print("ready", flush=True)
while True:
    watchlist.add([str(base + done)])
    watchlist.save()
    done += 1
"""


def test_S1_sigkill_during_saves_leaves_old_or_new_version(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    seed = Watchlist.load(path)
    seed_ids = [str(1_700_000_000_000_000 + i) for i in range(2000)]
    seed.add(seed_ids, label="a label long enough to make each save take a while")
    seed.save()
    rng = random.Random(7)
    seen_litter = 0
    last = 0
    for _ in range(10):
        saver = run_python(_SAVER, str(path))
        assert saver.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.15))
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        saver.stdout.close()
        saver.stderr.close()
        seen_litter += len(temp_litter(tmp_path))
        # What is on disk parses and is exactly one of the versions written.
        doc = tomllib.loads(path.read_text())
        ids = [t["id"] for t in doc["tasks"]]
        written = ids[len(seed_ids) :]
        assert ids[: len(seed_ids)] == seed_ids
        assert written == [str(1_900_000_000_000_000 + i) for i in range(len(written))]
        assert len(written) >= last
        last = len(written)
    assert last > 0
    # After a restart (the dead savers' temp files are a few seconds old by then) none is left.
    for name in temp_litter(tmp_path):
        os.utime(tmp_path / name, (time.time() - 60, time.time() - 60))
    watchlist = Watchlist.load(path)
    assert temp_litter(tmp_path) == []
    assert watchlist.warnings == []
    print(f"temp files left by killed savers: {seen_litter}")


def test_S1_stale_temp_cleanup_spares_live_and_young_writers(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    old = time.time() - 60
    names = {
        "dead_old": f".w.toml.tmp-{dead_pid}-ab12cd34",
        "dead_young": f".w.toml.tmp-{dead_pid}-ffff0000",
        "alive_old": f".w.toml.tmp-{os.getpid()}-00000000",
        "other_file": f".other.toml.tmp-{dead_pid}-ab12cd34",
        "not_ours": ".w.toml.tmp-notapid",
    }
    for key, name in names.items():
        (tmp_path / name).write_text("x")
        if key != "dead_young":
            os.utime(tmp_path / name, (old, old))
    Watchlist.load(path)
    left = {p.name for p in tmp_path.iterdir()}
    assert names["dead_old"] not in left
    assert {names[k] for k in ("dead_young", "alive_old", "other_file", "not_ours")} <= left


def _fail(monkeypatch: pytest.MonkeyPatch, name: str, code: int, when=lambda *a: True) -> None:
    real = getattr(os, name)

    def failing(*args, **kwargs):
        if when(*args):
            raise OSError(code, os.strerror(code))
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, failing)


def _saved_once(tmp_path: Path) -> tuple[Path, Watchlist, bytes]:
    path = tmp_path / "w.toml"
    watchlist = Watchlist.load(path)
    watchlist.add([A])
    watchlist.save()
    return path, watchlist, path.read_bytes()


def test_S2_disk_full_keeps_the_original_and_the_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, watchlist, before = _saved_once(tmp_path)
    watchlist.add([B, C])
    _fail(monkeypatch, "write", errno.ENOSPC)
    with pytest.raises(WatchlistError, match="the disk is full"):
        watchlist.save()
    assert watchlist.unsaved_changes() == ([B, C], [], 0)  # kept in memory, and said
    assert path.read_bytes() == before
    assert watchlist.ids == [A, B, C] and watchlist.dirty
    assert temp_litter(tmp_path) == []
    monkeypatch.undo()
    watchlist.save()
    assert Watchlist.load(path).ids == [A, B, C]
    assert not watchlist.dirty


def test_S2_failed_rename_keeps_the_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, watchlist, before = _saved_once(tmp_path)
    watchlist.remove([A])
    _fail(monkeypatch, "replace", errno.EIO)
    with pytest.raises(WatchlistError, match="could not save"):
        watchlist.save()
    assert path.read_bytes() == before
    assert temp_litter(tmp_path) == []
    assert watchlist.ids == []
    monkeypatch.undo()
    watchlist.save()
    assert Watchlist.load(path).ids == []


def test_S2_read_only_folder_keeps_the_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, watchlist, before = _saved_once(tmp_path)
    watchlist.add([B])
    folder = str(tmp_path)

    def creates_in_folder(target, flags, *rest) -> bool:
        return str(target).startswith(folder) and bool(flags & (os.O_CREAT | os.O_WRONLY))

    _fail(monkeypatch, "open", errno.EROFS, creates_in_folder)
    with pytest.raises(WatchlistError, match="read-only"):
        watchlist.save()
    assert path.read_bytes() == before
    assert watchlist.ids == [A, B] and watchlist.dirty
    monkeypatch.undo()
    watchlist.save()
    assert Watchlist.load(path).ids == [A, B]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_S2_read_only_folder_for_real(tmp_path: Path) -> None:
    path, watchlist, before = _saved_once(tmp_path)
    watchlist.add([B])
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(WatchlistError, match=r"permission denied|read-only"):
            watchlist.save()
    finally:
        tmp_path.chmod(0o700)
    assert path.read_bytes() == before
    watchlist.save()
    assert Watchlist.load(path).ids == [A, B]


def test_S4_a_held_lock_times_out_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, watchlist, before = _saved_once(tmp_path)
    watchlist.add([B])
    real_lock = atomic.exclusive_lock
    monkeypatch.setattr(atomic, "exclusive_lock", lambda p, **kw: real_lock(p, timeout=0.05, **kw))
    with real_lock(tmp_path / "w.toml.lock"), pytest.raises(WatchlistError, match="another"):
        watchlist.save()
    assert path.read_bytes() == before
    watchlist.save()
    assert Watchlist.load(path).ids == [A, B]


# --- size --------------------------------------------------------------------------------------


def test_ten_thousand_entries_round_trip(tmp_path: Path) -> None:
    # How long it takes: tests/perf/bench_components.py.
    path = tmp_path / "w.toml"
    ids = [str(1_700_000_000_000_000 + i) for i in range(10_000)]
    watchlist = Watchlist.load(path)
    watchlist.add(ids, label="batch")
    for task_id in ids[::2]:
        watchlist.mark_used(task_id, "MJ::JOB::upsample::1::x")
    watchlist.save()
    again = Watchlist.load(path)
    again.remove(ids[:5000])
    again.save()
    final = Watchlist.load(path)
    assert final.ids == ids[5000:]


def test_entry_dataclass_defaults() -> None:
    entry = Entry(id=A, added=datetime.now(UTC))
    assert (entry.label, entry.parent, entry.used, entry.dismissed) == ("", "", [], False)
