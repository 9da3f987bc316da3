"""Shared helpers for the simulation tests: devices with fixed, hand-checkable figures.

(Not a ``conftest.py``: ``tests/conftest.py`` is imported by name elsewhere, and a second
``conftest`` module on ``sys.path`` would shadow it.)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import simpy

from edgesim.distributions import Constant
from edgesim.sim.device import Device
from edgesim.sim.event_log import EventLog
from edgesim.sim.fleet import Fleet
from edgesim.sim.links import FlowScheduler
from edgesim.sim.stragglers import NoStragglers
from edgesim.sim.task import TaskRunner
from edgesim.work import Outcome, TaskCost

SPEEDS = [1e9, 0.5e9, 0.25e9]
"""FLOP/s of the three devices ``run_protocol`` makes by default: with ``RecordingOwner``'s task (1 MB down at
8 Mbit/s, 1 GFLOP, 0.5 MB up at 4 Mbit/s, 10 ms latency each way) their cycles take 3.02, 4.02 and 6.02 s."""


def make_device(name="d-0", index=0, *, flops_per_s=1e9, down_bps=8e6, up_bps=4e6, latency_ms=20.0,
                 links_down=(), links_up=(), stragglers=None, rng=None, group="d", memory_bytes=1e9):
    return Device(
        id=name,
        index=index,
        group=group,
        flops_per_s=flops_per_s,
        memory_bytes=memory_bytes,
        down_bps=down_bps,
        up_bps=up_bps,
        latency_ms=Constant(value=latency_ms),
        links_down=tuple(links_down),
        links_up=tuple(links_up),
        stragglers=stragglers or NoStragglers(),
        rng=rng if rng is not None else np.random.default_rng(0),
    )


def read_events(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@dataclass
class RecordingOwner:
    """An owner whose tasks all cost the same, that records every aggregation as ``(round, version, now,
    [(device id, base version, staleness), ...], oldest held version)`` and stops after ``stop_after``."""

    stop_after: int
    k: int = 1
    costs_by_round: bool = True
    next_k: dict = field(default_factory=dict)  # round -> K for the following aggregation
    remodel: object = lambda round: None  # round -> remodel threshold
    accepts: object = lambda client: True
    calls: list = field(default_factory=list)
    oldest: list = field(default_factory=list)
    task_cost: TaskCost = TaskCost(download_bytes=1_000_000, flops=1e9, upload_bytes=500_000, footprint_bytes=0)

    def cost(self, task):
        return self.task_cost if self.accepts(task.client) else None

    def aggregate(self, round, version, arrivals, oldest_held_version, now):
        self.calls.append((round, version, round_6(now), [(f"d-{a.client}", a.base_version, a.staleness)
                                                           for a in arrivals]))
        self.oldest.append(oldest_held_version)
        self.k = self.next_k.get(round, self.k)
        return Outcome(next_k=self.k, remodel_staleness=self.remodel(round), stop=round >= self.stop_after)


def round_6(value: float) -> float:
    return round(value, 6)


def run_protocol(tmp_path, owner, make_server, speeds=SPEEDS, availability=None, failures=None, devices=None,
                 horizon_s=1000):
    """Run ``make_server(env, fleet, tasks, log)`` on three devices of ``speeds`` (or ``devices``) until it stops
    or ``horizon_s``; returns the server, the event rows and the environment."""
    env = simpy.Environment()
    path = tmp_path / "events.csv"
    log = EventLog(path)
    devices = devices or [make_device(f"d-{i}", i, latency_ms=10.0, flops_per_s=f) for i, f in enumerate(speeds)]
    fleet = Fleet(env, devices, log)
    availability = availability or [iter([(0.0, True)]) for _ in devices]
    rng = np.random.default_rng(0)
    outages = [failures.outages(d.id, rng) if failures else iter(()) for d in devices]
    fleet.start(availability, outages)
    server = make_server(env, fleet, TaskRunner(env, FlowScheduler(env), log), log)
    env.process(server.process())
    env.run(until=server.stopped | env.timeout(horizon_s))
    log.close()
    return server, read_events(path), env


def rows_of(rows, kind, device=None):
    return [r for r in rows if r["kind"] == kind and (device is None or r["device"] == device)]

