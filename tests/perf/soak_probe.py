"""What the soak's memory is made of, for finding a leak (tests/perf/soak.py --progress / --trace).

    .venv/bin/python tests/perf/soak.py --seconds 600 --progress --trace /tmp/soak-trace
    .venv/bin/python tests/perf/soak.py --trace /tmp/t --tracemalloc 12 --referrers Strip

`--progress` lines add glibc's heap figures (in use / free but kept / mmapped: RSS that grows
with "free but kept" is fragmentation, not objects) and pymalloc's (in live blocks / in
arenas). `--trace DIR` writes, every minute after a full collection, the count of
live objects by type (types-<s>.json: diff two to see what piles up), a tracemalloc snapshot
with `--tracemalloc FRAMES` (snap-<s>.pickle; slows the app 2-3 times), and with `--referrers`
what holds the newest objects of those types (referrers-<s>.txt). That is how the toasts'
StylesCache pinned by Textual's lru_cache was found (mjdash/ui/terminal.py).
Objects frozen by the dashboard's gc.freeze at start are not listed (nor ever collected).
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import sys
import tempfile
import tracemalloc
from collections import Counter
from pathlib import Path

MIB = 1024 * 1024
HEAP_FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in HEAP_FIELDS.split()]


def heap_figures() -> str:
    """glibc's heap over all arenas (MiB): in use / free but kept / mmapped; "-" elsewhere."""
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return "-"
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return f"{info.uordblks / MIB:.1f}/{info.fordblks / MIB:.1f}/{info.hblkhd / MIB:.1f}"


def pymalloc_figures() -> str:
    """Python's small-object allocator (MiB): in live blocks / in its arenas (1 MiB each, given
    back only when wholly empty). Arenas growing ahead of the blocks is fragmentation."""
    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)  # _debugmallocstats writes to the C-level stderr
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode("ascii", "replace")
    figures = {}
    for line in text.splitlines():
        name, _, value = line.partition("=")
        value = value.strip().replace(",", "")
        if value.isdigit():
            figures[name.strip("# ").strip()] = int(value)
    used = figures.get("bytes in allocated blocks", 0)
    arenas = sum(v for k, v in figures.items() if k.endswith("bytes/arena"))
    return f"{used / MIB:.1f}/{arenas / MIB:.0f}"


def progress_figures() -> str:
    traced = ""
    if tracemalloc.is_tracing():
        traced = f", traced {tracemalloc.get_traced_memory()[0] / MIB:.1f} MiB"
    return f"heap {heap_figures()} MiB, pymalloc {pymalloc_figures()} MiB{traced}"


def _name(obj: object) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def dump(folder: Path, at: float, referrers: tuple[str, ...] = ()) -> None:
    """The figures of one moment (`at` seconds into the run) into `folder`."""
    gc.collect()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = f"{at:04.0f}"
    if tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(str(folder / f"snap-{stamp}.pickle"))
    objects = gc.get_objects()
    (folder / f"types-{stamp}.json").write_text(json.dumps(Counter(map(_name, objects))))
    lines = []
    for wanted in referrers:
        found = [obj for obj in objects if type(obj).__name__ == wanted]
        holders: Counter[str] = Counter()
        for obj in found[-200:]:  # the newest: the ones a leak added
            for holder in gc.get_referrers(obj):
                if holder is objects or holder is found:
                    continue
                what = _name(holder)
                if isinstance(holder, dict):  # an instance's __dict__: say whose
                    owners = [_name(o) for o in gc.get_referrers(holder) if o is not objects]
                    what += f" of {owners[:3]}"
                holders[what] += 1
        lines.append(f"{wanted}: {len(found)}; the newest 200 held by {holders.most_common(12)}")
    if lines:
        (folder / f"referrers-{stamp}.txt").write_text("\n".join(lines) + "\n")
