"""K-asynchronous FL (``server.protocol: {kind: kasync}``): aggregate the first K arrivals, whatever model they
were trained on.

The setting of WKAFL / AKAFL-RJ. The server holds a model ``version`` (0 at
the start, +1 per aggregation; an iteration is one aggregation). Every
eligible device runs *cycles*: download the server's current model, compute
one unit of work on it, upload. From time 0 each eligible device starts a
cycle as soon as it is ready (available, up, not busy); one that is not ready
starts when it becomes ready (the fleet's ``wait_ready`` event, no polling).
An arrived upload goes into the server's buffer, and its device stays busy
and idle, holding its model, until the server sends it a new one.

When the buffer holds at least ``K_t`` arrivals, the server takes the first
``K_t`` in arrival order and hands them to the owner, which trains and
aggregates them, and picks ``K_{t+1}`` (adaptive K is the algorithm's
business; ``K_0`` is its ``algorithm.k``). The version advances, and those ``K_t`` devices start a new cycle
on the new model at once; one that is no longer ready (failed or unavailable
while it idled) restarts when it is ready again. Aggregation takes no
simulated time.

Staleness of an arrival = the server's version when it is aggregated minus
the version it was computed on (0 when nothing was aggregated meanwhile).
The staleness of a device = the server's version minus the version of the
model it holds.

Remodel: the owner may ask that, after an aggregation, every other device
whose model is stale by more than a threshold be sent the current model. A
remodelled device whose arrival waits in the buffer loses it
(``update_discarded``); one that is mid-cycle is interrupted (its task logs
``<phase>_interrupted``) and restarts on the current model. Devices waiting to
become ready are left alone: they download the current model when they start.

Failures and loss of availability interrupt cycles in flight as in the
synchronous protocol; an arrival already in the buffer is not affected.

Ties: SimPy runs simultaneous events in the order they were scheduled, so
uploads that end at the same instant enter the buffer in that order (two
devices with identical timings, started together, arrive in start order, i.e.
fleet order at time 0); when such ties leave more than ``K_t`` arrivals in the
buffer, the next aggregation may happen at the same instant.

Rows: ``update_applied`` (round = iteration, model_version = base version,
staleness, bytes = upload bytes) for each aggregated arrival, then the server
row ``aggregate`` (round = iteration, model_version = the new version,
duration = time since the previous aggregation); ``remodel`` (round =
iteration, model_version = the new version, staleness before remodel);
``update_discarded`` (round = iteration, model_version = base version,
staleness, bytes). Task rows carry round = the iteration under way when the
cycle started (aggregations so far + 1) and the model version downloaded.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

import simpy

from edgesim.sim.device import Device
from edgesim.sim.event_log import SERVER, EventLog
from edgesim.sim.fleet import Fleet
from edgesim.sim.protocols.base import Owner, ProtocolConfig, register_protocol, task_cost
from edgesim.sim.task import TaskPlan, TaskResult, TaskRunner
from edgesim.work import Arrival, Task

REMODEL = "remodel"
"""The ``Interrupt.cause`` of a server-initiated interruption (the fleet's are ``failure``/``unavailable``)."""


@register_protocol
class KAsyncProtocol(ProtocolConfig):
    kind: Literal["kasync"] = "kasync"

    def server(self, env, fleet, tasks, log, owner, context):
        if context.k is None:
            raise ValueError("K-async: the algorithm gives no K (algorithm.k)")
        return KAsyncServer(env, fleet, tasks, log, owner, context.k)


class KAsyncServer:
    """The server process of K-asynchronous FL.

    State: ``buffer`` (arrived ``TaskResult``s, arrival order), ``model_version_of``
    (device id -> version of the model it holds or is downloading), ``k`` (the
    current K), ``iteration`` (aggregations so far), ``version``.
    """

    def __init__(self, env: simpy.Environment, fleet: Fleet, tasks: TaskRunner, log: EventLog, owner: Owner,
                 initial_k: int):
        self.env, self.fleet, self.tasks, self.log = env, fleet, tasks, log
        self.owner = owner
        self.participants = [d for d in fleet.devices if task_cost(owner, d, 1, 0) is not None]  # evaluated once
        if not self.participants:
            raise ValueError("K-async: no eligible device")
        self.k = self._clamp_k(initial_k)
        self.version = 0
        self.iteration = 0
        self.stopped = env.event()
        self.buffer: deque[TaskResult] = deque()
        self.model_version_of: dict[str, int] = {}
        self._pending: dict[Device, None] = {}  # waiting to become ready, insertion-ordered
        self._pending_event: simpy.Event | None = None
        self._remodelled: set[Device] = set()  # interrupted (or arrived) after a remodel decision
        self._wake: simpy.Event | None = None
        self._last_aggregation = 0.0

    def describe_wait(self) -> str:
        """What the server is waiting for now, in words (the reason given for a run that stalled)."""
        return (f"iteration {self.iteration + 1} was waiting for K = {self.k} arrivals "
                f"({len(self.buffer)} had arrived)")

    def _clamp_k(self, k: int) -> int:
        """K >= 1; more than the participants could never be reached, so it is capped at their number."""
        if k < 1:
            raise ValueError(f"K-async: K must be >= 1, got {k}")
        return min(k, len(self.participants))

    def process(self):
        for device in self.participants:
            self._start_or_wait(device)
        while True:
            while len(self.buffer) < self.k:
                self._wake = self.env.event()
                yield self._wake
            self._wake = None
            now = self.env.now
            self.iteration += 1
            taken = [self.buffer.popleft() for _ in range(self.k)]
            for r in taken:
                self.log.emit(now, r.device.id, "update_applied", self.iteration, r.plan.version,
                              staleness=self.version - r.plan.version, nbytes=r.plan.upload_bytes)
            arrivals = [Arrival(r.device.index, r.plan.version, self.version - r.plan.version) for r in taken]
            oldest_held = min(self.model_version_of.values(), default=self.version)
            outcome = self.owner.aggregate(self.iteration, self.version, arrivals, oldest_held, now)
            self.version += 1
            self.log.emit(now, SERVER, "aggregate", self.iteration, self.version,
                          duration=now - self._last_aggregation)
            self._last_aggregation = now
            if outcome.stop:
                self.stopped.succeed()
                return
            if outcome.next_k is not None:
                self.k = self._clamp_k(outcome.next_k)
            for r in taken:
                self._send_model(r.device)
            if outcome.remodel_staleness is not None:
                self._remodel(outcome.remodel_staleness, {r.device for r in taken})

    # --- cycles -------------------------------------------------------------------------------

    def _start_or_wait(self, device: Device) -> None:
        if self.stopped.triggered:
            return
        if device.ready:
            self._start_cycle(device)
        else:
            self._pending[device] = None
            self._watch_pending()

    def _start_cycle(self, device: Device) -> None:
        cost = self.owner.cost(Task(device.index, self.iteration + 1, self.version))
        plan = TaskPlan(self.iteration + 1, self.version, cost.download_bytes, cost.flops, cost.upload_bytes)
        device.busy = True
        self.model_version_of[device.id] = self.version
        device.task = self.env.process(self.tasks.run(device, plan))
        device.task.callbacks.append(self._cycle_ended)

    def _send_model(self, device: Device) -> None:
        """The device (idle, holding an old model) is given the current one."""
        self.fleet.release(device)
        self._start_or_wait(device)

    def _cycle_ended(self, event: simpy.Event) -> None:
        if not event.ok:
            return  # the task raised: SimPy raises its own error
        result: TaskResult = event.value
        device = result.device
        remodelled = device in self._remodelled
        self._remodelled.discard(device)
        if result.arrived and not remodelled and not self.stopped.triggered:
            device.task = None  # still busy: idle, holding its model, until the server sends one
            self.buffer.append(result)
            if self._wake is not None and not self._wake.triggered and len(self.buffer) >= self.k:
                self._wake.succeed()
            return
        if result.arrived and remodelled and not self.stopped.triggered:
            # the upload ended in the same instant as the remodel decision, before this callback
            self.log.emit(result.time, device.id, "update_discarded", self.iteration, result.plan.version,
                          staleness=self.version - result.plan.version, nbytes=result.plan.upload_bytes)
            self.tasks.meter.lost(result.energy_j)
        # interrupted (failure, unavailability, remodel) or the run has stopped
        self.fleet.release(device)
        self._start_or_wait(device)

    def _watch_pending(self) -> None:
        if self._pending and self._pending_event is None:
            self._pending_event = self.fleet.wait_ready(1, lambda d: d in self._pending)
            self._pending_event.callbacks.append(self._pending_ready)

    def _pending_ready(self, event: simpy.Event) -> None:
        self._pending_event = None
        if self.stopped.triggered:
            return
        for device in [d for d in self._pending if d.ready]:
            del self._pending[device]
            self._start_cycle(device)
        self._watch_pending()

    # --- remodel ------------------------------------------------------------------------------

    def _remodel(self, threshold: int, just_sent: set[Device]) -> None:
        if threshold < 0:
            raise ValueError(f"K-async: remodel_staleness must be >= 0, got {threshold}")
        now = self.env.now
        waiting = {r.device: r for r in self.buffer}
        for device in self.participants:
            if device in just_sent or device in self._pending or device in self._remodelled:
                continue
            held = self.model_version_of.get(device.id)
            if held is None or self.version - held <= threshold:
                continue
            staleness = self.version - held
            self.log.emit(now, device.id, "remodel", self.iteration, self.version, staleness=staleness)
            result = waiting.get(device)
            if result is not None:
                self.buffer.remove(result)
                self.log.emit(now, device.id, "update_discarded", self.iteration, result.plan.version,
                              staleness=staleness, nbytes=result.plan.upload_bytes)
                self.tasks.meter.lost(result.energy_j)
                self._send_model(device)
            elif device.task is not None:
                self._remodelled.add(device)  # _cycle_ended restarts it
                if device.task.is_alive:
                    device.task.interrupt(REMODEL)
