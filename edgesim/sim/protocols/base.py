"""What every protocol server shares: its config base and registry, the owner it asks, and eligibility.

A protocol decides when clients work and when the server aggregates; the
server it runs (``Server``) asks its ``Owner`` (the coordinator, which holds
the strategy) what a task costs and hands it the arrivals to aggregate, and
owns the model ``version``. A device may take a task when the owner gives it
a cost (it holds data) and the device's memory fits the task's footprint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import simpy

from edgesim.config_model import ConfigModel
from edgesim.registry import Kinds
from edgesim.sim.device import Device
from edgesim.sim.event_log import EventLog
from edgesim.sim.fleet import Fleet
from edgesim.sim.selection import Selector, UniformSelection
from edgesim.sim.task import TaskRunner
from edgesim.work import Arrival, Outcome, Task, TaskCost


class Owner(Protocol):
    """The side of the run that trains: it prices tasks, aggregates arrivals and may rank clients by loss."""

    costs_by_round: bool
    """Whether a task's cost depends on its round; otherwise a server may ask once per client."""

    def cost(self, task: Task) -> TaskCost | None:
        """What ``task`` asks of a device; ``None`` when its client holds no data for it."""

    def aggregate(self, round: int, version: int, arrivals: Sequence[Arrival], oldest_held_version: int,
                  now: float) -> Outcome:
        """Fold ``arrivals`` (possibly none: a round that closed empty) into model ``version``; return the
        decisions for the clock and whether the run stops."""

    def client_losses(self, round: int, clients: Sequence[int]) -> list[float]:
        """The global model's loss on each client's data (for loss-ranking selectors)."""


@dataclass(frozen=True)
class RoundRules:
    """How the synchronous protocol selects a round's clients (the scenario's ``server.*`` keys)."""

    clients_per_round: int = 10
    min_clients: int = 10
    over_selection: float = 0.0
    deadline_s: float | None = None
    selection: Selector = UniformSelection()


@dataclass(frozen=True)
class ProtocolContext:
    """What a protocol server may need besides its own config block: the scenario's round rules, the
    strategy's K (its ``algorithm.k``, for protocols that count arrivals) and the server's random stream."""

    rng: np.random.Generator
    rounds: RoundRules = RoundRules()
    k: int | None = None


class Server(Protocol):
    """A protocol's server process on the clock."""

    version: int
    """The global model's version: 0 at the start, +1 per aggregation of at least one update."""
    stopped: simpy.Event
    """Fires when the owner's stop rules end the run."""

    def process(self):
        """The SimPy process body."""

    def describe_wait(self) -> str:
        """What the server waits for now, in words (the reason given for a run that stalled)."""


class ProtocolConfig(ConfigModel):
    """Base of every ``server.protocol`` block: a ``kind: Literal[...]`` and the server it runs."""

    def server(self, env: simpy.Environment, fleet: Fleet, tasks: TaskRunner, log: EventLog, owner: Owner,
               context: ProtocolContext) -> Server:
        raise NotImplementedError


PROTOCOLS: Kinds[ProtocolConfig] = Kinds("protocol", "kind")
register_protocol = PROTOCOLS.register
"""Class decorator: adds a ``ProtocolConfig`` subclass as a ``server.protocol`` kind."""


def task_cost(owner: Owner, device: Device, round: int, version: int) -> TaskCost | None:
    """The cost of ``device``'s task in ``round`` from model ``version``, or ``None`` when it cannot take it
    (no data for it, or too little memory for its footprint)."""
    cost = owner.cost(Task(device.index, round, version))
    return cost if cost is not None and device.memory_bytes >= cost.footprint_bytes else None
