"""The watchlist shared between processes: refresh_from_disk() picks up what another process
saved (`mjdash add` / `mjdash rm` in another shell) and keeps this process's unsaved edits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mjdash.store.watchlist import Watchlist, WatchlistError

ROOT = Path(__file__).resolve().parents[2]
A = "1712345678901234"
B = "1712345678901235"
C = "1712345678901236"
D = "1712345678901237"
E = "1712345678901238"


def mjdash(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A real second process: the installed CLI, with a private config and data folder."""
    env = dict(os.environ)
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "cfg"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    for name in ("MJDASH_CONFIG", "MJDASH_BASE_URL", "MJDASH_WATCHLIST"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "mjdash", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unchanged_file_is_one_stat_and_no_change(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    first = Watchlist.load(path)
    first.add([A])
    first.save()
    assert first.refresh_from_disk() == ([], [], [])  # our own save: read once, no change
    assert not first.disk_changed()
    version = first._version
    assert not first.refresh_from_disk()
    assert first._version == version  # nothing re-read, nothing redrawn


def test_two_objects_on_one_file(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    seed = Watchlist.load(path)
    seed.add([A, B, C])
    seed.save()
    dashboard = Watchlist.load(path)
    other = Watchlist.load(path)
    assert not dashboard.refresh_from_disk()

    # The dashboard's own unsaved edits: adds D, removes B, labels A, dismisses C.
    dashboard.add([D])
    dashboard.remove([B])
    dashboard.set_label(A, "mine")
    dashboard.set_dismissed(C, True)
    # Meanwhile another process: adds E, removes D (which it never had: no-op) and C,
    # re-labels A, presses a button of A, and saves.
    other.add([E])
    other.remove([C])
    other.set_label(A, "theirs")
    other.mark_used(A, "MJ::JOB::upsample::1::x")
    other.save()

    assert dashboard.disk_changed()
    change = dashboard.refresh_from_disk()
    assert change.added == [E]
    assert change.removed == [C]  # removed elsewhere, only marked here: the removal wins
    assert change.changed == [A]
    assert dashboard.ids == [A, E, D]  # the unsaved add D kept, the unsaved remove B kept
    assert dashboard.get(A).label == "mine"  # a label set here wins
    assert dashboard.get(A).used == ["MJ::JOB::upsample::1::x"]  # used: the union
    assert dashboard.dirty

    dashboard.save()
    assert Watchlist.load(path).ids == [A, E, D]
    other.refresh_from_disk()
    assert other.ids == [A, E, D] and other.get(A).label == "mine"


def test_an_id_added_here_survives_a_removal_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    here = Watchlist.load(path)
    there = Watchlist.load(path)
    there.add([A])
    there.save()
    here.refresh_from_disk()
    here.remove([A])
    here.add([A])  # removed and added again here, unsaved
    there.remove([A])
    there.save()
    change = here.refresh_from_disk()
    assert A in here.ids and A not in change.removed


def test_a_file_mid_hand_edit_raises_once_and_keeps_memory(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    here = Watchlist.load(path)
    here.add([A])
    here.save()
    path.write_text('version = 1\n[[tasks]\nid = "1712"\n')
    with pytest.raises(WatchlistError) as caught:
        here.refresh_from_disk()
    assert caught.value.line == 2
    assert here.ids == [A]
    assert not here.refresh_from_disk()  # once per change of the file, not on every poll
    assert here.broken is None
    path.write_text(f'version = 1\n[[tasks]]\nid = "{A}"\n[[tasks]]\nid = "{B}"\n')
    assert here.refresh_from_disk().added == [B]


def test_file_deleted_and_recreated(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    here = Watchlist.load(path)
    assert not here.refresh_from_disk()  # no file yet, nothing to merge
    there = Watchlist.load(path)
    there.add([A])
    there.save()
    assert here.refresh_from_disk().added == [A]


def test_real_second_process_running_mjdash_add_and_rm(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    dashboard = Watchlist.load(path)
    dashboard.add([A, B])
    dashboard.save()
    dashboard.add([C])  # unsaved edits held while the other shell works
    dashboard.set_label(A, "hero")

    added = mjdash(tmp_path, "add", D, E, "--label", "from the shell", "--watchlist", str(path))
    assert added.returncode == 0, added.stderr
    removed = mjdash(tmp_path, "rm", B, "--watchlist", str(path))
    assert removed.returncode == 0, removed.stderr

    change = dashboard.refresh_from_disk()
    assert change.added == [D, E] and change.removed == [B]
    assert dashboard.ids == [A, D, E, C]
    assert dashboard.get(A).label == "hero" and dashboard.get(D).label == "from the shell"
    dashboard.save()
    listed = mjdash(tmp_path, "ls", "--json", "--watchlist", str(path))
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [A, D, E, C]
