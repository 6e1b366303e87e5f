"""The watchlist: the task ids a user follows, in a TOML file they may also edit by hand.

Saving follows docs/reliability.md, rule 5. Under a sidecar lock the file on disk is read again and
this object's pending operations (adds, removes, marks since its last load or save) are
replayed on top of it, so two mjdash processes sharing a watchlist never lose each other's
updates (S4). The write itself is atomic (S1), goes through symlinks (S5), and a file that
failed to parse is never overwritten (S3): it is copied aside and saving is refused.

File format (version 1):

    version = 1

    [view]                      # UI state (filter, sort...): opaque to this module
    sort = "added"

    [[tasks]]
    id = "1712345678901234"
    added = 2024-04-05T10:11:12+00:00
    label = "hero shot"         # optional keys are written only when set
    parent = "1712345678900000"
    retry_of = "1712345678900000"  # this task resubmits that one's prompt
    used = ["MJ::JOB::upsample::1::..."]
    dismissed = true
"""

from __future__ import annotations

import copy
import difflib
import errno
import hashlib
import re
import threading
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any, NamedTuple

import tomli_w

from mjdash.model.task import clean, is_task_id
from mjdash.store import atomic, paths
from mjdash.store.tomltext import (
    TomlSyntaxError,
    array_table_lines,
    key_line_in_block,
    locate,
    parse_toml,
    type_name,
)

SCHEMA_VERSION = 1
DEFAULT_FILE_NAME = "watchlist.toml"
MAX_LABEL = 200
UNSAVED_SUFFIX = ".unsaved"
MAX_FILE_BYTES = 64 * 1024 * 1024  # ~400,000 entries; /dev/zero-like files stop here
MAX_CUSTOM_ID = 500
_ENTRY_KEYS = ("id", "added", "label", "parent", "retry_of", "used", "dismissed")


def default_path() -> Path:
    return paths.data_dir() / DEFAULT_FILE_NAME


@dataclass
class Entry:
    id: str
    added: datetime
    label: str = ""
    parent: str = ""
    retry_of: str = ""  # the failed or stalled task whose prompt this one resubmitted
    used: list[str] = field(default_factory=list)
    dismissed: bool = False
    # Keys a newer mjdash or a hand edit added: kept as they were, written back unchanged.
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def copy(self) -> Entry:
        return replace(self, used=list(self.used), extra=copy.deepcopy(self.extra))


class WatchlistError(Exception):
    """A watchlist that cannot be read or written; str is `path:line:col: message` or `path: ...`.

    `watchlist` is set when loading failed: an empty in-memory Watchlist for the same path, so
    the app can keep working (it refuses to save over a file that failed to parse).
    `copy` is where the unreadable file was saved aside, if it was.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str,
        line: int | None = None,
        col: int | None = None,
        copy: Path | None = None,
    ) -> None:
        where = f"{path}:{line}:{col}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = Path(path)
        self.line = line
        self.col = col
        self.message = message
        self.copy = copy
        self.watchlist: Watchlist | None = None


class _BadFile(Exception):
    """The file is not a watchlist; never to be overwritten."""

    def __init__(
        self, line: int | None, col: int | None, message: str, *, keep_copy: bool = True
    ) -> None:
        super().__init__(message)
        self.line = line
        self.col = col
        self.message = message
        self.keep_copy = keep_copy  # False when the file is fine, just not ours to read


class _RawKey:
    """Stands in the entry order for a [[tasks]] table that is kept but not understood."""

    __slots__ = ()


class _State:
    """What a watchlist file says: entries (and kept raw tables) in order, view, unknown keys."""

    def __init__(self) -> None:
        self.items: dict[str | _RawKey, Entry | dict[str, Any]] = {}
        self.raw_count = 0
        self.view: dict[str, Any] = {}
        self.extra: dict[str, Any] = {}

    def entry(self, task_id: str) -> Entry | None:
        item = self.items.get(task_id)
        return item if isinstance(item, Entry) else None

    def apply(self, op: tuple) -> bool:
        """Replay one operation; False when it changes nothing here."""
        kind = op[0]
        if kind == "add":
            new: Entry = op[1]
            if new.id in self.items:
                return False
            self.items[new.id] = new.copy()
            return True
        if kind == "view":
            if self.view == op[1]:
                return False
            self.view = copy.deepcopy(op[1])
            return True
        entry = self.entry(op[1])
        if entry is None:
            return False
        if kind == "remove":
            del self.items[op[1]]
        elif kind == "used":
            if op[2] in entry.used:
                return False
            entry.used.append(op[2])
        elif kind == "dismissed":
            if entry.dismissed == op[2]:
                return False
            entry.dismissed = op[2]
        elif kind == "label":
            if entry.label == op[2]:
                return False
            entry.label = op[2]
        return True


# --- reading ---------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class _Locator:
    """Line hints for warnings, computed only when there is something to warn about."""

    def __init__(self, text: str, display: str, count: int) -> None:
        self.text = text
        self.display = display
        self.count = count
        self._headers: list[int] | None = None

    def where(self, index: int, key: str | None = None) -> str:
        if self._headers is None:
            self._headers = array_table_lines(self.text, "tasks")
        if len(self._headers) == self.count:
            line = self._headers[index]
            if key is not None:
                found = key_line_in_block(self.text, line, key)
                if found:
                    return f"{self.display}:{found[0]}:{found[1]}"
            return f"{self.display}:{line}"
        found = locate(self.text, "", "tasks")
        return f"{self.display}:{found[0]}" if found else self.display


def _read_added(value: object) -> datetime | str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            try:
                return value.astimezone(UTC)  # a local date-time: the user's own clock
            except (OverflowError, OSError, ValueError):
                return "added is out of range"
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return f"added must be a date-time, got {type_name(value)}"


def _read_entry(table: dict[str, Any]) -> tuple[Entry | None, str | None, str | None]:
    """(entry, problem, key the problem is about)."""
    task_id = table.get("id")
    if task_id is None:
        return None, "no id", None
    if not isinstance(task_id, str):
        hint = " (put it in quotes)" if isinstance(task_id, int) else ""
        return None, f"id must be a string, got {type_name(task_id)}{hint}", "id"
    if not is_task_id(task_id):
        shown = clean(task_id, 40, single_line=True)
        return None, f"id {shown!r} is not a task id (16-20 digits)", "id"
    added = _read_added(table["added"]) if "added" in table else _now()
    if isinstance(added, str):
        return None, added, "added"
    for key in ("label", "parent", "retry_of"):
        if not isinstance(table.get(key, ""), str):
            return None, f"{key} must be a string, got {type_name(table[key])}", key
    used = table.get("used", [])
    if not isinstance(used, list) or not all(isinstance(u, str) for u in used):
        return None, "used must be an array of strings", "used"
    dismissed = table.get("dismissed", False)
    if not isinstance(dismissed, bool):
        return None, f"dismissed must be true or false, got {type_name(dismissed)}", "dismissed"
    used_clean: list[str] = []
    for custom_id in used:
        custom_id = clean(custom_id, MAX_CUSTOM_ID, single_line=True)
        if custom_id and custom_id not in used_clean:
            used_clean.append(custom_id)
    entry = Entry(
        id=task_id,
        added=added,
        label=clean(table.get("label", ""), MAX_LABEL, single_line=True),
        parent=clean(table.get("parent", ""), 64, single_line=True),
        retry_of=clean(table.get("retry_of", ""), 64, single_line=True),
        used=used_clean,
        dismissed=dismissed,
        extra={k: v for k, v in table.items() if k not in _ENTRY_KEYS},
    )
    return entry, None, None


def _parse_document(data: bytes, display: str) -> tuple[_State, list[str]]:
    """Read a watchlist file. Raises _BadFile for what must not be overwritten."""
    try:
        doc, text = parse_toml(data)
    except TomlSyntaxError as exc:
        raise _BadFile(exc.line, exc.col, exc.message) from None

    def at(section: str, key: str | None = None) -> tuple[int | None, int | None]:
        found = locate(text, section, key)
        return found if found else (None, None)

    version = doc.pop("version", SCHEMA_VERSION)
    if isinstance(version, bool) or not isinstance(version, int):
        raise _BadFile(*at("", "version"), f"version must be an integer, got {type_name(version)}")
    if version > SCHEMA_VERSION:
        raise _BadFile(
            *at("", "version"),
            f"written by a newer mjdash (format version {version}); this one reads version "
            f"{SCHEMA_VERSION}",
            keep_copy=False,
        )
    if version < 1:
        raise _BadFile(*at("", "version"), f"unknown format version {version}")
    state = _State()
    warnings: list[str] = []
    view = doc.pop("view", {})
    if not isinstance(view, dict):
        raise _BadFile(*at("view"), f"view must be a table, got {type_name(view)}")
    state.view = view
    tasks = doc.pop("tasks", [])
    if not isinstance(tasks, list):
        raise _BadFile(
            *at("", "tasks"), f"tasks must be an array of tables, got {type_name(tasks)}"
        )
    for key in doc:
        line, _col = at("", key) if not isinstance(doc[key], dict) else at(key)
        where = f"{display}:{line}" if line else display
        warnings.append(f"{where}: unknown key {key!r} (kept as it is)")
    state.extra = doc
    locator = _Locator(text, display, len(tasks))
    for index, item in enumerate(tasks):
        if isinstance(item, str) and is_task_id(item):
            item = {"id": item}  # a hand-written `tasks = ["1712...", ...]`
        if not isinstance(item, dict):
            line, col = at("", "tasks")
            raise _BadFile(line, col, f"tasks must be an array of tables, item {index + 1} is not")
        entry, problem, key = _read_entry(item)
        if entry is None:
            warnings.append(
                f"{locator.where(index, key)}: task {index + 1}: {problem}; "
                "not watched (kept in the file as it is)"
            )
            state.items[_RawKey()] = item
            state.raw_count += 1
            continue
        if entry.id in state.items:
            warnings.append(f"{locator.where(index)}: task {entry.id} is listed twice; ignored")
            continue
        for unknown in entry.extra:
            close = difflib.get_close_matches(unknown, _ENTRY_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            warnings.append(
                f"{locator.where(index, unknown)}: task {entry.id}: unknown key {unknown!r} "
                f"(kept{hint})"
            )
        state.items[entry.id] = entry
    return state, warnings


# --- writing ---------------------------------------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b"}
_ESCAPE_RE = re.compile(r'[\x00-\x1f"\\\x7f]')


def _toml_string(text: str) -> str:
    return '"' + _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m[0], f"\\u{ord(m[0]):04x}"), text) + '"'


def _entry_table(entry: Entry) -> dict[str, Any]:
    table: dict[str, Any] = {"id": entry.id, "added": entry.added}
    if entry.label:
        table["label"] = entry.label
    if entry.parent:
        table["parent"] = entry.parent
    if entry.retry_of:
        table["retry_of"] = entry.retry_of
    if entry.used:
        table["used"] = list(entry.used)
    if entry.dismissed:
        table["dismissed"] = True
    table.update(entry.extra)
    return table


def _toml_datetime(value: datetime) -> str:
    offset = value.utcoffset()
    if offset is not None and offset % timedelta(minutes=1):
        value = value.astimezone(UTC)  # TOML offsets have no seconds
    return value.isoformat()


_BARE_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY_RE.match(key) else _toml_string(key)


def _toml_inline(value: object) -> str:
    """Any value tomllib can produce, on one line (nested tables as inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(repr(value), repr(value))
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, datetime):
        return _toml_datetime(value)
    if isinstance(value, (date, dt_time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_inline(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = ", ".join(f"{_toml_key(k)} = {_toml_inline(v)}" for k, v in value.items())
        return "{ " + pairs + " }" if pairs else "{}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _table_toml(table: dict[str, Any]) -> str:
    """A [[tasks]] table of any content (kept hand edits): one `key = value` line per key."""
    lines = ["\n[[tasks]]"]
    lines += [f"{_toml_key(k)} = {_toml_inline(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _entry_toml(entry: Entry) -> str:
    if entry.extra:  # rare: keys a hand edit added, of any shape
        return _table_toml(_entry_table(entry))
    # The common case by hand: tomli_w takes ~20 µs an entry, this a few.
    lines = [
        "\n[[tasks]]",
        f"id = {_toml_string(entry.id)}",
        f"added = {_toml_datetime(entry.added)}",
    ]
    if entry.label:
        lines.append(f"label = {_toml_string(entry.label)}")
    if entry.parent:
        lines.append(f"parent = {_toml_string(entry.parent)}")
    if entry.retry_of:
        lines.append(f"retry_of = {_toml_string(entry.retry_of)}")
    if entry.used:
        lines.append("used = [" + ", ".join(_toml_string(u) for u in entry.used) + "]")
    if entry.dismissed:
        lines.append("dismissed = true")
    return "\n".join(lines) + "\n"


def _serialise(state: _State) -> bytes:
    """The whole file, or an exception before anything touches the disk (tomli_w on None)."""
    head: dict[str, Any] = {"version": SCHEMA_VERSION}
    head.update(state.extra)
    if state.view:
        head["view"] = state.view
    parts = [tomli_w.dumps(head)]
    for item in state.items.values():
        if isinstance(item, Entry):
            parts.append(_entry_toml(item))
        else:
            parts.append(_table_toml(item))
    return "".join(parts).encode("utf-8")


def _fingerprint(data: bytes | None) -> bytes | None:
    return None if data is None else hashlib.blake2b(data, digest_size=16).digest()


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, (atomic.LockTimeout, atomic.NotRegularFile, atomic.FileTooLarge)):
        return str(exc.strerror or exc)
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EISDIR: "it is a folder",
        errno.ENOTDIR: "a part of the path is not a folder",
    }
    reason = reasons.get(exc.errno or 0) or exc.strerror or type(exc).__name__
    name = str(exc.filename or "")
    # The temp file's name means nothing to a user; the watchlist's path is already shown.
    return f"{reason} ({name})" if name and ".tmp-" not in name else reason


# --- the watchlist ---------------------------------------------------------------------------


class Watchlist:
    """An ordered set of watched task ids bound to one file.

    Mutators change memory only and record the operation; `save()` writes. Entries returned by
    `entries`/`get`/iteration are live objects: read them, change them through the methods.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.warnings: list[str] = []
        self._state = _State()
        self._ops: list[tuple] = []
        self._synced: bytes | None = None  # fingerprint of the file as last read or written
        self._broken: str | None = None  # why saving is refused
        self._mutex = threading.RLock()
        self._version = 0  # bumped by every change of the entries in memory
        self._children: tuple[int, dict[str, tuple[str, ...]]] | None = None

    # loading ------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str) -> Watchlist:
        """Read the file (missing = empty list). Raises WatchlistError with `.watchlist` set."""
        watchlist = cls(path)
        target = atomic.real_target(watchlist.path)
        atomic.remove_stale_temps(target)
        try:
            data = atomic.read_capped(target, MAX_FILE_BYTES)
        except FileNotFoundError:
            return watchlist
        except OSError as exc:
            error = WatchlistError(f"could not read the watchlist: {_os_reason(exc)}", path=path)
            error.watchlist = watchlist
            raise error from None
        try:
            state, warnings = _parse_document(data, str(watchlist.path))
        except _BadFile as bad:
            error = watchlist._refuse(target, data, bad)
            error.watchlist = watchlist
            raise error from None
        watchlist._state = state
        watchlist.warnings = warnings
        watchlist._synced = _fingerprint(data)
        return watchlist

    def _refuse(self, target: Path, data: bytes, bad: _BadFile) -> WatchlistError:
        """Keep a copy of a file that failed to parse and stop saving over it."""
        saved = None
        note = "mjdash will not change this file"
        if bad.keep_copy:
            try:
                saved = atomic.save_aside(target, data)
                note = f"a copy was saved as {saved.name}; {note} until it is fixed"
            except OSError as exc:
                note = f"a copy could not be saved: {_os_reason(exc)}; {note} until it is fixed"
        message = f"{bad.message} ({note})"
        self._broken = f"{self.path} could not be read ({bad.message}); fix it and restart mjdash"
        return WatchlistError(message, path=self.path, line=bad.line, col=bad.col, copy=saved)

    # reading ------------------------------------------------------------------------------

    @property
    def entries(self) -> list[Entry]:
        return [item for item in self._state.items.values() if isinstance(item, Entry)]

    @property
    def ids(self) -> list[str]:
        return [key for key in self._state.items if isinstance(key, str)]

    def get(self, task_id: str) -> Entry | None:
        return self._state.entry(task_id)

    def id_lookup(self) -> Container[str]:
        """For `task_id in ...` over many ids (a poll's 10,000), without building a set. A live
        view: it follows later changes."""
        return self._state.items

    def children(self, task_id: str) -> tuple[str, ...]:
        """The watched ids whose parent is `task_id`, in watchlist order. From an index built
        once per change of the watchlist (the detail pane asks on every poll)."""
        index = self._children
        if index is None or index[0] != self._version:
            found: dict[str, list[str]] = {}
            for entry in self.entries:
                found.setdefault(entry.parent, []).append(entry.id)
            index = (self._version, {k: tuple(v) for k, v in found.items()})
            self._children = index
        return index[1].get(task_id, ())

    def __contains__(self, task_id: object) -> bool:
        return isinstance(task_id, str) and task_id in self._state.items

    def __len__(self) -> int:
        return len(self._state.items) - self._state.raw_count

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    @property
    def dirty(self) -> bool:
        """True when there are changes `save()` has not written yet."""
        return bool(self._ops)

    @property
    def broken(self) -> str | None:
        """Why saving is refused (the file failed to parse), or None."""
        return self._broken

    @property
    def view(self) -> dict[str, Any]:
        """A copy of the saved UI view state; assign a new dict to change it."""
        return copy.deepcopy(self._state.view)

    @view.setter
    def view(self, value: dict[str, Any]) -> None:
        if not isinstance(value, dict):
            raise TypeError(f"view must be a dict, got {type(value).__name__}")
        try:
            tomli_w.dumps({"view": value}).encode("utf-8")  # refuse now what saving would
        except Exception as exc:
            raise ValueError(f"view cannot be saved as TOML: {exc}") from None
        self._do(("view", copy.deepcopy(value)))

    # changing -----------------------------------------------------------------------------

    def _do(self, op: tuple) -> bool:
        with self._mutex:
            if self._state.apply(op):
                self._ops.append(op)
                self._version += 1
                return True
            return False

    def _need(self, task_id: str) -> Entry:
        entry = self._state.entry(task_id)
        if entry is None:
            raise KeyError(f"{task_id} is not in the watchlist")
        return entry

    def add(
        self, ids: Iterable[str] | str, *, parent: str = "", label: str = "", retry_of: str = ""
    ) -> list[str]:
        """Add ids not yet watched, in order; return those added. ValueError for a bad id.

        `retry_of`: the ids resubmit that task's prompt (a retry is also its child)."""
        wanted = [ids] if isinstance(ids, str) else list(ids)
        for task_id in wanted:
            if not isinstance(task_id, str) or not is_task_id(task_id):
                shown = clean(str(task_id), 40, single_line=True)
                raise ValueError(
                    f"{shown!r} is not a task id (16 to 20 digits, the first 13 a time in ms)"
                )
        if parent and not is_task_id(parent):
            raise ValueError(f"parent {clean(parent, 40, single_line=True)!r} is not a task id")
        if retry_of and not is_task_id(retry_of):
            shown = clean(retry_of, 40, single_line=True)
            raise ValueError(f"retry_of {shown!r} is not a task id")
        label = clean(label, MAX_LABEL, single_line=True)
        added = []
        now = _now()
        for task_id in wanted:
            entry = Entry(id=task_id, added=now, label=label, parent=parent, retry_of=retry_of)
            if self._do(("add", entry)):
                added.append(task_id)
        return added

    def remove(self, ids: Iterable[str] | str) -> list[str]:
        """Stop watching ids; return those that were watched."""
        wanted = [ids] if isinstance(ids, str) else list(ids)
        return [task_id for task_id in wanted if self._do(("remove", task_id))]

    def mark_used(self, task_id: str, custom_id: str) -> None:
        """Remember that a button (customId) of this task was pressed."""
        self._need(task_id)
        custom_id = clean(custom_id, MAX_CUSTOM_ID, single_line=True)
        if not custom_id:
            raise ValueError("empty customId")
        self._do(("used", task_id, custom_id))

    def set_dismissed(self, task_id: str, dismissed: bool) -> None:
        self._need(task_id)
        self._do(("dismissed", task_id, bool(dismissed)))

    def set_label(self, task_id: str, label: str) -> None:
        self._need(task_id)
        self._do(("label", task_id, clean(label, MAX_LABEL, single_line=True)))

    # saving -------------------------------------------------------------------------------

    def _read_merged(self, target: Path) -> tuple[_State, list[str] | None, bytes | None]:
        """The file on disk with this object's pending operations replayed on top.

        Returns (state, warnings or None when not parsed again, fingerprint of the file).
        Raises WatchlistError (file unparseable) or OSError.
        """
        try:
            data = atomic.read_capped(target, MAX_FILE_BYTES)
        except FileNotFoundError:
            data = None
        fingerprint = _fingerprint(data)
        if data is not None and fingerprint == self._synced:
            return self._state, None, fingerprint  # nobody else wrote: memory is the merge
        try:
            merged, warnings = self._replayed(data)
        except _BadFile as bad:
            raise self._refuse(target, data, bad) from None
        return merged, warnings, fingerprint

    def _replayed(self, data: bytes | None) -> tuple[_State, list[str]]:
        """The file's state (empty when there is no file) with this object's pending operations
        replayed on top, and the file's warnings. Raises _BadFile."""
        merged, warnings = (
            _parse_document(data, str(self.path)) if data is not None else (_State(), [])
        )
        for op in self._ops:
            merged.apply(op)
        return merged, warnings

    def save(self, *, on_wait: Callable[[], None] | None = None) -> None:
        """Merge with the file on disk and write it atomically; no-op when nothing changed.

        Raises WatchlistError (disk full, read-only, unparseable file on disk...); the changes
        stay in memory (`unsaved_changes`, `write_unsaved`). Safe to call from a worker thread:
        the wait for another process's lock holds no lock of this object, so `add`/`remove` on
        the UI thread go on meanwhile; `on_wait` is called (in the saving thread) once if the
        lock is busy, for a "waiting for the watchlist lock" line.
        """
        with self._mutex:
            if not self._ops:
                return
            if self._broken:
                raise WatchlistError(f"not saved: {self._broken}", path=self.path)
        try:
            target = atomic.real_target(self.path)
            if not target.parent.is_dir():
                paths.ensure_private_dir(target.parent)
            lock = target.with_name(target.name + ".lock")
            with atomic.exclusive_lock(lock, on_wait=on_wait), self._mutex:
                if not self._ops:
                    return  # another thread saved meanwhile
                merged, warnings, _ = self._read_merged(target)
                data = _serialise(merged)
                atomic.write_atomic(target, data)
                self._state = merged
                self._version += 1
                self._ops.clear()
                self._synced = _fingerprint(data)
                if warnings is not None:
                    self.warnings = warnings
        except OSError as exc:
            # Nothing of this save reached the disk (the write is all or nothing); the
            # caller says what was lost or keeps it (`unsaved_changes`, `write_unsaved`).
            raise WatchlistError(
                f"could not save the watchlist: {_os_reason(exc)}", path=self.path
            ) from None

    def unsaved_changes(self) -> tuple[list[str], list[str], int]:
        """What `save()` has not written yet: (ids added, ids removed, other changes)."""
        with self._mutex:
            added: dict[str, None] = {}
            removed: dict[str, None] = {}
            other = 0
            for op in self._ops:
                if op[0] == "add":
                    removed.pop(op[1].id, None)
                    added[op[1].id] = None
                elif op[0] == "remove":
                    if op[1] in added:
                        added.pop(op[1])
                    else:
                        removed[op[1]] = None
                else:
                    other += 1
            return list(added), list(removed), other

    @property
    def unsaved_path(self) -> Path:
        """Where ids that could not be saved are kept: `<watchlist>.unsaved` beside it."""
        target = atomic.real_target(self.path)
        return target.with_name(target.name + UNSAVED_SUFFIX)

    def write_unsaved(self) -> Path | None:
        """Keep the ids added but not saved in `<watchlist>.unsaved` (one per line, merged with
        what an earlier failure kept there), so nothing the user added is lost when the
        watchlist itself cannot be written. `mjdash add - < FILE` takes them back.

        Returns the file, or None when no added id is unsaved. Raises OSError (the folder
        itself is unwritable: the caller then prints the ids instead).
        """
        added, _, _ = self.unsaved_changes()
        if not added:
            return None
        path = self.unsaved_path
        try:
            old = atomic.read_capped(path, MAX_FILE_BYTES).decode("utf-8", "replace")
        except FileNotFoundError:
            old = ""
        kept = [line.strip() for line in old.splitlines() if is_task_id(line.strip())]
        ids = list(dict.fromkeys(kept + added))
        header = "# task ids mjdash could not save in the watchlist; mjdash add - < this file\n"
        atomic.write_atomic(path, (header + "\n".join(ids) + "\n").encode("ascii"))
        return path

    def reload(self) -> None:
        """Pick up changes other processes saved, keeping this object's unsaved changes."""
        with self._mutex:
            if self._broken:
                return
            target = atomic.real_target(self.path)
            try:
                merged, warnings, fingerprint = self._read_merged(target)
            except OSError as exc:
                raise WatchlistError(
                    f"could not read the watchlist: {_os_reason(exc)}", path=self.path
                ) from None
            self._state = merged
            self._version += 1
            self._synced = fingerprint
            if warnings is not None:
                self.warnings = warnings

    # following other processes ------------------------------------------------------------
    #
    # The dashboard calls refresh_from_disk() on every poll and on `r`, so ids another shell
    # added (`mjdash add`, `mjdash submit`) or removed appear without waiting for a save.
    #
    # The merge rule (the same one save() uses): the file on disk is the base and this object's
    # pending operations since its last save are replayed on top of it, in order. So:
    # - an id added here and not yet saved stays, even if another process removed it;
    # - an id removed here and not yet saved stays removed, even if another process changed it;
    # - every other id is as the file says: added or removed elsewhere means added or removed;
    # - a label or dismissed mark set here wins over the file's; one not set here is the file's;
    # - used customIds are the union of both (a button pressed anywhere was pressed);
    # - the view (filter, sort) set here wins; otherwise the file's.

    _disk_stamp: tuple[int, int, int, int] | None = None  # stat of the file as last read here

    def disk_changed(self) -> bool:
        """Whether the file's stat (device, inode, size, mtime_ns) differs from the last one
        seen by refresh_from_disk(): one stat call, no read. True on the first call."""
        return _stamp(atomic.real_target(self.path)) != self._disk_stamp or (
            self._disk_stamp is None
        )

    def refresh_from_disk(self) -> WatchlistRefresh:
        """Merge what other processes saved since this object last looked; cheap when nothing did.

        Returns the ids that appeared and disappeared in memory (both empty when the file is
        unchanged). A file that does not parse right now (someone is editing it by hand) raises
        WatchlistError once per change of the file; memory is kept as it was, and saving is not
        refused for it (save() checks the file again itself).
        """
        with self._mutex:
            if self._broken:
                return WatchlistRefresh([], [], [])
            target = atomic.real_target(self.path)
            # stat before reading: if the file changes in between, the next stat differs and
            # the file is read again (never the other way round, which would miss a change).
            stamp = _stamp(target)
            if stamp == self._disk_stamp and stamp is not None:
                return WatchlistRefresh([], [], [])
            try:
                data = target.read_bytes()
            except FileNotFoundError:
                data = None
            except OSError as exc:
                raise WatchlistError(
                    f"could not read the watchlist: {_os_reason(exc)}", path=self.path
                ) from None
            self._disk_stamp = stamp
            fingerprint = _fingerprint(data)
            if fingerprint == self._synced:
                return WatchlistRefresh([], [], [])  # our own save, or a touch
            try:
                merged, warnings = self._replayed(data)
            except _BadFile as bad:
                raise WatchlistError(
                    f"{bad.message} (other processes' changes are not shown until it is "
                    "fixed; mjdash will not save over it)",
                    path=self.path,
                    line=bad.line,
                    col=bad.col,
                ) from None
            change = _difference(self._state, merged)
            self._state = merged
            self._version += 1
            self._synced = fingerprint
            self.warnings = warnings
            return change


class WatchlistRefresh(NamedTuple):
    """What refresh_from_disk() changed in memory, each in watchlist order."""

    added: list[str]
    removed: list[str]
    changed: list[str]  # still watched, but label, parent, used or dismissed changed

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def _stamp(target: Path) -> tuple[int, int, int, int] | None:
    """The cheap "did it change" check: an atomic save always makes a new inode, a hand edit
    changes the size or mtime_ns. None when there is no file (or it cannot be seen)."""
    try:
        st = target.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _difference(old: _State, new: _State) -> WatchlistRefresh:
    old_ids = [k for k in old.items if isinstance(k, str)]
    new_ids = [k for k in new.items if isinstance(k, str)]
    added = [i for i in new_ids if i not in old.items]
    removed = [i for i in old_ids if i not in new.items]
    changed = []
    for task_id in new_ids:
        before, after = old.entry(task_id), new.entry(task_id)
        if before is None or after is None:
            continue
        if (before.label, before.parent, before.used, before.dismissed) != (
            after.label,
            after.parent,
            after.used,
            after.dismissed,
        ):
            changed.append(task_id)
    return WatchlistRefresh(added, removed, changed)
