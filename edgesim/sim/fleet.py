"""The fleet: devices plus the processes that switch them on and off.

Availability and failure processes run for every device from time 0; when a
device stops being available or fails, the task it is running (if any) is
interrupted and its work is lost. The server asks the fleet which devices are
ready and may wait until enough are.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import simpy

from edgesim.sim.device import Device
from edgesim.sim.event_log import EventLog


class Fleet:
    def __init__(self, env: simpy.Environment, devices: list[Device], log: EventLog):
        self.env = env
        self.devices = devices
        self.log = log
        self._waiters: list[tuple[int, Callable[[Device], bool], simpy.Event]] = []

    def start(self, availability: Iterable[Iterator], outages: Iterable[Iterator]) -> None:
        """Start one availability and one failure process per device (iterators in device order)."""
        for device, changes, device_outages in zip(self.devices, availability, outages):
            self.env.process(self._availability(device, changes))
            self.env.process(self._failures(device, device_outages))

    def ready(self) -> list[Device]:
        return [d for d in self.devices if d.ready]

    def wait_ready(self, count: int, accepts: Callable[[Device], bool] = lambda d: True) -> simpy.Event:
        """An event that fires once at least ``count`` ready devices pass ``accepts``."""
        event = self.env.event()
        self._waiters.append((count, accepts, event))
        self.notify()
        return event

    def notify(self) -> None:
        """Re-check waiters after a device's state changed."""
        if not self._waiters:
            return
        still_waiting = []
        for count, accepts, event in self._waiters:
            if sum(1 for d in self.devices if d.ready and accepts(d)) >= count:
                event.succeed()
            else:
                still_waiting.append((count, accepts, event))
        self._waiters = still_waiting

    def release(self, device: Device) -> None:
        """A device finished (or lost) its task."""
        device.busy = False
        device.task = None
        self.notify()

    def _interrupt(self, device: Device, cause: str) -> None:
        if device.task is not None and device.task.is_alive:
            device.task.interrupt(cause)

    def _availability(self, device: Device, changes: Iterator[tuple[float, bool]]):
        for time, available in changes:
            if time > self.env.now:
                yield self.env.timeout(time - self.env.now)
            if time == 0.0 and available:
                continue  # the default state needs no row
            device.available = available
            self.log.emit(self.env.now, device.id, "available" if available else "unavailable")
            if not available:
                self._interrupt(device, "unavailable")
            self.notify()

    def _failures(self, device: Device, outages: Iterator[tuple[float, float]]):
        for time, duration in outages:
            if time > self.env.now:
                yield self.env.timeout(time - self.env.now)
            device.up = False
            self.log.emit(self.env.now, device.id, "failure", duration=duration)
            self._interrupt(device, "failure")
            yield self.env.timeout(duration)
            device.up = True
            self.log.emit(self.env.now, device.id, "recovery", duration=duration)
            self.notify()
