"""Running the clock: the run is the same as env.run, and the collector is left as it was, even on errors."""

import gc

import pytest
import simpy

from edgesim.sim.clock import run_clock


def test_runs_until_and_unfreezes():
    env = simpy.Environment()
    seen = []

    def ticker():
        while True:
            seen.append(env.now)
            yield env.timeout(1)

    env.process(ticker())
    run_clock(env, 3)
    assert seen == [0, 1, 2] and env.now == 3
    assert gc.get_freeze_count() == 0


def test_unfreezes_when_the_simulation_fails():
    env = simpy.Environment()

    def broken():
        yield env.timeout(1)
        raise RuntimeError("boom")

    env.process(broken())
    with pytest.raises(RuntimeError, match="boom"):
        run_clock(env, 5)
    assert gc.get_freeze_count() == 0
