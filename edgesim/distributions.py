"""Scalar probability distributions written in scenarios and profiles.

A distribution is either a bare number (a constant) or a mapping with a
``kind`` key, e.g. ``{kind: lognormal, median: 40, sigma: 0.3}``. Each one
samples from a ``numpy.random.Generator`` handed to it, never a global one.

Quantities that must stay positive (bandwidths, times between failures) or
non-negative (latencies) are typed ``PositiveDistribution`` and
``NonNegativeDistribution``: a distribution that can draw a value outside that
range is refused when the scenario is read, never clamped at run time.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

import numpy as np
from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from edgesim.config_model import ConfigModel
from edgesim.units import parse_duration


class _Dist(ConfigModel):
    def sample(self, rng: np.random.Generator) -> float:
        raise NotImplementedError

    def mean(self) -> float:
        raise NotImplementedError

    def lower_bound(self) -> tuple[float, bool]:
        """The infimum of the values ``sample`` can return, and whether that value itself can be drawn."""
        raise NotImplementedError


class Constant(_Dist):
    kind: Literal["constant"] = "constant"
    value: float

    def sample(self, rng):
        return float(self.value)

    def mean(self):
        return float(self.value)

    def lower_bound(self):
        return float(self.value), True


def check_range(model):
    """An after-validator for models with ``low`` and ``high``: ``high >= low``."""
    if model.high < model.low:
        raise ValueError(f"high ({model.high}) must be >= low ({model.low})")
    return model


class Uniform(_Dist):
    kind: Literal["uniform"] = "uniform"
    low: float
    high: float

    _ordered = model_validator(mode="after")(check_range)

    def sample(self, rng):
        return float(rng.uniform(self.low, self.high))

    def mean(self):
        return 0.5 * (self.low + self.high)

    def lower_bound(self):
        return float(self.low), True


class Normal(_Dist):
    """Normal, truncated below at ``minimum`` by clipping (default 0)."""

    kind: Literal["normal"] = "normal"
    mean_: float = Field(alias="mean")
    std: float = Field(ge=0)
    minimum: float = 0.0

    def sample(self, rng):
        return float(max(self.minimum, rng.normal(self.mean_, self.std)))

    def mean(self):
        return float(self.mean_)

    def lower_bound(self):
        return float(self.minimum), True  # clipping puts probability mass on the minimum


class LogNormal(_Dist):
    """Log-normal given by its median and the sigma of the underlying normal."""

    kind: Literal["lognormal"] = "lognormal"
    median: float = Field(gt=0)
    sigma: float = Field(ge=0, le=20, description="above 20 a draw can overflow to infinity")

    def sample(self, rng):
        return float(self.median * np.exp(rng.normal(0.0, self.sigma)))

    def mean(self):
        return float(self.median * np.exp(self.sigma**2 / 2))

    def lower_bound(self):
        return 0.0, False


class Exponential(_Dist):
    kind: Literal["exponential"] = "exponential"
    mean_: float = Field(alias="mean", gt=0)

    def sample(self, rng):
        return float(rng.exponential(self.mean_))

    def mean(self):
        return float(self.mean_)

    def lower_bound(self):
        return 0.0, False


def _number_is_constant(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"kind": "constant", "value": value}
    return value


Distribution = Annotated[
    Annotated[Union[Constant, Uniform, Normal, LogNormal, Exponential], Field(discriminator="kind")],
    BeforeValidator(_number_is_constant),
]
"""A field type: a bare number or ``{kind: constant|uniform|normal|lognormal|exponential, ...}``."""


def _refuse(dist: _Dist, rule: str) -> None:
    bound, _ = dist.lower_bound()
    if dist.kind == "constant":
        raise ValueError(f"must be {rule}")
    raise ValueError(f"must be {rule}, but this {dist.kind} distribution can draw {bound:g}")


def _positive(dist: _Dist) -> _Dist:
    bound, attained = dist.lower_bound()
    if bound < 0 or (bound == 0 and attained):
        _refuse(dist, "positive")
    return dist


def _non_negative(dist: _Dist) -> _Dist:
    bound, _ = dist.lower_bound()
    if bound < 0:
        _refuse(dist, "zero or more")
    return dist


PositiveDistribution = Annotated[Distribution, AfterValidator(_positive)]
"""A ``Distribution`` whose every draw is > 0 (bandwidths, times between failures, repair times)."""

NonNegativeDistribution = Annotated[Distribution, AfterValidator(_non_negative)]
"""A ``Distribution`` whose every draw is >= 0 (latencies)."""

_PARAMETERS = ("value", "low", "high", "mean", "std", "minimum", "median")


def _in_seconds(value):
    """Durations written with units (``"6h"``, ``{kind: exponential, mean: 30m}``) in seconds."""
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, dict):
        return {key: parse_duration(item) if key in _PARAMETERS and isinstance(item, str) else item
                for key, item in value.items()}
    return value


PositiveDurationDistribution = Annotated[PositiveDistribution, BeforeValidator(_in_seconds)]
"""A ``PositiveDistribution`` of seconds whose numbers may carry a unit, like any ``*_s`` key."""
