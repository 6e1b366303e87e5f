"""The component-timing rows run and print (tests/perf/bench_components.py). No figure is
asserted: a row's speed is read in the benchmark table, not checked here."""

from __future__ import annotations

from tests.perf.bench_components import Timing, model_timings, table


def test_model_rows_are_measured_and_printed_with_their_targets() -> None:
    timings = model_timings(repeat=1)
    assert [t.name for t in timings] == [
        "clean() 1 MB hostile text, 3 ways",
        "parse_task, 1 MB prompt",
        "extract_task_ids, 1 MB text",
    ]
    assert all(t.seconds > 0 for t in timings)
    printed = table(timings).splitlines()
    assert printed[0].startswith("7 component timings")
    assert len(printed) == 2 + len(timings)
    assert all("<= 200 ms" in line or "<= 500 ms" in line for line in printed[2:])


def test_a_row_outside_its_window_is_not_met() -> None:
    assert Timing("x", 0.5, at_most=2.0, at_least=0.4).met
    assert not Timing("x", 0.1, at_most=2.0, at_least=0.4).met  # gave up too soon
    assert not Timing("x", 3.0, at_most=2.0).met
    assert "NO" in table([Timing("slow", 3.0, at_most=2.0)])
    assert Timing("x", 1.0, at_most=2.5, at_least=0.9).target == "0.9-2.5 s"
