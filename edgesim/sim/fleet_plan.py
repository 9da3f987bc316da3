"""A built fleet: its devices in fleet order, and how to draw each one's on/off schedules up to the horizon.

A device's schedules (availability changes and outages) can be drawn as often
as needed: each draw starts its streams afresh, so every draw is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from edgesim.seeding import Streams
from edgesim.sim.availability import AvailabilityConfig
from edgesim.sim.device import Device
from edgesim.sim.failures import FailureConfig


@dataclass
class FleetPlan:
    """The devices, in fleet order, and how to draw their on/off schedules."""

    streams: Streams
    start_hour: float
    """Local time of day at simulated time 0."""
    horizon_s: float
    failures: FailureConfig
    devices: list[Device] = field(default_factory=list)
    device_availability: list[AvailabilityConfig] = field(default_factory=list)

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

    def ever_available(self, device: Device) -> bool:
        """Whether ``device`` is available at some moment before the horizon."""
        return self.device_availability[device.index].ever_available(
            self.streams.rng("availability", device.index), self.start_hour, self.horizon_s)
