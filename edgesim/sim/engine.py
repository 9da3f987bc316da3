"""The engine: the only maker of the SimPy clock, and the home of every rule that ends a run.

``Engine`` puts the fleet (devices with their availability and failure
processes), the links, the task runner and the protocol's server on one
``simpy.Environment`` and runs it until the server stops or simulated time
reaches the horizon. ``StopRules`` holds every other stop rule (divergence,
the target, the last round, a plateau, an energy budget, and a fleet that
cannot progress); the owner asks it after each round, and its answer reaches
the server as ``Outcome.stop``.

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


EMPTY_ROUNDS = 1000
"""Rounds in a row that apply no update before ``StopRules.no_progress`` judges their pace."""
ROUNDS_TO_HORIZON = 1_000_000
"""Empty rounds that, at the pace of the last ``EMPTY_ROUNDS``, would still stand before the horizon: more
mean a fleet that cannot progress."""


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

    def no_progress(self, empty_rounds: int, empty_span_s: float, now: float) -> bool:
        """Whether ``empty_rounds`` rounds in a row that applied no update, over the last ``empty_span_s``
        simulated seconds up to ``now``, show a fleet that cannot progress: at least ``EMPTY_ROUNDS`` of them,
        at a pace that leaves more than ``ROUNDS_TO_HORIZON`` empty rounds before the horizon (batteries that
        run low and recharge within moments, say), where waiting for the horizon would take hours of host
        time to learn nothing."""
        return (empty_rounds >= EMPTY_ROUNDS
                and empty_span_s * ROUNDS_TO_HORIZON < (self.horizon_s - now) * empty_rounds)

    def after_round(self, round: int, diverged: bool, target_reached: bool, evaluations_since_best: int,
                    energy_j: float = 0.0, empty_rounds: int = 0, empty_span_s: float = 0.0,
                    now: float = 0.0) -> str | None:
        """The rule that ends the run after ``round`` (``diverged``, ``no_progress``, ``target``,
        ``max_rounds``, ``plateau``, ``energy_budget``), or ``None`` to go on."""
        if diverged:
            return "diverged"
        if self.no_progress(empty_rounds, empty_span_s, now):
            return "no_progress"
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
    the horizon, the model version reached, and what the server was waiting for."""

    sim_time_s: float
    stopped: bool
    version: int
    waiting_for: str


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
        try:
            env.run(until=server.stopped | env.timeout(self.rules.horizon_s))
        finally:
            gc.unfreeze()
        unready = self.fleet.describe_unready()
        waiting_for = server.describe_wait() + (f"; at the end, {unready}" if unready else "")
        return Ending(env.now, server.stopped.triggered, server.version, waiting_for)
