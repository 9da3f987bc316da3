"""Scalar probability distributions written in scenarios and profiles.

A distribution is either a bare number (a constant) or a mapping with a
``kind`` key, e.g. ``{kind: lognormal, median: 40, sigma: 0.3}``. Each one
samples from a ``numpy.random.Generator`` handed to it, never a global one.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def sample(self, rng: np.random.Generator) -> float:
        raise NotImplementedError

    def mean(self) -> float:
        raise NotImplementedError


class Constant(_Dist):
    kind: Literal["constant"] = "constant"
    value: float

    def sample(self, rng):
        return float(self.value)

    def mean(self):
        return float(self.value)


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


class LogNormal(_Dist):
    """Log-normal given by its median and the sigma of the underlying normal."""

    kind: Literal["lognormal"] = "lognormal"
    median: float = Field(gt=0)
    sigma: float = Field(ge=0)

    def sample(self, rng):
        return float(self.median * np.exp(rng.normal(0.0, self.sigma)))

    def mean(self):
        return float(self.median * np.exp(self.sigma**2 / 2))


class Exponential(_Dist):
    kind: Literal["exponential"] = "exponential"
    mean_: float = Field(alias="mean", gt=0)

    def sample(self, rng):
        return float(rng.exponential(self.mean_))

    def mean(self):
        return float(self.mean_)


def _number_is_constant(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"kind": "constant", "value": value}
    return value


Distribution = Annotated[
    Annotated[Union[Constant, Uniform, Normal, LogNormal, Exponential], Field(discriminator="kind")],
    BeforeValidator(_number_is_constant),
]
"""A field type: a bare number or ``{kind: constant|uniform|normal|lognormal|exponential, ...}``."""
