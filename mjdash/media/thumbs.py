"""A disk cache of preview-size thumbnails: a restart draws at once, without downloading again.

Image links expire; the cache keeps what was seen. One small PNG per (task id, label) in
`<user cache dir>/thumbs/` (0700; files 0600), named by a hash of the key so server text never
becomes a path. Bounded (200 MB by default): when a write takes it over, the least recently
used files go first (reading a thumbnail touches its mtime). Every method is blocking file
I/O: the UI calls them in a thread. A damaged or unreadable file is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from mjdash.media.images import Image, ImageError, decode, encode_thumbnail
from mjdash.store import atomic, paths

LIMIT_BYTES = 200 * 1024 * 1024


def default_folder() -> Path:
    return paths.cache_dir() / "thumbs"


class ThumbCache:
    def __init__(self, folder: Path | None = None, limit: int = LIMIT_BYTES) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()
        self.limit = limit
        self._lock = threading.Lock()
        self._total: int | None = None  # bytes on disk, counted once then kept up to date

    def _path(self, task_id: str, label: str) -> Path:
        digest = hashlib.sha256(f"{task_id}\0{label}".encode()).hexdigest()[:32]
        return self.folder / f"{digest}.png"

    def get(self, task_id: str, label: str = "image") -> Image | None:
        path = self._path(task_id, label)
        try:
            data = path.read_bytes()
            os.utime(path)  # least recently *used*: a read counts
            return decode(data, max_side=4096)
        except (OSError, ImageError):
            return None

    def put(self, task_id: str, label: str, image: Image) -> None:
        data = encode_thumbnail(image)
        path = self._path(task_id, label)
        with self._lock:
            try:
                paths.ensure_private_dir(self.folder)
                os.chmod(self.folder, 0o700)
                before = self._size()  # counted before this write, so it is not counted twice
                old = path.stat().st_size if path.exists() else 0
                atomic.write_atomic(path, data, mode=0o600)
            except OSError:
                return  # a full or read-only disk costs the cache, not the preview
            total = before - old + len(data)
            self._total = total
            if total > self.limit:
                self._evict()

    def _size(self) -> int:
        if self._total is None:
            self._total = sum(size for _path, size, _used in self._entries())
        return self._total

    def _entries(self) -> list[tuple[Path, int, float]]:
        out = []
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    if entry.name.endswith(".png") and entry.is_file(follow_symlinks=False):
                        stat = entry.stat(follow_symlinks=False)
                        out.append((Path(entry.path), stat.st_size, stat.st_mtime))
        except OSError:
            pass
        return out

    def _evict(self) -> None:
        """Oldest-used first until the folder is back under 90 % of the limit."""
        entries = sorted(self._entries(), key=lambda entry: entry[2])
        total = sum(size for _path, size, _used in entries)
        target = self.limit * 9 // 10
        for path, size, _used in entries:
            if total <= target:
                break
            try:
                path.unlink()
                total -= size
            except OSError:
                pass
        self._total = total
