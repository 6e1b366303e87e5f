"""Widgets the dashboard removes (every toast) leave nothing behind in Textual's caches.

Textual 8.2's `@lru_cache(1024)` on the method `StylesCache.get_inner_outer` keys on the
instance: every widget that was ever drawn kept its StylesCache (and the rendered lines in it)
alive after the widget was removed, until 1,024 newer keys pushed it out. The 5-minute soak
(tests/perf/soak.py) grew ~2 MiB a minute that way, from its toasts. mjdash/ui/terminal.py
keys that cache on the colours only; the dashboard applies it when it is built. Counted in
objects, not in memory figures.
"""

from __future__ import annotations

import gc
import weakref

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.widgets._toast import Toast

from mjdash.ui.terminal import unpin_styles_caches
from tests.support.harness import make_app

ROUNDS = 8
TOASTS = 5  # a round's toasts, shown together


def live_styles_caches() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is StylesCache)


def test_the_inner_outer_cache_does_not_keep_a_styles_cache_alive():
    unpin_styles_caches()
    caches = [StylesCache() for _ in range(10)]
    for number, cache in enumerate(caches):
        inner, outer = cache.get_inner_outer(Color(number, 0, 0), Color(0, 0, 255, 0.5))
        assert outer.background == Color(number, 0, 0)  # the same answer as Textual's
        assert inner.background == Color(number, 0, 0) + Color(0, 0, 255, 0.5)
    refs = [weakref.ref(cache) for cache in caches]
    del caches, cache
    gc.collect()
    assert sum(ref() is not None for ref in refs) == 0


async def wait_until(pilot, check, what: str, timeout: float = 8.0) -> None:
    waited = 0.0
    while not check():
        if waited > timeout:
            raise AssertionError(f"not within {timeout}s: {what}")
        await pilot.pause(0.05)
        waited += 0.05


async def test_toasts_that_come_and_go_do_not_pile_up_in_memory(sim, tmp_path):
    app = make_app(sim, tmp_path, [], auto_poll=False)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        shown = 0
        baseline = 0
        for round_number in range(ROUNDS):
            for number in range(TOASTS):
                app.notify(f"toast {round_number}.{number}", timeout=0.3)
            await wait_until(pilot, lambda: len(app.query(Toast)) == TOASTS, "toasts shown")
            await pilot.pause(0.1)  # drawn: their StylesCache was used
            shown += TOASTS
            await wait_until(pilot, lambda: not app.query(Toast), "toasts gone")
            await pilot.pause(0.1)
            if round_number == 1:  # Textual's layout caches hold the last few arrangements
                baseline = live_styles_caches()
        # Before the fix: one more StylesCache per toast (30 after these 30).
        grown = live_styles_caches() - baseline
        assert grown < TOASTS, f"{grown} StylesCache more after {shown - 2 * TOASTS} toasts"
