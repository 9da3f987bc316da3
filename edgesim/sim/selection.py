"""Client selection for synchronous rounds (``server.selection``): which ready devices a round trains on.

- ``uniform``: ``count`` of the ready devices, uniformly without replacement (FedAvg's rule).
- ``power_of_choice``: Cho, Wang & Joshi's π_pow-d ("Towards Understanding Biased Client Selection in
  Federated Learning", AISTATS 2022): draw ``d = ceil(candidates * count)`` ready devices uniformly, then
  keep the ``count`` of them on whose local data the current global model has the highest loss. Ties
  keep the order of the draw. The candidates' losses are computed for real, but the probe that would
  obtain them (the model sent to ``d`` devices, a forward pass there, a number sent back) takes no
  simulated time here.
- ``deadline_aware``: uniformly among the ready devices expected to deliver within the round's deadline
  (``server.deadline_s``) times ``margin``; if they are too few, the fastest of the others fill the round.
  A device's expected task time is its mean latency each way, the bytes at its access bandwidth, and the
  FLOPs at its compute rate with its fixed slowdown (what a server can know of its fleet; the per-task
  straggling stays unknown). Without a deadline it takes the ``count`` fastest.
- ``battery_aware``: uniformly among the ready devices that are plugged in, run on mains, or hold at
  least ``min_soc`` of their battery; if they are too few, those with the most charge fill the round.

A selector returns indices into the list of ready devices, in increasing order, and draws only from the
round's ``rng``. ``RoundView`` is what it may consult about the round. Users add their own with
``register_selector`` on a ``Selector`` subclass whose ``kind`` is a new ``Literal``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from edgesim.config_model import ConfigModel
from edgesim.registry import Kinds
from edgesim.sim.device import Device
from edgesim.work import TaskCost

ClientLosses = Callable[[Sequence[Device]], Sequence[float]]
"""Devices -> the current global model's mean loss on each one's local data."""


@dataclass(frozen=True)
class RoundView:
    """What a selector may consult about the round it selects for."""

    losses: ClientLosses | None = None
    """The global model's loss on each device's data (only for selectors with ``needs_losses``)."""
    cost: Callable[[Device], TaskCost | None] = lambda device: None
    """What the round's task asks of a device."""
    deadline_s: float | None = None
    """The round's deadline (``server.deadline_s``), if it has one."""


class Selector(ConfigModel):
    """Base of every ``server.selection`` block: a ``kind: Literal[...]`` and ``choose``."""

    needs_losses: ClassVar[bool] = False
    """Whether ``choose`` ranks devices by their loss (the strategy must offer ``client_losses``)."""

    def choose(self, ready: Sequence[Device], count: int, rng: np.random.Generator,
               round: RoundView = RoundView()) -> list[int]:
        """``count`` distinct indices into ``ready``, increasing; draws only from ``rng``."""
        raise NotImplementedError


SELECTORS: Kinds[Selector] = Kinds("selection", "kind")
register_selector = SELECTORS.register


@register_selector
class UniformSelection(Selector):
    kind: Literal["uniform"] = "uniform"

    def choose(self, ready, count, rng, round=RoundView()):
        return sorted(int(i) for i in rng.choice(len(ready), size=count, replace=False))


@register_selector
class PowerOfChoice(Selector):
    kind: Literal["power_of_choice"]
    candidates: float = Field(2.0, ge=1, le=100, description="d, the devices drawn, as a multiple of the "
                              "devices a round selects (1 is uniform selection)")
    needs_losses: ClassVar[bool] = True

    def choose(self, ready, count, rng, round=RoundView()):
        drawn = [int(i) for i in rng.choice(len(ready), size=min(len(ready), math.ceil(self.candidates * count)),
                                            replace=False)]
        loss = list(round.losses([ready[i] for i in drawn]))
        # stable, so ties keep the draw order; a NaN loss ranks last
        highest = sorted(range(len(drawn)), key=lambda j: -loss[j] if loss[j] == loss[j] else math.inf)[:count]
        return sorted(drawn[j] for j in highest)


def expected_task_s(device: Device, cost: TaskCost) -> float:
    """What a server can expect of ``device``'s task: mean latency each way, the bytes at the device's access
    bandwidth, and the FLOPs at its compute rate with its fixed slowdown, s."""
    return (2 * device.latency_ms.mean() / 1000 + 8 * cost.download_bytes / device.down_bps
            + cost.flops / device.flops_per_s * device.slowdown + 8 * cost.upload_bytes / device.up_bps)


def uniform_then_best(eligible: Sequence[int], others: Sequence[int], count: int, rng: np.random.Generator,
                      better) -> list[int]:
    """``count`` indices: uniformly from ``eligible`` (indices into the ready devices), and when it has too few,
    all of it plus the ``better``-ranked of ``others`` (ties keep their order)."""
    if len(eligible) >= count:
        return sorted(int(eligible[i]) for i in rng.choice(len(eligible), size=count, replace=False))
    return sorted([*eligible, *sorted(others, key=better)[:count - len(eligible)]])


@register_selector
class DeadlineAware(Selector):
    kind: Literal["deadline_aware"]
    margin: float = Field(1.0, gt=0, le=10, description="count devices expected within deadline x margin")

    def choose(self, ready, count, rng, round=RoundView()):
        expected = [expected_task_s(device, round.cost(device)) for device in ready]
        if round.deadline_s is None:
            return sorted(sorted(range(len(ready)), key=expected.__getitem__)[:count])
        limit = round.deadline_s * self.margin
        eligible = [i for i, t in enumerate(expected) if t <= limit]
        others = [i for i, t in enumerate(expected) if t > limit]
        return uniform_then_best(eligible, others, count, rng, expected.__getitem__)


@register_selector
class BatteryAware(Selector):
    kind: Literal["battery_aware"]
    min_soc: float = Field(0.5, ge=0, le=1, description="devices on battery below this state of charge are "
                                                        "taken last")

    def choose(self, ready, count, rng, round=RoundView()):
        charge = [1.0 if d.battery is None or d.battery.charging else d.battery.soc for d in ready]
        eligible = [i for i, c in enumerate(charge) if c >= self.min_soc]
        others = [i for i, c in enumerate(charge) if c < self.min_soc]
        return uniform_then_best(eligible, others, count, rng, lambda i: -charge[i])


Selection = SELECTORS.field
"""The pydantic type of ``server.selection``."""
