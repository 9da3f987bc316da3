"""Straggler slowdowns: factors >= 1 (mostly) that stretch a device's compute time.

A straggler model is a distribution of ``edgesim.distributions`` (which holds
the formulas and draws) with slowdown defaults, plus ``per``: it draws either
once per device (``per: device``, a slow device stays slow) or once per task
(``per: task``, transient slowness). Models:

- ``none``: factor 1.
- ``lognormal``: ``median * exp(N(0, sigma))``, median 1 by default.
- ``pareto``: ``minimum * (1 + Lomax(alpha))``, Pareto type I with minimum 1 by default; heavy tail
  for small alpha.
- ``exponential``: ``shift + Exp(mean)``, mean 1 and shift 1 by default (a floor: no task runs faster
  than nominal). ``shift: 0`` per task is the memoryless model: each task's time is exponential with
  mean ``mean`` x nominal (coefficient of variation 1). P identical devices under it deliver their
  first K arrivals as K uniformly random clients, the arrival process of WKAFL's code
  (ALGORITHMS.md §2.7).
- ``uniform``: ``U(low, high)``, both above 0.
- ``bimodal``: a ``fraction`` of devices is ``factor`` times slower (per device by default), the rest
  run at ``base`` (1 by default).
- ``empirical``: a value drawn uniformly from ``values`` (e.g. measured slowdowns).

A group's own model multiplies with the fleet's (``CombinedStragglers``), so a
group can carry fixed per-device heterogeneity while a what-if study sweeps
the fleet-wide distribution. Users add a model with ``register_straggler``
on a class that mixes ``Straggler`` into a distribution of the family.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from edgesim.distributions import (BaseDistribution, Bimodal, Constant, Empirical, Exponential, LogNormal, Pareto,
                                   Uniform)
from edgesim.registry import Kinds

Per = Literal["task", "device"]


class Straggler(BaseDistribution):
    """A distribution read as a slowdown factor, drawn per task or per device."""

    per: Per = "task"

    def draw(self, rng: np.random.Generator) -> float:
        """One factor: the distribution's ``sample``."""
        return self.sample(rng)

    def device_factor(self, rng: np.random.Generator) -> float:
        """The part fixed for a device's whole life."""
        return self.draw(rng) if self.per == "device" else 1.0

    def task_factor(self, rng: np.random.Generator) -> float:
        """The part drawn anew for each task."""
        return self.draw(rng) if self.per == "task" else 1.0


STRAGGLERS: Kinds[Straggler] = Kinds("straggler model", "kind", base=BaseDistribution, required=("sample",))
register_straggler = STRAGGLERS.register
"""Class decorator: adds a ``Straggler`` subclass (a new ``kind``) to ``fleet.stragglers`` and groups'."""


@register_straggler
class NoStragglers(Straggler, Constant):
    kind: Literal["none"] = "none"
    value: float = Field(1.0, ge=1, le=1, exclude=True, description="always 1: no slowdown")


@register_straggler
class LogNormalStragglers(Straggler, LogNormal):
    median: float = Field(1.0, gt=0)
    sigma: float = Field(gt=0, le=20, description="above 20 a factor can overflow to infinity")


@register_straggler
class ParetoStragglers(Straggler, Pareto):
    minimum: float = Field(1.0, gt=0)


@register_straggler
class ExponentialStragglers(Straggler, Exponential):
    mean_: float = Field(1.0, alias="mean", gt=0, description="mean of the exponential part")
    shift: float = Field(1.0, ge=0, description="the floor added to it; 0 makes task times memoryless")


@register_straggler
class UniformStragglers(Straggler, Uniform):
    low: float = Field(gt=0)
    high: float = Field(gt=0)


@register_straggler
class BimodalStragglers(Straggler, Bimodal):
    per: Per = "device"
    factor: float = Field(gt=0, description="the slowdown of the slow fraction")
    base: float = Field(1.0, gt=0, description="the slowdown of the others")


@register_straggler
class EmpiricalStragglers(Straggler, Empirical):
    values: list[Annotated[float, Field(gt=0)]] = Field(min_length=1)


StragglerConfig = STRAGGLERS.field
"""The pydantic type of ``fleet.stragglers`` and a group's ``stragglers``."""


class CombinedStragglers:
    """Several models at once: their factors multiply (drawn in the order given)."""

    def __init__(self, models: tuple[Straggler, ...]):
        self.models = models

    def device_factor(self, rng: np.random.Generator) -> float:
        return float(np.prod([m.device_factor(rng) for m in self.models]))

    def task_factor(self, rng: np.random.Generator) -> float:
        return float(np.prod([m.task_factor(rng) for m in self.models]))
