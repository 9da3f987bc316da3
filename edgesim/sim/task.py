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


@dataclass(frozen=True)
class TaskPlan:
    """What a device is asked to do, and which model version it trains on."""

    round: int
    version: int
    download_bytes: int
    flops: float
    upload_bytes: int


@dataclass(frozen=True)
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
        env, log, name = self.env, self.log, device.id
        phase, started = "download", env.now
        try:
            log.emit(started, name, "download_start", plan.round, plan.version, nbytes=plan.download_bytes)
            yield from self.transfer(device, plan.download_bytes, "down")
            log.emit(env.now, name, "download_end", plan.round, plan.version, nbytes=plan.download_bytes,
                     duration=env.now - started)
            phase, started = "compute", env.now
            log.emit(started, name, "compute_start", plan.round, plan.version)
            yield env.timeout(device.compute_seconds(plan.flops))
            log.emit(env.now, name, "compute_end", plan.round, plan.version, duration=env.now - started)
            phase, started = "upload", env.now
            log.emit(started, name, "upload_start", plan.round, plan.version, nbytes=plan.upload_bytes)
            yield from self.transfer(device, plan.upload_bytes, "up")
            log.emit(env.now, name, "upload_end", plan.round, plan.version, nbytes=plan.upload_bytes,
                     duration=env.now - started)
            return TaskResult(device, plan, True, env.now)
        except simpy.Interrupt:
            log.emit(env.now, name, f"{phase}_interrupted", plan.round, plan.version, duration=env.now - started)
            return TaskResult(device, plan, False, env.now)
