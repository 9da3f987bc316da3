"""The engine: one clock until the server stops or the horizon, the collector left as it was even on errors, and
the stop rules in their order."""

import gc
from typing import Literal

import numpy as np
import pytest

from edgesim.seeding import Streams
from edgesim.sim.engine import ROWS_TO_HORIZON, Engine, NoProgress, StopRules
from edgesim.sim.event_log import EventLog
from edgesim.sim.failures import NoFailures
from edgesim.sim.fleet_plan import FleetPlan
from edgesim.sim.protocols import ProtocolConfig, ProtocolContext


class Ticker:
    """A server that ticks every second and stops after ``stop_at`` ticks, or raises at ``fail_at``."""

    def __init__(self, env, stop_at=None, fail_at=None):
        self.env, self.stop_at, self.fail_at = env, stop_at, fail_at
        self.version, self.seen, self.stopped = 0, [], env.event()

    def process(self):
        while True:
            self.seen.append(self.env.now)
            if self.fail_at is not None and self.env.now >= self.fail_at:
                raise RuntimeError("boom")
            if self.stop_at is not None and len(self.seen) >= self.stop_at:
                self.version = 7
                self.stopped.succeed()
                return
            yield self.env.timeout(1)

    def describe_wait(self):
        return "ticking"


class TickerProtocol(ProtocolConfig):  # not registered: a test's own protocol
    kind: Literal["ticker"] = "ticker"
    stop_at: int | None = None
    fail_at: float | None = None

    def server(self, env, fleet, tasks, log, owner, context):
        return Ticker(env, self.stop_at, self.fail_at)


def engine(horizon_s, **protocol):
    plan = FleetPlan(Streams(0), 0.0, horizon_s, NoFailures())
    return Engine(plan, EventLog(None), TickerProtocol(**protocol), owner=None,
                  context=ProtocolContext(np.random.default_rng(0)), rules=StopRules(horizon_s))


def test_runs_to_the_horizon_and_unfreezes():
    run = engine(3)
    ending = run.run()
    assert run.server.seen[:3] == [0, 1, 2] and ending.sim_time_s == 3 and not ending.stopped
    assert ending.waiting_for == "ticking" and ending.version == 0
    assert gc.get_freeze_count() == 0


def test_stops_when_the_server_stops():
    run = engine(10, stop_at=2)
    ending = run.run()
    assert ending.stopped and ending.sim_time_s == 1 and ending.version == 7


def test_unfreezes_when_the_simulation_fails():
    with pytest.raises(RuntimeError, match="boom"):
        engine(5, fail_at=1).run()
    assert gc.get_freeze_count() == 0


def test_stop_rules_in_their_order():
    rules = StopRules(horizon_s=100, max_rounds=10, stop_at_target=True, patience=3)
    assert rules.after_round(4, diverged=False, target_reached=False, evaluations_since_best=2) is None
    assert rules.after_round(10, diverged=True, target_reached=True, evaluations_since_best=9) == "diverged"
    assert rules.after_round(10, diverged=False, target_reached=True, evaluations_since_best=9) == "target"
    assert rules.after_round(10, diverged=False, target_reached=False, evaluations_since_best=9) == "max_rounds"
    assert rules.after_round(4, diverged=False, target_reached=False, evaluations_since_best=3) == "plateau"
    assert rules.is_last_round(10) and not rules.is_last_round(9)
    going_on = StopRules(horizon_s=100, stop_at_target=False)
    assert going_on.after_round(10**6, diverged=False, target_reached=True, evaluations_since_best=10**6) is None


def test_the_clock_is_stopped_only_at_a_pace_that_would_never_reach_the_horizon():
    rules = StopRules(horizon_s=86400.0)
    rows = 1_000_000
    pace_s = 86400.0 / ROWS_TO_HORIZON  # per row: exactly ROWS_TO_HORIZON rows to the horizon from 0
    rules.check_pace(rows, rows * pace_s, now=0.0)  # that many, not more: it goes on
    with pytest.raises(NoProgress, match=r"the last 1,000,000 events spanned 0.432 s of simulated time; at "
                                         r"that pace 2e\+11 more would stand before the horizon"):
        rules.check_pace(rows, rows * pace_s / 2, now=0.0)
    rules.check_pace(rows, rows * pace_s / 2, now=60000.0)  # the horizon is nearer
    with pytest.raises(NoProgress, match="at that pace inf more"):
        rules.check_pace(rows, 0.0, now=1.0)
