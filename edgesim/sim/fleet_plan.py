"""A built fleet: its devices in fleet order, how to draw each one's on/off schedules up to the horizon, and
the capacity changes a trace gives them.

A device's schedules (availability changes and outages) can be drawn as often
as needed: each draw starts its streams afresh, so every draw is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from edgesim.seeding import Streams
from edgesim.sim.availability import AvailabilityConfig, IntervalAvailability
from edgesim.sim.battery import BatteryConfig, BatteryPlan
from edgesim.sim.device import CapacityChange, Device
from edgesim.sim.failures import FailureConfig


@dataclass(frozen=True)
class BatterySpec:
    """One device's battery in a plan: capacity, state of charge at time 0, its group's settings, and the schedule
    it is plugged in on (``None``: while the device is available)."""

    capacity_wh: float
    initial_soc: float
    config: BatteryConfig
    charging: AvailabilityConfig | IntervalAvailability | None = None


@dataclass
class FleetPlan:
    """The devices, in fleet order, and how to draw their on/off schedules."""

    streams: Streams
    start_hour: float
    """Local time of day at simulated time 0."""
    horizon_s: float
    failures: FailureConfig
    devices: list[Device] = field(default_factory=list)
    device_availability: list[AvailabilityConfig | IntervalAvailability] = field(default_factory=list)
    device_capacity: list[list[CapacityChange]] = field(default_factory=list)
    """Per device, its capacity changes in time order (empty for most devices)."""
    device_battery: list[BatterySpec | None] = field(default_factory=list)
    """Per device, its battery (``None``: mains-powered)."""

    def availability(self) -> list[Iterator[tuple[float, bool]]]:
        """Every device's availability changes up to the horizon (``(time, available)``, see ``availability``)."""
        return [self.availability_of(device) for device in self.devices]

    def availability_of(self, device: Device) -> Iterator[tuple[float, bool]]:
        return self.device_availability[device.index].changes(
            self.streams.rng("availability", device.index), self.start_hour, self.horizon_s)

    def outages(self) -> list[Iterator[tuple[float, float]]]:
        """Every device's outages up to the horizon (``(time, duration)``, see ``failures``)."""
        return [self.failures.outages(d.id, self.streams.rng("failures", d.index), self.horizon_s)
                for d in self.devices]

    def capacity(self) -> list[Iterator[CapacityChange]]:
        """Every device's capacity changes (``CapacityChange``), in device order."""
        return [iter(self.device_capacity[d.index]) if self.device_capacity else iter(()) for d in self.devices]

    def batteries(self) -> list[BatteryPlan | None]:
        """Every device's battery as it starts, with its charging schedule drawn afresh (stream ``charging``)."""
        plans = []
        for device in self.devices:
            spec = self.device_battery[device.index] if self.device_battery else None
            if spec is None:
                plans.append(None)
                continue
            charging = None if spec.charging is None else spec.charging.changes(
                self.streams.rng("charging", device.index), self.start_hour, self.horizon_s)
            plans.append(BatteryPlan(spec.capacity_wh, spec.initial_soc, spec.config, charging))
        return plans

    def ever_available(self, device: Device) -> bool:
        """Whether ``device`` is available at some moment before the horizon."""
        return self.device_availability[device.index].ever_available(
            self.streams.rng("availability", device.index), self.start_hour, self.horizon_s)
