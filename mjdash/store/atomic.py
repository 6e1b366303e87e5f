"""Crash-safe file writing (docs/reliability.md, rule 5).

A file is replaced, never rewritten in place: the new bytes go to a temp file in the same folder,
are fsynced, renamed over the old name with `os.replace` (atomic on POSIX) and the folder is
fsynced so the rename itself survives a power cut. A SIGKILL at any moment leaves the old or the
new version, plus at worst a temp file that `remove_stale_temps` clears on the next start.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

FILE_MODE = 0o600
# A temp file younger than this may belong to a writer we cannot see (another pid namespace
# sharing the folder); a save takes milliseconds, so a few seconds is plenty.
STALE_TEMP_SECONDS = 5.0
_TEMP_MARK = ".tmp-"


class LockTimeout(OSError):
    """Another process held the lock for too long."""


class NotRegularFile(OSError):
    """A path mjdash reads or replaces names a device, a FIFO, a directory...: refused (reading
    a FIFO hangs, /dev/zero never ends, replacing /dev/null destroys it)."""


class FileTooLarge(OSError):
    """A file passed the size cap for its kind; reading stopped there."""


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, words in (
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return words
    return "not a regular file"


def refusal(path: Path | str, mode: int) -> NotRegularFile:
    """The error for a path that is not a regular file: `strerror` says what it is (callers
    name the path in their own words), `filename` holds the path."""
    return NotRegularFile(errno.EINVAL, f"it is {kind_of(mode)}, not a regular file", str(path))


def check_regular(path: Path | str) -> None:
    """Raise NotRegularFile when `path` (through symlinks) exists and is not a regular file.

    A missing path passes: it will be created as a regular file.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError:
        return  # unreadable: the real open reports it
    if not stat.S_ISREG(mode):
        raise refusal(path, mode)


def read_capped(path: Path | str, cap: int) -> bytes:
    """The bytes of a regular file (symlinks followed), at most `cap` of them.

    Opened non-blocking so that a FIFO cannot hang the open; the type is checked on the open
    file itself (no race with a rename). Raises FileNotFoundError, NotRegularFile, FileTooLarge
    and OSError.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise refusal(path, mode)
        parts: list[bytes] = []
        size = 0
        while True:
            piece = os.read(fd, min(cap + 1 - size, 1024 * 1024))
            if not piece:
                break
            size += len(piece)
            parts.append(piece)
            if size > cap:
                raise FileTooLarge(errno.EFBIG, f"{path} is larger than {cap:,} bytes")
        return b"".join(parts)
    finally:
        os.close(fd)


def real_target(path: Path) -> Path:
    """The file a path finally names: a symlinked file is updated through its link (S5)."""
    return Path(os.path.realpath(os.path.expanduser(path)))


def _temp_path(target: Path) -> Path:
    return target.parent / f".{target.name}{_TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"


def write_atomic(target: Path, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Replace `target` with `data` so that readers only ever see the old or the new bytes.

    `target` should already be resolved (`real_target`): `os.replace` on a symlink would
    replace the link itself. Raises OSError; the temp file never outlives a failure.
    """
    check_regular(target)  # never replace a device, a FIFO or a folder with a file
    temp = _temp_path(target)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            os.fchmod(fd, mode)  # a strict umask is fine, a loose one must not widen it
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        check_regular(target)  # again, right before the rename
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_dir(target.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable; best effort (some filesystems refuse)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive_lock(
    lock_path: Path, *, timeout: float = 10.0, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold an exclusive `flock` on a sidecar lock file (the lock file itself stays empty).

    flock belongs to the open file description, so two objects in one process exclude each
    other too. Raises LockTimeout after `timeout` seconds rather than hang a UI forever.
    """
    check_regular(lock_path)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK, FILE_MODE)
    except OSError as first:
        # A read-only folder: the lock may still exist and be lockable read-only.
        try:
            fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            raise first from None
    try:
        deadline = time.monotonic() + timeout
        pause = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if on_wait is not None:
                    on_wait()  # once: the caller can say it is waiting
                    on_wait = None
                if time.monotonic() > deadline:
                    raise LockTimeout(
                        errno.EAGAIN, f"another process has held {lock_path} for {timeout:g}s"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.02)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def remove_stale_temps(target: Path, *, min_age: float | None = None) -> list[Path]:
    """Delete temp files left by `write_atomic` for `target` by writers that died (S1).

    Only files named like ours, whose pid is gone and that are older than `min_age`.
    """
    min_age = STALE_TEMP_SECONDS if min_age is None else min_age
    prefix = f".{target.name}{_TEMP_MARK}"
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid_text, _, token = entry.name[len(prefix) :].partition("-")
        if not pid_text.isdigit() or not token or pid_alive(int(pid_text)):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < min_age:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def save_aside(target: Path, data: bytes, label: str = "corrupt") -> Path:
    """Keep a copy of `data` as `<name>.<label>-<YYYYmmdd-HHMMSS>` next to `target`.

    An identical copy saved earlier is reused, so reopening a broken file does not pile up
    copies. Raises OSError.
    """
    pattern = f"{glob.escape(target.name)}.{label}-*"
    for existing in sorted(target.parent.glob(pattern)):
        with contextlib.suppress(OSError):
            if existing.stat().st_size == len(data) and existing.read_bytes() == data:
                return existing
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{target.name}.{label}-{stamp}"
    for attempt in range(1000):
        candidate = target.parent / (base if attempt == 0 else f"{base}-{attempt}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        except FileExistsError:
            continue
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(candidate)
            raise
        return candidate
    raise FileExistsError(errno.EEXIST, f"too many copies of {target.name} saved aside")


def move_aside(target: Path, label: str = "corrupt") -> Path:
    """Rename `target` to `<name>.<label>-<YYYYmmdd-HHMMSS>` (for disposable files)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        suffix = f".{label}-{stamp}" if attempt == 0 else f".{label}-{stamp}-{attempt}"
        candidate = target.with_name(target.name + suffix)
        if not candidate.exists():
            os.replace(target, candidate)
            return candidate
    raise FileExistsError(errno.EEXIST, f"too many copies of {target.name} moved aside")
