"""Synchronous rounds (``server.protocol: {kind: sync}``): select, broadcast, wait, aggregate.

Each round the server waits until ``min_clients`` eligible devices are ready,
selects ``ceil(clients_per_round * (1 + over_selection))`` of them (at most
as many as are ready; uniformly unless ``selection`` says otherwise,
``edgesim.sim.selection``), and starts a task on each. The round closes
when ``clients_per_round`` updates have arrived, when every selected task has
ended (arrived or lost), or at the deadline, whichever comes first. Updates
that arrive after the close are logged as ``update_discarded`` and never
trained. At the close the accepted updates are handed to the round's owner
(the owner), which trains and aggregates them; the model version
advances when at least one update was accepted. The round's rules are the
scenario's ``server.clients_per_round``, ``min_clients``, ``over_selection``,
``deadline_s`` and ``selection`` (``RoundRules``).

Ties: SimPy runs simultaneous events in the order they were scheduled, so two
updates arriving at the same instant are accepted in selection order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import simpy

from edgesim.sim.device import Device
from edgesim.sim.event_log import SERVER, EventLog
from edgesim.sim.fleet import Fleet
from edgesim.sim.protocols.base import Owner, ProtocolConfig, ProtocolContext, register_protocol, task_cost
from edgesim.sim.selection import RoundView
from edgesim.sim.task import TaskPlan, TaskResult, TaskRunner
from edgesim.work import Arrival, TaskCost


@register_protocol
class SyncProtocol(ProtocolConfig):
    kind: Literal["sync"] = "sync"

    def server(self, env, fleet, tasks, log, owner, context):
        return SyncServer(env, fleet, tasks, log, owner, context)


class _Costs(dict):
    """A round's task costs by device (every round's, when they do not depend on the round), asked of the owner
    once per device (``None``: the device cannot take part). ``eligible`` is a dict lookup, as fast as the
    fleet's scans need it."""

    __slots__ = ("owner", "round", "version", "eligible")

    def __init__(self, owner: Owner, round: int, version: int):
        super().__init__()
        self.owner, self.round, self.version = owner, round, version
        self.eligible = _Eligible(self)
        """Device -> whether it can take the round's task."""

    def __missing__(self, device: Device) -> TaskCost | None:
        cost = self[device] = task_cost(self.owner, device, self.round, self.version)
        return cost

    def __call__(self, device: Device) -> TaskCost | None:
        return self[device]


class _Eligible(dict):
    """Device -> whether its cost is not ``None``, filled from the costs on first use."""

    __slots__ = ("costs",)

    def __init__(self, costs: _Costs):
        super().__init__()
        self.costs = costs

    def __missing__(self, device: Device) -> bool:
        able = self[device] = self.costs[device] is not None
        return able

    def __call__(self, device: Device) -> bool:
        return self[device]


def checked(selector, chosen, ready: int, count: int) -> list[int]:
    """``chosen`` if it is what a selector must return (``count`` distinct indices into ``ready`` devices, in
    increasing order); a selector of the user's that returns anything else stops the run with its reason."""
    chosen = list(chosen)
    if (len(chosen) != count or len(set(chosen)) != count or chosen != sorted(chosen)
            or any(not isinstance(i, int) or not 0 <= i < ready for i in chosen)):
        raise RuntimeError(f"server.selection {selector.kind!r} returned {chosen[:10]!r}: a selector must return "
                           f"{count} distinct indices into the {ready} ready devices, in increasing order")
    return chosen


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

    def __init__(self, env: simpy.Environment, fleet: Fleet, tasks: TaskRunner, log: EventLog, owner: Owner,
                 context: ProtocolContext):
        self.env, self.fleet, self.tasks, self.log = env, fleet, tasks, log
        self.owner, self.settings, self.rng = owner, context.rounds, context.rng
        self.version = 0
        self.round = 0
        self.closed = 0
        """Rounds closed so far."""
        self.stopped = env.event()
        self._costs: _Costs | None = None
        self._waiting_since: float | None = None
        self._round_started = 0.0

    def describe_wait(self) -> str:
        """What the server is waiting for now, in words (the reason given for a run that stalled)."""
        if self.version == 0 and self.closed:
            return (f"all {self.closed} rounds closed without an update (a deadline shorter than every task, or "
                    "tasks lost to failures, availability or low batteries)")
        if self._waiting_since is not None:
            ready = sum(1 for device in self.fleet.ready() if self._costs.eligible(device))
            return (f"round {self.round} had been waiting since {self._waiting_since:.0f} s for "
                    f"{self.settings.min_clients} ready devices that hold data for it ({ready} were ready at the "
                    "end)")
        return f"round {self.round} was still open (it started at {self._round_started:.0f} s)"

    def process(self):
        settings = self.settings
        while True:
            self.round += 1
            if self._costs is None or self.owner.costs_by_round:  # else a client's cost stays what it was
                self._costs = _Costs(self.owner, self.round, self.version)
            costs = self._costs
            candidates: list[Device] = []
            self._waiting_since = self.env.now
            while len(candidates) < settings.min_clients:  # re-check: states may change within an instant
                yield self.fleet.wait_ready(settings.min_clients, costs.eligible.__getitem__)
                candidates = list(filter(costs.eligible.__getitem__, self.fleet.ready()))  # fleet order
            self._waiting_since = None
            count = min(len(candidates), math.ceil(settings.clients_per_round * (1 + settings.over_selection)))
            chosen = checked(settings.selection, settings.selection.choose(
                candidates, count, self.rng, RoundView(self._client_losses, costs, settings.deadline_s)),
                len(candidates), count)
            start = self._round_started = self.env.now
            current = _Round(self, self.round, settings.clients_per_round, count, self.env.event())
            self.log.emit(start, SERVER, "round_start", self.round, self.version)
            for i in chosen:
                self._start_task(candidates[i], costs(candidates[i]), current)
            if settings.deadline_s is None:
                yield current.complete
            else:
                yield current.complete | self.env.timeout(settings.deadline_s)
            current.closed = True
            self.log.emit(self.env.now, SERVER, "round_end", self.round, self.version, duration=self.env.now - start)
            for result in current.accepted:
                self.log.emit(self.env.now, result.device.id, "update_applied", self.round, self.version,
                              staleness=0, nbytes=result.plan.upload_bytes)
            self.closed += 1
            arrivals = [Arrival(result.device.index, self.version, 0) for result in current.accepted]
            outcome = self.owner.aggregate(self.round, self.version, arrivals, self.version, self.env.now)
            if current.accepted:
                self.version += 1
            if outcome.stop:
                self.stopped.succeed()
                return

    def _client_losses(self, devices) -> list[float]:
        return self.owner.client_losses(self.round, [device.index for device in devices])

    def _start_task(self, device: Device, cost: TaskCost, current: _Round) -> None:
        task_plan = TaskPlan(current.number, self.version, cost.download_bytes, cost.flops, cost.upload_bytes)
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
                self.tasks.meter.lost(result.energy_j)
            else:
                current.accepted.append(result)
        if not current.closed and not current.complete.triggered and (
            len(current.accepted) >= current.wanted or current.ended >= current.selected
        ):
            current.complete.succeed()
