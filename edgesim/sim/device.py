"""A simulated device: its hardware, its network, its state, and one task at a time."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import simpy

from edgesim.distributions import Distribution
from edgesim.sim.links import Link
from edgesim.sim.stragglers import CombinedStragglers, _Straggler


@dataclass(eq=False)
class Device:
    """One member of the fleet. ``ready`` means it may be given work now."""

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
    stragglers: _Straggler | CombinedStragglers
    rng: np.random.Generator
    slowdown: float = 1.0
    available: bool = True
    up: bool = True
    busy: bool = False
    task: simpy.Process | None = field(default=None, repr=False)

    @property
    def ready(self) -> bool:
        return self.available and self.up and not self.busy

    def compute_seconds(self, flops: float) -> float:
        """Counted FLOPs / sustained FLOP/s, stretched by the device and task slowdowns."""
        return flops / self.flops_per_s * self.slowdown * self.stragglers.task_factor(self.rng)

    def latency_s(self) -> float:
        return max(0.0, self.latency_ms.sample(self.rng)) / 1000.0
