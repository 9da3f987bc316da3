"""The fleet: devices plus the processes that switch them on and off.

Availability and failure processes run for every device from time 0; when a
device stops being available, fails or its battery runs low
(``edgesim.sim.battery``), the task it is running (if any) is interrupted and
its work is lost. The server asks the fleet which devices are ready and may
wait until enough are.
"""

from __future__ import annotations

from itertools import compress
from typing import Callable, Iterable, Iterator

import simpy

from edgesim.sim.battery import BATTERY_LOW, BATTERY_OK, Battery, BatteryPlan
from edgesim.sim.device import CapacityChange, Device
from edgesim.sim.event_log import EventLog


class _Waiter:
    """One ``wait_ready`` call: its event and how many ready devices it accepts now."""

    __slots__ = ("count", "accepts", "event", "members")

    def __init__(self, count: int, accepts: Callable[[Device], bool], event: simpy.Event):
        self.count = count
        self.accepts = accepts
        self.event = event
        self.members: set[Device] = set()  # ready devices that passed ``accepts`` when they became ready


class Fleet:
    """The devices, their ready set and the server's waits for ready devices.

    Readiness is kept incrementally: each device reports its own changes
    (``Device._refresh``), so ``ready()`` never evaluates the devices and a
    state change costs O(waiters), not O(fleet). A waiter counts the ready
    devices it accepts: all of them when it is registered, then each device
    as it becomes ready (``accepts`` is asked then) or stops being ready.
    ``accepts`` must therefore not change its answer for a device while that
    device stays ready and the waiter waits (true of round eligibility and of
    the K-async "waiting to start" set, whose members are never ready when
    they join it).
    """

    def __init__(self, env: simpy.Environment, devices: list[Device], log: EventLog):
        self.env = env
        self.devices = devices
        self.log = log
        self._waiters: list[_Waiter] = []
        self._slot: dict[Device, int] = {}
        self._flags = bytearray(len(devices))  # 1 where devices[i] is ready
        for i, device in enumerate(devices):
            if device in self._slot:
                raise ValueError(f"fleet: device {device.id} listed twice")
            self._slot[device] = i
            self._flags[i] = device.ready
            device._on_ready_change = self._ready_changed
        self._ready_count = sum(self._flags)
        self._dropped_out: set[str] = set()
        self.battery_low_at_start = 0
        """Devices whose battery started below the level to leave."""

    def start(self, availability: Iterable[Iterator], outages: Iterable[Iterator],
              capacity: Iterable[Iterator[CapacityChange]] = ()) -> None:
        """Start one availability and one failure process per device (iterators in device order), and one
        capacity process for each device whose iterator has changes."""
        for device, changes, device_outages in zip(self.devices, availability, outages):
            self.env.process(self._availability(device, changes))
            self.env.process(self._failures(device, device_outages))
        for device, changes in zip(self.devices, capacity):
            first = next(changes, None)
            if first is not None:
                self.env.process(self._capacity(device, first, changes))

    def ready(self) -> list[Device]:
        """The ready devices, in fleet order."""
        return list(compress(self.devices, self._flags))

    @property
    def ready_count(self) -> int:
        return self._ready_count

    def describe_unready(self) -> str:
        """Why devices cannot take work now, in words (``""`` when each one can or is busy): e.g. ``of the 6
        devices, 6 had a low battery``. A device may count under several reasons."""
        reasons = (("were unavailable", sum(not d.available for d in self.devices)),
                   ("were down after a failure", sum(not d.up for d in self.devices)),
                   ("had a low battery", sum(not d.powered for d in self.devices)))
        said = [f"{count} {reason}" for reason, count in reasons if count]
        return f"of the {len(self.devices)} devices, {', '.join(said)}" if said else ""

    def wait_ready(self, count: int, accepts: Callable[[Device], bool] = lambda d: True) -> simpy.Event:
        """An event that fires once at least ``count`` ready devices pass ``accepts``."""
        event = self.env.event()
        waiter = _Waiter(count, accepts, event)
        members = waiter.members
        for device in compress(self.devices, self._flags):
            if accepts(device):
                members.add(device)
                if len(members) >= count:
                    break  # it fires in the notify below, so the rest need not be known
        self._waiters.append(waiter)
        self.notify()
        return event

    def notify(self) -> None:
        """Fire the waiters that enough ready devices now satisfy (after a device's state changed)."""
        if not self._waiters:
            return
        still_waiting = []
        for waiter in self._waiters:
            if len(waiter.members) >= waiter.count:
                waiter.event.succeed()
            else:
                still_waiting.append(waiter)
        self._waiters = still_waiting

    def _ready_changed(self, device: Device, ready: bool) -> None:
        self._flags[self._slot[device]] = ready
        if ready:
            self._ready_count += 1
            for waiter in self._waiters:
                if waiter.accepts(device):
                    waiter.members.add(device)
        else:
            self._ready_count -= 1
            for waiter in self._waiters:
                waiter.members.discard(device)

    def brute_force_check(self) -> None:
        """Assert the incremental state equals a scan of the fleet (tests)."""
        scanned = [d for d in self.devices if d.available and d.up and d.powered and not d.busy]
        assert self.ready() == scanned, "ready set differs from a scan"
        assert self._ready_count == len(scanned), "ready count differs from a scan"
        for waiter in self._waiters:
            expected = {d for d in scanned if waiter.accepts(d)}
            assert waiter.members == expected, "waiter's accepted ready devices differ from a scan"

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
            if device.battery is not None and device.battery.plugged_while_available:
                device.battery.set_charging(available)
            self.log.emit(self.env.now, device.id, "available" if available else "unavailable")
            if not available:
                self._interrupt(device, "unavailable")
            self.notify()

    def start_batteries(self, plans: Iterable[BatteryPlan | None]) -> None:
        """Give each device with a plan its battery (in device order), and start it and its charging."""
        for device, plan in zip(self.devices, plans):
            if plan is None:
                continue
            device.battery = Battery(self.env, plan.capacity_wh, plan.initial_soc, plan.config, device.power.idle_w,
                                     on_low=lambda soc, device=device: self._battery_low(device),
                                     on_ok=lambda soc, device=device: self._battery_ok(device))
            if plan.charging is None:
                device.battery.plugged_while_available = True
                device.battery.charging = device.available
            else:
                self.env.process(self._charging(device, iter(plan.charging)))
            device.battery.start()

    @property
    def battery_dropouts(self) -> int:
        """Devices that left at least once because their battery ran low while the clock ran, each counted once
        however often it left (a device that started low counts only if it ran low again later)."""
        return len(self._dropped_out)

    def _battery_low(self, device: Device) -> None:
        device.powered = False
        if self.env.now > 0:
            self._dropped_out.add(device.id)
        else:
            self.battery_low_at_start += 1
        self.log.emit(self.env.now, device.id, BATTERY_LOW)
        self._interrupt(device, "battery")

    def _battery_ok(self, device: Device) -> None:
        device.powered = True
        self.log.emit(self.env.now, device.id, BATTERY_OK)
        self.notify()

    def _charging(self, device: Device, changes: Iterator[tuple[float, bool]]):
        for time, plugged in changes:
            if time > self.env.now:
                yield self.env.timeout(time - self.env.now)
            device.battery.set_charging(plugged)

    def _capacity(self, device: Device, first: CapacityChange, changes: Iterator[CapacityChange]):
        change = first
        while change is not None:
            if change.time_s > self.env.now:
                yield self.env.timeout(change.time_s - self.env.now)
            device.change_capacity(change)
            change = next(changes, None)

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
