"""Client selection for synchronous rounds (``server.selection``): which ready devices a round trains on.

- ``uniform``: ``count`` of the ready devices, uniformly without replacement (FedAvg's rule).
- ``power_of_choice``: Cho, Wang & Joshi's π_pow-d ("Towards Understanding Biased Client Selection in
  Federated Learning", AISTATS 2022): draw ``d = ceil(candidates * count)`` ready devices uniformly, then
  keep the ``count`` of them on whose local data the current global model has the highest loss. Ties
  keep the order of the draw. The candidates' losses are computed for real, but the probe that would
  obtain them (the model sent to ``d`` devices, a forward pass there, a number sent back) takes no
  simulated time here.

A selector returns indices into the list of ready devices, in increasing order. Users add their own with
``register_selector`` on a ``Selector`` subclass whose ``kind`` is a new ``Literal``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from edgesim.config_model import ConfigModel
from edgesim.registry import Kinds
from edgesim.sim.device import Device

ClientLosses = Callable[[Sequence[Device]], Sequence[float]]
"""Devices -> the current global model's mean loss on each one's local data."""


class Selector(ConfigModel):
    """Base of every ``server.selection`` block: a ``kind: Literal[...]`` and ``choose``."""

    needs_losses: ClassVar[bool] = False
    """Whether ``choose`` ranks devices by their loss (the strategy must offer ``client_losses``)."""

    def choose(self, ready: Sequence[Device], count: int, rng: np.random.Generator,
               losses: ClientLosses | None = None) -> list[int]:
        """``count`` distinct indices into ``ready``, increasing; draws only from ``rng``."""
        raise NotImplementedError


SELECTORS: Kinds[Selector] = Kinds("selection", "kind")
register_selector = SELECTORS.register


@register_selector
class UniformSelection(Selector):
    kind: Literal["uniform"] = "uniform"

    def choose(self, ready: Sequence[Device], count: int, rng: np.random.Generator,
               losses: ClientLosses | None = None) -> list[int]:
        return sorted(int(i) for i in rng.choice(len(ready), size=count, replace=False))


@register_selector
class PowerOfChoice(Selector):
    kind: Literal["power_of_choice"]
    candidates: float = Field(2.0, ge=1, le=100, description="d, the devices drawn, as a multiple of the "
                              "devices a round selects (1 is uniform selection)")
    needs_losses: ClassVar[bool] = True

    def choose(self, ready: Sequence[Device], count: int, rng: np.random.Generator,
               losses: ClientLosses | None = None) -> list[int]:
        drawn = [int(i) for i in rng.choice(len(ready), size=min(len(ready), math.ceil(self.candidates * count)),
                                            replace=False)]
        loss = list(losses([ready[i] for i in drawn]))
        # stable, so ties keep the draw order; a NaN loss ranks last
        highest = sorted(range(len(drawn)), key=lambda j: -loss[j] if loss[j] == loss[j] else math.inf)[:count]
        return sorted(drawn[j] for j in highest)


Selection = SELECTORS.field
"""The pydantic type of ``server.selection``."""
