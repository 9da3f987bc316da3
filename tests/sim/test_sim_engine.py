"""Running the clock: until the stop event or the horizon, and the collector is left as it was, even on errors."""

import gc

import pytest
import simpy

from edgesim.sim.clock import run_clock


def ticking(env, seen):
    def ticker():
        while True:
            seen.append(env.now)
            yield env.timeout(1)

    env.process(ticker())


def test_runs_to_the_horizon_and_unfreezes():
    env, seen = simpy.Environment(), []
    ticking(env, seen)
    assert run_clock(env, env.event(), 3) is False
    assert seen[:3] == [0, 1, 2] and env.now == 3
    assert gc.get_freeze_count() == 0


def test_stops_when_the_stop_event_fires():
    env, seen = simpy.Environment(), []
    ticking(env, seen)
    stopped = env.event()

    def stopper():
        yield env.timeout(1.5)
        stopped.succeed()

    env.process(stopper())
    assert run_clock(env, stopped, 10) is True
    assert env.now == 1.5 and seen == [0, 1]


def test_unfreezes_when_the_simulation_fails():
    env = simpy.Environment()

    def broken():
        yield env.timeout(1)
        raise RuntimeError("boom")

    env.process(broken())
    with pytest.raises(RuntimeError, match="boom"):
        run_clock(env, env.event(), 5)
    assert gc.get_freeze_count() == 0
