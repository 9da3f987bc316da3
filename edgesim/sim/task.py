"""One unit of device work: download the model, compute, upload the update.

The task is a SimPy process. A failure, loss of availability or a drained
battery interrupts it in whichever phase it is; the phase is logged as
``<phase>_interrupted`` and the task ends without an update. Transfers that
cross shared links go through the ``FlowScheduler``; others take
``latency + bytes / bandwidth``. Every phase's energy (``edgesim.sim.energy``)
goes into its end or interrupted row and the meter; an interrupted task's
energy counts as lost. A device with a battery drains at each phase's draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import simpy

from edgesim.sim.device import Device
from edgesim.sim.energy import COMPUTE, TRANSFER, EnergyMeter
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
    repeat: int = 0
    """Earlier tasks of this device on the same version (``edgesim.work.Arrival.repeat``)."""


@dataclass(frozen=True, slots=True)
class TaskResult:
    device: Device
    plan: TaskPlan
    arrived: bool
    time: float
    energy_j: float = 0.0
    """What the task's phases cost, J."""


class TaskRunner:
    """Runs tasks on devices against one clock, one scheduler and one log."""

    def __init__(self, env: simpy.Environment, scheduler: FlowScheduler, log: EventLog,
                 meter: EnergyMeter | None = None):
        self.env = env
        self.scheduler = scheduler
        self.log = log
        self.meter = meter or EnergyMeter()
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
        env, emit, name, meter, power = self.env, self._emit, device.id, self.meter, device.power
        round, version, down, up = plan.round, plan.version, plan.download_bytes, plan.upload_bytes
        phase, started, energy = "download", env.now, 0.0
        try:
            emit(started, name, "download_start", round, version, None, down)
            device.draw(TRANSFER)
            yield from self.transfer(device, down, "down")
            now = env.now
            joules = meter.phase(power, TRANSFER, now - started)
            energy += joules
            emit(now, name, "download_end", round, version, None, down, now - started, joules)
            phase, started = "compute", now
            emit(now, name, "compute_start", round, version)
            device.draw(COMPUTE)
            yield env.timeout(device.compute_seconds(plan.flops))
            now = env.now
            joules = meter.phase(power, COMPUTE, now - started)
            energy += joules
            emit(now, name, "compute_end", round, version, None, None, now - started, joules)
            phase, started = "upload", now
            emit(now, name, "upload_start", round, version, None, up)
            device.draw(TRANSFER)
            yield from self.transfer(device, up, "up")
            now = env.now
            joules = meter.phase(power, TRANSFER, now - started)
            energy += joules
            emit(now, name, "upload_end", round, version, None, up, now - started, joules)
            device.draw(None)
            return TaskResult(device, plan, True, now, energy)
        except simpy.Interrupt:
            now = env.now
            joules = meter.phase(power, COMPUTE if phase == "compute" else TRANSFER, now - started)
            meter.lost(energy + joules)
            emit(now, name, f"{phase}_interrupted", round, version, None, None, now - started, joules)
            device.draw(None)
            return TaskResult(device, plan, False, now, energy + joules)
