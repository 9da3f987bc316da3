"""Straggler slowdowns: factors >= 1 (mostly) that stretch a device's compute time.

Each model draws either once per device (a slow device stays slow) or once per
task (``per: task``, transient slowness). Models:

- ``none``: factor 1.
- ``lognormal``: ``median * exp(N(0, sigma))``.
- ``pareto``: ``1 + Lomax(alpha)`` — Pareto with minimum 1; heavy tail for small alpha.
- ``exponential``: ``shift + Exp(mean)``, shift 1 by default (a floor: no task runs faster than
  nominal). ``shift: 0`` per task is the memoryless model: each task's time is exponential with mean
  ``mean`` x nominal (coefficient of variation 1). P identical devices under it deliver their first K
  arrivals as K uniformly random clients, the arrival process of WKAFL's code (ALGORITHMS.md §2.7).
- ``uniform``: ``U(low, high)``.
- ``bimodal``: a ``fraction`` of devices is ``factor`` times slower (per device by default).
- ``empirical``: a value drawn uniformly from ``values`` (e.g. measured slowdowns).

A group's own model multiplies with the fleet's (``CombinedStragglers``), so a
group can carry fixed per-device heterogeneity while a what-if study sweeps
the fleet-wide distribution.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

import numpy as np
from pydantic import Field, model_validator

from edgesim.config_model import ConfigModel
from edgesim.distributions import check_range

Per = Literal["task", "device"]


class _Straggler(ConfigModel):
    per: Per = "task"

    def draw(self, rng: np.random.Generator) -> float:
        raise NotImplementedError

    def device_factor(self, rng: np.random.Generator) -> float:
        """The part fixed for a device's whole life."""
        return self.draw(rng) if self.per == "device" else 1.0

    def task_factor(self, rng: np.random.Generator) -> float:
        """The part drawn anew for each task."""
        return self.draw(rng) if self.per == "task" else 1.0


class NoStragglers(_Straggler):
    kind: Literal["none"] = "none"

    def draw(self, rng):
        return 1.0


class LogNormalStragglers(_Straggler):
    kind: Literal["lognormal"] = "lognormal"
    sigma: float = Field(gt=0, le=20, description="above 20 a factor can overflow to infinity")
    median: float = Field(default=1.0, gt=0)

    def draw(self, rng):
        return float(self.median * np.exp(rng.normal(0.0, self.sigma)))


class ParetoStragglers(_Straggler):
    kind: Literal["pareto"] = "pareto"
    alpha: float = Field(gt=0)

    def draw(self, rng):
        return float(1.0 + rng.pareto(self.alpha))


class ExponentialStragglers(_Straggler):
    kind: Literal["exponential"] = "exponential"
    mean: float = Field(default=1.0, gt=0, description="mean of the exponential part")
    shift: float = Field(default=1.0, ge=0, description="the floor added to it; 0 makes task times memoryless")

    def draw(self, rng):
        return float(self.shift + rng.exponential(self.mean))


class UniformStragglers(_Straggler):
    kind: Literal["uniform"] = "uniform"
    low: float = Field(gt=0)
    high: float = Field(gt=0)

    _ordered = model_validator(mode="after")(check_range)

    def draw(self, rng):
        return float(rng.uniform(self.low, self.high))


class BimodalStragglers(_Straggler):
    kind: Literal["bimodal"] = "bimodal"
    per: Per = "device"
    fraction: float = Field(ge=0, le=1)
    factor: float = Field(gt=0)

    def draw(self, rng):
        return float(self.factor) if rng.random() < self.fraction else 1.0


class EmpiricalStragglers(_Straggler):
    kind: Literal["empirical"] = "empirical"
    values: list[Annotated[float, Field(gt=0)]] = Field(min_length=1)

    def draw(self, rng):
        return float(self.values[rng.integers(len(self.values))])


StragglerConfig = Annotated[
    Union[
        NoStragglers, LogNormalStragglers, ParetoStragglers, ExponentialStragglers, UniformStragglers,
        BimodalStragglers, EmpiricalStragglers,
    ],
    Field(discriminator="kind"),
]


class CombinedStragglers:
    """Several models at once: their factors multiply (drawn in the order given)."""

    def __init__(self, models: tuple[_Straggler, ...]):
        self.models = models

    def device_factor(self, rng: np.random.Generator) -> float:
        return float(np.prod([m.device_factor(rng) for m in self.models]))

    def task_factor(self, rng: np.random.Generator) -> float:
        return float(np.prod([m.task_factor(rng) for m in self.models]))
