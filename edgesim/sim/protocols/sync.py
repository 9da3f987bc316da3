"""Synchronous rounds: select, broadcast, wait, aggregate.

Each round the server waits until ``min_clients`` eligible devices are ready,
selects ``ceil(clients_per_round * (1 + over_selection))`` of them (at most
as many as are ready; uniformly unless ``selection`` says otherwise,
``edgesim.sim.selection``), and starts a task on each. The round closes
when ``clients_per_round`` updates have arrived, when every selected task has
ended (arrived or lost), or at the deadline, whichever comes first. Updates
that arrive after the close are logged as ``update_discarded`` and never
trained. At the close the accepted updates are handed to the round's owner
(the coordinator), which trains and aggregates them; the model version
advances when at least one update was accepted.

Ties: SimPy runs simultaneous events in the order they were scheduled, so two
updates arriving at the same instant are accepted in selection order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np
import simpy

from edgesim.sim.device import Device
from edgesim.sim.event_log import SERVER, EventLog
from edgesim.sim.fleet import Fleet
from edgesim.sim.selection import ClientLosses, Selection, UniformSelection
from edgesim.sim.task import TaskPlan, TaskResult, TaskRunner


@dataclass(frozen=True)
class SyncSettings:
    clients_per_round: int
    min_clients: int
    over_selection: float = 0.0
    deadline_s: float | None = None
    selection: Selection = UniformSelection()


@dataclass(frozen=True)
class RoundPlan:
    """What the algorithm asks of every device in one round."""

    download_bytes: int
    upload_bytes: int
    flops: Callable[[Device], float]
    eligible: Callable[[Device], bool]
    client_losses: ClientLosses | None = None
    """For selectors that rank devices by loss (``power_of_choice``)."""


class RoundOwner(Protocol):
    def plan_round(self, round: int) -> RoundPlan: ...

    def close_round(self, round: int, version: int, accepted: list[TaskResult], now: float) -> bool:
        """Train and aggregate ``accepted``; return True to stop the simulation."""


@dataclass(slots=True)
class _Round:
    server: SyncServer
    number: int
    wanted: int
    selected: int
    complete: simpy.Event
    accepted: list[TaskResult] = field(default_factory=list)
    ended: int = 0
    closed: bool = False

    def task_ended(self, event: simpy.Event) -> None:
        """A task's process ended (one bound method per task, not a closure: fewer objects for the GC). A task
        that raised is left alone, so that SimPy raises its own error."""
        if event.ok:
            self.server._task_ended(event.value, self)


class SyncServer:
    """The server process of synchronous FL."""

    def __init__(self, env: simpy.Environment, fleet: Fleet, tasks: TaskRunner, log: EventLog,
                 owner: RoundOwner, settings: SyncSettings, rng: np.random.Generator):
        self.env, self.fleet, self.tasks, self.log = env, fleet, tasks, log
        self.owner, self.settings, self.rng = owner, settings, rng
        self.version = 0
        self.round = 0
        self.stopped = env.event()
        self._plan: RoundPlan | None = None
        self._waiting_since: float | None = None
        self._round_started = 0.0

    def describe_wait(self) -> str:
        """What the server is waiting for now, in words (the reason given for a run that stalled)."""
        if self._waiting_since is not None:
            ready = sum(1 for device in self.fleet.ready() if self._plan.eligible(device))
            return (f"round {self.round} had been waiting since {self._waiting_since:.0f} s for "
                    f"{self.settings.min_clients} ready devices that hold data for it ({ready} were ready at the "
                    "end)")
        return f"round {self.round} was still open (it started at {self._round_started:.0f} s)"

    def process(self):
        settings = self.settings
        while True:
            self.round += 1
            plan = self._plan = self.owner.plan_round(self.round)
            candidates: list[Device] = []
            self._waiting_since = self.env.now
            while len(candidates) < settings.min_clients:  # re-check: states may change within an instant
                yield self.fleet.wait_ready(settings.min_clients, plan.eligible)
                candidates = list(filter(plan.eligible, self.fleet.ready()))  # fleet order
            self._waiting_since = None
            count = min(len(candidates), math.ceil(settings.clients_per_round * (1 + settings.over_selection)))
            chosen = settings.selection.choose(candidates, count, self.rng, plan.client_losses)
            start = self._round_started = self.env.now
            current = _Round(self, self.round, settings.clients_per_round, count, self.env.event())
            self.log.emit(start, SERVER, "round_start", self.round, self.version)
            for i in chosen:
                self._start_task(candidates[i], plan, current)
            if settings.deadline_s is None:
                yield current.complete
            else:
                yield current.complete | self.env.timeout(settings.deadline_s)
            current.closed = True
            self.log.emit(self.env.now, SERVER, "round_end", self.round, self.version, duration=self.env.now - start)
            for result in current.accepted:
                self.log.emit(self.env.now, result.device.id, "update_applied", self.round, self.version,
                              staleness=0, nbytes=result.plan.upload_bytes)
            stop = self.owner.close_round(self.round, self.version, current.accepted, self.env.now)
            if current.accepted:
                self.version += 1
            if stop:
                self.stopped.succeed()
                return

    def _start_task(self, device: Device, plan: RoundPlan, current: _Round) -> None:
        task_plan = TaskPlan(current.number, self.version, plan.download_bytes, plan.flops(device),
                             plan.upload_bytes)
        self.log.emit(self.env.now, device.id, "selected", current.number, self.version)
        device.busy = True
        device.task = self.env.process(self.tasks.run(device, task_plan))
        device.task.callbacks.append(current.task_ended)

    def _task_ended(self, result: TaskResult, current: _Round) -> None:
        self.fleet.release(result.device)
        current.ended += 1
        if result.arrived:
            if current.closed or len(current.accepted) >= current.wanted:
                self.log.emit(result.time, result.device.id, "update_discarded", current.number,
                              result.plan.version, nbytes=result.plan.upload_bytes)
            else:
                current.accepted.append(result)
        if not current.closed and not current.complete.triggered and (
            len(current.accepted) >= current.wanted or current.ended >= current.selected
        ):
            current.complete.succeed()
