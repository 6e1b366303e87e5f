"""The benchmark's request count, quick (N=100): tests/perf/bench.py runs the full version.

mjdash's poller sends exactly ceil(unfinished / batch_size) requests a cycle, and the
simulator's own counters show that finished and MODAL tasks are never asked about. Counts
only: no wall-clock figure is asserted.
"""

from __future__ import annotations

import math

from mjdash.model.task import Status
from mjdash.sim.engine import ManualClock
from tests.perf.benchlib import BATCH, count_requests


async def test_requests_per_cycle_are_the_limit_and_finished_tasks_cost_nothing(sim_factory):
    clock = ManualClock()
    sim = sim_factory(tasks=100, clock=clock, seed=7)  # speed 100: a fast clock
    ids = sim.seeded_ids
    figures, known = await count_requests(sim.url, ids, sim.stats, clock.advance, cycles=3)

    # Nothing known yet: every id is asked, in ceil(100 / 100) requests (the seed loop: 100).
    assert figures.cold.mjdash == figures.cold.limit == 1
    assert figures.cold.mjdash_ids == 100
    assert figures.cold.seed == 100

    statuses = {task.status for task in known.values()}
    assert Status.MODAL in statuses and Status.SUCCESS in statuses  # the mix is there
    for cycle in figures.steady:
        assert cycle.mjdash == cycle.limit == math.ceil(cycle.unfinished / BATCH)
        # The server was asked about the unfinished tasks only: finished and MODAL cost nothing.
        assert cycle.mjdash_ids == cycle.unfinished < 100
        # The seed's loops keep asking about MODAL (and CANCEL) tasks, one GET each.
        assert cycle.seed > cycle.unfinished
    assert figures.all_at_limit
