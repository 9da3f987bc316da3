"""One unit of device work: download the model, compute, upload the update.

The task is a SimPy process. A failure or loss of availability interrupts it
in whichever phase it is; the phase is logged as ``<phase>_interrupted`` and
the task ends without an update. Transfers that cross shared links go
through the ``FlowScheduler``; others take ``latency + bytes / bandwidth``.
"""

from __future__ import annotations

from dataclasses import dataclass

import simpy

from edgesim.sim.device import Device
from edgesim.sim.event_log import EventLog
from edgesim.sim.links import FlowScheduler


@dataclass(frozen=True, slots=True)
class TaskPlan:
    """What a device is asked to do, and which model version it trains on."""

    round: int
    version: int
    download_bytes: int
    flops: float
    upload_bytes: int


@dataclass(frozen=True, slots=True)
class TaskResult:
    device: Device
    plan: TaskPlan
    arrived: bool
    time: float


class TaskRunner:
    """Runs tasks on devices against one clock, one scheduler and one log."""

    def __init__(self, env: simpy.Environment, scheduler: FlowScheduler, log: EventLog):
        self.env = env
        self.scheduler = scheduler
        self.log = log
        self._emit = log.emit  # bound once, not once per task

    def transfer(self, device: Device, nbytes: int, direction: str):
        """Latency, then the bytes at the device's rate or its share of shared links."""
        latency = device.latency_s()
        if latency > 0:
            yield self.env.timeout(latency)
        bits = nbytes * 8.0
        cap = device.down_bps if direction == "down" else device.up_bps
        links = device.links_down if direction == "down" else device.links_up
        if not links:
            yield self.env.timeout(bits / cap)
            return
        flow = self.scheduler.start(bits, cap, links)
        try:
            yield flow.done
        except simpy.Interrupt:
            self.scheduler.cancel(flow)
            raise

    def run(self, device: Device, plan: TaskPlan):
        """The task process body; returns a ``TaskResult``."""
        env, emit, name = self.env, self._emit, device.id
        round, version, down, up = plan.round, plan.version, plan.download_bytes, plan.upload_bytes
        phase, started = "download", env.now
        try:
            emit(started, name, "download_start", round, version, None, down)
            yield from self.transfer(device, down, "down")
            now = env.now
            emit(now, name, "download_end", round, version, None, down, now - started)
            phase, started = "compute", now
            emit(now, name, "compute_start", round, version)
            yield env.timeout(device.compute_seconds(plan.flops))
            now = env.now
            emit(now, name, "compute_end", round, version, None, None, now - started)
            phase, started = "upload", now
            emit(now, name, "upload_start", round, version, None, up)
            yield from self.transfer(device, up, "up")
            now = env.now
            emit(now, name, "upload_end", round, version, None, up, now - started)
            return TaskResult(device, plan, True, now)
        except simpy.Interrupt:
            now = env.now
            emit(now, name, f"{phase}_interrupted", round, version, None, None, now - started)
            return TaskResult(device, plan, False, now)
