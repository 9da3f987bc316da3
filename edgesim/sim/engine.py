"""The engine: the only maker of the SimPy clock, and the home of every rule that ends a run.

``Engine`` puts the fleet (devices with their availability and failure
processes), the links, the task runner and the protocol's server on one
``simpy.Environment`` and runs it until the server stops or simulated time
reaches the horizon. ``StopRules`` holds every other stop rule (divergence,
the target, the last round, a plateau, an energy budget); the owner asks it
after each round, and its answer reaches the server as ``Outcome.stop``. The
engine also watches the clock's pace, every ``PACE_WINDOW_ROWS`` event rows (more in large fleets),
and stops a clock that could never reach the horizon (``NoProgress``).

While the clock runs, the objects that existed before it (the dataset, the
model, the fleet) are frozen out of Python's garbage collector: the
collector then only scans what the simulation itself allocates, which saves
a full scan of a large heap on every collection of the oldest generation.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

import simpy

from edgesim.sim.energy import EnergyMeter
from edgesim.sim.event_log import EventLog
from edgesim.sim.fleet import Fleet
from edgesim.sim.fleet_plan import FleetPlan
from edgesim.sim.links import FlowScheduler
from edgesim.sim.protocols import Owner, ProtocolConfig, ProtocolContext
from edgesim.sim.task import TaskRunner


PACE_WINDOW_ROWS = 10_000
"""Event rows between two looks at the clock's pace, or ``PACE_ROWS_PER_DEVICE`` per device if more."""
PACE_ROWS_PER_DEVICE = 20
"""Rows per device in a window: more than a fleet emits at one instant (an hour boundary, a round's start)."""
ROWS_TO_HORIZON = 100_000_000_000
"""Event rows that, at the pace of the last window, would still stand before the horizon: more (terabytes
of events, weeks of host time) mean a clock that cannot progress."""


class NoProgress(Exception):
    """The clock moves so slowly that it would never reach the horizon; the message says how slowly."""


@dataclass(frozen=True)
class StopRules:
    """When a run ends: at ``horizon_s`` of simulated time (the engine), or after a round when training
    diverged, the target was reached (with ``stop_at_target``), ``max_rounds`` are done, ``patience``
    evaluations in a row brought no new best accuracy, or the fleet has spent ``energy_budget_j``."""

    horizon_s: float
    max_rounds: int | None = None
    stop_at_target: bool = True
    patience: int | None = None
    energy_budget_j: float | None = None

    def is_last_round(self, round: int) -> bool:
        """Whether ``round`` is the last one ``max_rounds`` allows (it is always evaluated)."""
        return self.max_rounds is not None and round >= self.max_rounds

    def check_pace(self, rows: int, span_s: float, now: float) -> None:
        """``NoProgress`` when ``rows`` event rows over the last ``span_s`` simulated seconds, up to ``now``, set
        a pace at which more than ``ROWS_TO_HORIZON`` rows would still stand before the horizon: a clock
        that cannot progress (batteries that run low and recharge within moments, say), where waiting for the
        horizon would take weeks of host time to learn nothing."""
        remaining_s = self.horizon_s - now
        if span_s * ROWS_TO_HORIZON < remaining_s * rows:
            ahead = remaining_s / span_s * rows if span_s > 0 else float("inf")
            raise NoProgress(f"the last {rows:,} events spanned {span_s:.3g} s of simulated time; at that pace "
                             f"{ahead:.2g} more would stand before the horizon")

    def after_round(self, round: int, diverged: bool, target_reached: bool, evaluations_since_best: int,
                    energy_j: float = 0.0) -> str | None:
        """The rule that ends the run after ``round`` (``diverged``, ``target``, ``max_rounds``, ``plateau``,
        ``energy_budget``), or ``None`` to go on."""
        if diverged:
            return "diverged"
        if target_reached and self.stop_at_target:
            return "target"
        if self.is_last_round(round):
            return "max_rounds"
        if self.patience is not None and evaluations_since_best >= self.patience:
            return "plateau"
        if self.energy_budget_j is not None and energy_j >= self.energy_budget_j:
            return "energy_budget"
        return None


@dataclass(frozen=True)
class Ending:
    """Where the clock stopped: the simulated time, whether the server stopped (a stop rule) rather than
    the horizon, the model version reached, what the server was waiting for, and why the engine stopped a
    clock that could not progress (``None`` if it did not)."""

    sim_time_s: float
    stopped: bool
    version: int
    waiting_for: str
    no_progress: str | None = None


class Engine:
    """One simulation's clock, fleet and protocol server."""

    def __init__(self, plan: FleetPlan, log: EventLog, protocol: ProtocolConfig, owner: Owner,
                 context: ProtocolContext, rules: StopRules, meter: EnergyMeter | None = None):
        self.env = env = simpy.Environment()
        self.rules = rules
        self.fleet = fleet = Fleet(env, plan.devices, log)
        fleet.start(plan.availability(), plan.outages(), plan.capacity())
        fleet.start_batteries(plan.batteries())
        self.meter = meter or EnergyMeter()
        log.watch(max(PACE_WINDOW_ROWS, PACE_ROWS_PER_DEVICE * len(plan.devices)), self._check_pace)
        self._paced = (0, 0.0)  # rows and time at the last look
        tasks = TaskRunner(env, FlowScheduler(env), log, self.meter)
        self.server = protocol.server(env, fleet, tasks, log, owner, context)

    @property
    def now(self) -> float:
        return self.env.now

    def run(self) -> Ending:
        """Run until the server stops the run or the horizon ends it, with the pre-existing heap frozen out of
        the garbage collector."""
        env, server = self.env, self.server
        env.process(server.process())
        gc.collect()
        gc.freeze()
        no_progress = None
        try:
            env.run(until=server.stopped | env.timeout(self.rules.horizon_s))
        except NoProgress as exc:
            no_progress = str(exc)
        finally:
            gc.unfreeze()
        unready = self.fleet.describe_unready()
        waiting_for = server.describe_wait() + (f"; at the end, {unready}" if unready else "")
        return Ending(env.now, server.stopped.triggered, server.version, waiting_for, no_progress)

    def _check_pace(self, rows: int, now: float) -> None:
        rows_then, then = self._paced
        self._paced = (rows, now)
        self.rules.check_pace(rows - rows_then, now - then, now)
