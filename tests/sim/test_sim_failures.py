"""Failure schedules: random (mtbf/mttr) and replayed traces."""

import itertools

import numpy as np
import pytest

from edgesim.sim.failures import NoFailures, RandomFailures, TraceFailures


def test_no_failures_yields_nothing():
    assert list(NoFailures().outages("d-0", np.random.default_rng(0))) == []


def test_random_failures_with_constant_times():
    # up 100 s, down 10 s: failures at 100, 100+10+100 = 210, 320, ...
    failures = RandomFailures(mtbf_s=100, mttr_s=10)
    got = list(itertools.islice(failures.outages("d-0", np.random.default_rng(0)), 4))
    assert got == [(100.0, 10.0), (210.0, 10.0), (320.0, 10.0), (430.0, 10.0)]


def test_random_failures_draw_from_the_rng_in_order():
    failures = RandomFailures.model_validate(
        {"mtbf_s": {"kind": "exponential", "mean": 50}, "mttr_s": {"kind": "uniform", "low": 1, "high": 3}}
    )
    got = list(itertools.islice(failures.outages("d-0", np.random.default_rng(5)), 3))
    rng = np.random.default_rng(5)
    t, expected = 0.0, []
    for _ in range(3):
        t += rng.exponential(50)
        down = rng.uniform(1, 3)
        expected.append((t, down))
        t += down
    assert [x for pair in got for x in pair] == pytest.approx([x for pair in expected for x in pair])


def test_trace_failures_filter_by_device_and_sort():
    trace = TraceFailures.model_validate({"kind": "trace", "outages": [
        {"device": "pi4-0", "at_s": 500, "duration_s": 5},
        {"device": "pi4-1", "at_s": 10, "duration_s": 1},
        {"device": "pi4-0", "at_s": 20, "duration_s": 30},
        {"device": "pi4-0", "at_s": 300, "duration_s": 2},
    ]})
    rng = np.random.default_rng(0)
    assert list(trace.outages("pi4-0", rng)) == [(20.0, 30.0), (300.0, 2.0), (500.0, 5.0)]
    assert list(trace.outages("pi4-1", rng)) == [(10.0, 1.0)]
    assert list(trace.outages("pi4-10", rng)) == []


def test_outages_end_at_the_horizon():
    assert list(RandomFailures(mtbf_s=100, mttr_s=10).outages("d-0", np.random.default_rng(0), 330)) == [
        (100.0, 10.0), (210.0, 10.0), (320.0, 10.0)]
    trace = TraceFailures.model_validate({"kind": "trace", "outages": [
        {"device": "d-0", "at_s": 5, "duration_s": 1}, {"device": "d-0", "at_s": 50, "duration_s": 1}]})
    assert list(trace.outages("d-0", np.random.default_rng(0), 50)) == [(5.0, 1.0)]


@pytest.mark.parametrize("times", [{"mtbf_s": 0, "mttr_s": 10}, {"mtbf_s": 100, "mttr_s": -1},
                                   {"mtbf_s": {"kind": "normal", "mean": 100, "std": 50}, "mttr_s": 1}])
def test_times_that_could_be_zero_or_negative_are_refused(times):
    with pytest.raises(ValueError, match="must be positive"):
        RandomFailures.model_validate({"kind": "random", **times})
