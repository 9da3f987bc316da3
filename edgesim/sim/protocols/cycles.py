"""Clients that train in continuous cycles, the base of the buffered and periodic protocols.

Each participant (a device that can take a task: ``task_cost``, evaluated
once at time 0) runs cycles: download the server's current model, compute,
upload, and start again at once on the model current then; an upload goes
into the server's buffer and never waits for an aggregation (unlike the
K-async server, whose arrived devices idle until they are sent the next
model). At most ``concurrency`` participants train at a time (all of them
when it is ``None``); when a slot is free, the server starts a ready idle
participant, drawn uniformly at random (the server's stream) when more are
ready than slots are free, else in fleet order. A participant that is not
ready is started once it becomes ready and a slot is free. Failures and loss
of availability interrupt a cycle as in every protocol; the device then
starts again when it can.

Subclasses decide when the buffer is aggregated (``process``). Staleness of
an arrival = the server's version when it is aggregated minus the version it
was computed on. A device that starts again before the model has changed
trains the same version again, on a fresh seed (``Arrival.repeat``). Rows: task rows carry round = aggregations (or periods) so
far + 1 and the version downloaded; at an aggregation ``update_applied``
(round, base version, staleness, bytes) for each arrival, then the server row
``aggregate`` (round, the new version, time since the previous aggregation).
"""

from __future__ import annotations

import numpy as np
import simpy

from edgesim.sim.device import Device
from edgesim.sim.event_log import SERVER, EventLog
from edgesim.sim.fleet import Fleet
from edgesim.sim.protocols.base import Owner, task_cost
from edgesim.sim.task import TaskPlan, TaskResult, TaskRunner
from edgesim.work import Arrival, Outcome, Task


class CyclingServer:
    """Participants cycle continuously; ``aggregate_buffer`` folds arrived updates in (called by subclasses)."""

    def __init__(self, env: simpy.Environment, fleet: Fleet, tasks: TaskRunner, log: EventLog, owner: Owner,
                 concurrency: int | None, rng: np.random.Generator):
        self.env, self.fleet, self.tasks, self.log, self.owner, self.rng = env, fleet, tasks, log, owner, rng
        self.participants = [d for d in fleet.devices if task_cost(owner, d, 1, 0) is not None]
        if not self.participants:
            raise ValueError(f"{type(self).__name__}: no eligible device")
        self.concurrency = len(self.participants) if concurrency is None else min(concurrency,
                                                                                  len(self.participants))
        self.version = 0
        self.round = 0
        """Aggregations (buffered) or periods (periodic) so far."""
        self.stopped = env.event()
        self.buffer: list[TaskResult] = []
        self.running: dict[Device, int] = {}
        """Training devices -> the version they train on."""
        self._idle: dict[Device, None] = dict.fromkeys(self.participants)  # insertion-ordered set
        self._last: dict[Device, tuple[int, int]] = {}
        """Device -> (the version of its last task, how many tasks it has run on that version)."""
        self._waiting: simpy.Event | None = None
        self._last_aggregation = 0.0

    # --- cycles

    def start(self) -> None:
        """Fill the training slots at time 0."""
        self._fill()

    def _fill(self) -> None:
        """Start ready idle participants while slots are free; otherwise watch for one to become ready."""
        if self.stopped.triggered:
            return
        free = self.concurrency - len(self.running)
        if free <= 0:
            return
        ready = [device for device in self._idle if device.ready]
        if len(ready) > free:
            ready = [ready[i] for i in sorted(int(i) for i in self.rng.choice(len(ready), free, replace=False))]
        for device in ready:
            self._start_cycle(device)
        if len(self.running) < self.concurrency and self._idle and self._waiting is None:
            self._waiting = self.fleet.wait_ready(1, lambda d: d in self._idle)
            self._waiting.callbacks.append(self._became_ready)

    def _became_ready(self, event: simpy.Event) -> None:
        self._waiting = None
        self._fill()

    def _start_cycle(self, device: Device) -> None:
        del self._idle[device]
        round = self.round + 1
        cost = self.owner.cost(Task(device.index, round, self.version))
        version, earlier = self._last.get(device, (None, 0))
        repeat = earlier if version == self.version else 0
        self._last[device] = (self.version, repeat + 1)
        plan = TaskPlan(round, self.version, cost.download_bytes, cost.flops, cost.upload_bytes, repeat)
        device.busy = True
        self.running[device] = self.version
        device.task = self.env.process(self.tasks.run(device, plan))
        device.task.callbacks.append(self._cycle_ended)

    def _cycle_ended(self, event: simpy.Event) -> None:
        if not event.ok:
            return  # the task raised: SimPy raises its own error
        result: TaskResult = event.value
        device = result.device
        del self.running[device]
        self._idle[device] = None
        self.fleet.release(device)
        if result.arrived and not self.stopped.triggered:
            self.buffer.append(result)
            self.arrived()
        self._fill()

    def arrived(self) -> None:
        """An upload entered the buffer (subclasses may wake their process)."""

    # --- aggregation

    def aggregate_buffer(self, taken: list[TaskResult]) -> Outcome:
        """Hand ``taken`` (arrival order; may be empty) to the owner as round ``self.round``; the version
        advances when it was not empty. Stops the server when the owner says so."""
        now, version = self.env.now, self.version
        for r in taken:
            self.log.emit(now, r.device.id, "update_applied", self.round, r.plan.version,
                          staleness=version - r.plan.version, nbytes=r.plan.upload_bytes)
        arrivals = [Arrival(r.device.index, r.plan.version, version - r.plan.version, r.plan.repeat) for r in taken]
        oldest_held = min([*self.running.values(), *(r.plan.version for r in taken)], default=version)
        outcome = self.owner.aggregate(self.round, version, arrivals, oldest_held, now)
        if taken:
            self.version += 1
            self.log.emit(now, SERVER, "aggregate", self.round, self.version, duration=now - self._last_aggregation)
            self._last_aggregation = now
        if outcome.stop:
            self.stopped.succeed()
        return outcome
