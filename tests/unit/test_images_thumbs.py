"""The thumbnail disk cache (mjdash/media/thumbs.py): private files, LRU-bounded, misses on junk."""

from __future__ import annotations

import os
import random
import stat

from mjdash.media.images import Image, encode_thumbnail
from mjdash.media.thumbs import ThumbCache, default_folder
from mjdash.store import paths


def noisy(seed: int, side: int = 64) -> Image:
    """Noise compresses badly: each thumbnail costs about side * side * 3 bytes."""
    return Image(side, side, random.Random(seed).randbytes(side * side * 3))


def test_a_thumbnail_comes_back_from_disk_in_a_private_folder(tmp_path):
    cache = ThumbCache()
    assert cache.folder == default_folder() and str(paths.cache_dir()) in str(cache.folder)
    image = noisy(1)
    assert cache.get("1773314942177001", "grid@256") is None
    cache.put("1773314942177001", "grid@256", image)
    again = ThumbCache().get("1773314942177001", "grid@256")  # a new process, the same files
    assert again == image
    assert ThumbCache().get("1773314942177001", "U1@256") is None  # another label, another file
    assert stat.S_IMODE(cache.folder.stat().st_mode) == 0o700
    (file,) = cache.folder.iterdir()
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert "1773314942177001" not in file.name  # names are hashes: server text is no path


def test_the_least_recently_used_go_first_when_over_the_bound(tmp_path):
    size = len(encode_thumbnail(noisy(0)))
    cache = ThumbCache(tmp_path / "thumbs", limit=5 * size + size // 4)  # room for five
    for n in range(4):
        cache.put(f"id{n}", "image", noisy(n))
        os.utime(cache._path(f"id{n}", "image"), (1000 + n, 1000 + n))
    assert cache.get("id0", "image") is not None  # used now: the newest
    cache.put("id4", "image", noisy(4))
    cache.put("id5", "image", noisy(5))
    kept = {n for n in range(6) if cache._path(f"id{n}", "image").exists()}
    # Six did not fit: down to 90 % of the bound, the least recently used first (0 was read).
    assert kept == {0, 3, 4, 5}
    total = sum(path.stat().st_size for path in cache.folder.iterdir())
    assert total <= cache.limit


def test_a_damaged_file_is_a_miss_and_a_readonly_folder_costs_only_the_cache(tmp_path):
    cache = ThumbCache(tmp_path / "thumbs")
    cache.put("id", "image", noisy(1))
    cache._path("id", "image").write_bytes(b"<html>not a png</html>")
    assert cache.get("id", "image") is None
    blocked = ThumbCache(tmp_path / "file-not-folder")
    (tmp_path / "file-not-folder").write_text("x")
    blocked.put("id", "image", noisy(2))  # no exception
    assert blocked.get("id", "image") is None
