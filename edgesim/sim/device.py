"""A simulated device: its hardware, its network, its state, and one task at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import simpy

from edgesim.distributions import Distribution
from edgesim.sim.battery import Battery
from edgesim.sim.energy import DevicePower
from edgesim.sim.links import Link
from edgesim.sim.stragglers import CombinedStragglers, Straggler


@dataclass(frozen=True, slots=True)
class CapacityChange:
    """From ``time_s`` on, the device's compute and access bandwidths are these (``None``: unchanged); a change
    applies to phases that start after it (a transfer or computation in flight keeps its rate)."""

    time_s: float
    flops_per_s: float | None = None
    down_bps: float | None = None
    up_bps: float | None = None


@dataclass(eq=False, slots=True)
class Device:
    """One member of the fleet. ``ready`` means it may be given work now.

    ``available``, ``up``, ``powered`` (its battery, if any, is not low) and
    ``busy`` are properties: setting one recomputes ``ready`` and, when it
    changed, tells the fleet that holds the device (its ready set and waiters
    are kept incrementally, never by scanning the fleet).
    """

    id: str
    index: int
    group: str
    flops_per_s: float
    memory_bytes: float
    down_bps: float
    up_bps: float
    latency_ms: Distribution
    links_down: tuple[Link, ...]
    links_up: tuple[Link, ...]
    stragglers: Straggler | CombinedStragglers
    rng: np.random.Generator
    slowdown: float = 1.0
    power: DevicePower = DevicePower()
    battery: Battery | None = field(default=None, repr=False)
    task: simpy.Process | None = field(default=None, repr=False)
    _available: bool = field(default=True, init=False, repr=False)
    _up: bool = field(default=True, init=False, repr=False)
    _powered: bool = field(default=True, init=False, repr=False)
    _busy: bool = field(default=False, init=False, repr=False)
    _ready: bool = field(default=True, init=False, repr=False)
    _on_ready_change: Callable[[Device, bool], None] | None = field(default=None, init=False, repr=False)

    @property
    def ready(self) -> bool:
        return self._ready

    @property
    def available(self) -> bool:
        return self._available

    @available.setter
    def available(self, value: bool) -> None:
        self._available = value
        self._changed()

    @property
    def up(self) -> bool:
        return self._up

    @up.setter
    def up(self, value: bool) -> None:
        self._up = value
        self._changed()

    @property
    def powered(self) -> bool:
        return self._powered

    @powered.setter
    def powered(self, value: bool) -> None:
        self._powered = value
        self._changed()

    @property
    def busy(self) -> bool:
        return self._busy

    @busy.setter
    def busy(self, value: bool) -> None:
        self._busy = value
        self._changed()

    def draw(self, phase: str | None) -> None:
        """The device starts ``phase`` (``download``, ``compute``, ``upload``) or, with ``None``, goes idle: its
        battery, if it has one, drains at the new draw."""
        if self.battery is not None:
            self.battery.set_draw(self.power.idle_w if phase is None else self.power.of(phase))

    def _changed(self) -> None:
        """A state changed: recompute ``ready`` if it no longer holds."""
        if self._ready != (self._available and self._up and self._powered and not self._busy):
            self._refresh()

    def _refresh(self) -> None:
        self._ready = ready = bool(self._available and self._up and self._powered and not self._busy)
        if self._on_ready_change is not None:
            self._on_ready_change(self, ready)

    def change_capacity(self, change: CapacityChange) -> None:
        for name in ("flops_per_s", "down_bps", "up_bps"):
            value = getattr(change, name)
            if value is not None:
                setattr(self, name, value)

    def compute_seconds(self, flops: float) -> float:
        """Counted FLOPs / sustained FLOP/s, stretched by the device and task slowdowns."""
        return flops / self.flops_per_s * self.slowdown * self.stragglers.task_factor(self.rng)

    def latency_s(self) -> float:
        return self.latency_ms.sample(self.rng) / 1000.0
