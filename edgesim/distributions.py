"""Scalar probability distributions: the one family behind profiles, failure timings and stragglers.

A distribution is either a bare number (a constant) or a mapping with a
``kind`` key, e.g. ``{kind: lognormal, median: 40, sigma: 0.3}``. Kinds:
``constant``, ``uniform``, ``normal`` (clipped at ``minimum``), ``lognormal``,
``exponential`` (with a ``shift``), ``pareto`` (type I), ``bimodal`` and
``empirical`` (users add theirs with ``register_distribution``). Each one samples from a ``numpy.random.Generator`` handed to
it, never a global one, with fixed calls in a fixed order: a seeded run draws
the same numbers whatever reads the distribution. Moments and quantiles come
from the matching ``scipy.stats`` frozen distribution (``scipy()``), never its
``rvs``, which draws differently for some kinds. ``describe()`` is the
compact one-line text that profile tables show.

Quantities that must stay positive (bandwidths, times between failures) or
non-negative (latencies) are typed ``PositiveDistribution`` and
``NonNegativeDistribution``: a distribution that can draw a value outside that
range is refused when the scenario is read, never clamped at run time.
``edgesim.sim.stragglers`` gives these kinds slowdown defaults and a ``per``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from edgesim.config_model import ConfigModel
from edgesim.registry import Kinds
from edgesim.units import parse_duration


def _stats():
    """``scipy.stats``, imported on first use (it costs half a second at start-up)."""
    from scipy import stats

    return stats


def _discrete(values, weights=None):
    """The ``scipy.stats`` distribution drawing each of ``values`` with its weight (equal by default);
    repeated values add up."""
    points, index = np.unique(np.asarray(values, dtype=float), return_inverse=True)
    weights = np.full(len(index), 1.0 / len(index)) if weights is None else np.asarray(weights, dtype=float)
    return _stats().rv_discrete(values=(points, np.bincount(index, weights=weights)))


class BaseDistribution(ConfigModel):
    """What every kind offers: ``sample``, ``mean``, ``lower_bound``, ``describe`` and ``scipy``; each
    kind names itself in a literal ``kind`` field."""

    def sample(self, rng: np.random.Generator) -> float:
        """One draw, made with ``rng`` alone."""
        raise NotImplementedError

    def scipy(self):
        """The frozen ``scipy.stats`` distribution of the draws, the home of their moments and quantiles."""
        raise NotImplementedError(f"a {self.kind} distribution has no scipy.stats counterpart")

    def mean(self) -> float:
        """The expected draw (``inf`` where it diverges)."""
        return float(self.scipy().mean())

    def lower_bound(self) -> tuple[float, bool]:
        """The infimum of the values ``sample`` can return, and whether that value itself can be drawn."""
        raise NotImplementedError

    def describe(self) -> str:
        """One compact line, e.g. ``lognormal median 50 σ0.4``."""
        raise NotImplementedError


def _number_is_constant(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"kind": "constant", "value": value}
    return value


DISTRIBUTIONS: Kinds[BaseDistribution] = Kinds("distribution", "kind", before=_number_is_constant,
                                                base=BaseDistribution,
                                                required=("sample", "lower_bound", "describe", "mean|scipy"))
register_distribution = DISTRIBUTIONS.register
"""Class decorator: adds a ``BaseDistribution`` subclass (a new ``kind: Literal[...]``) to every distribution key."""


@register_distribution
class Constant(BaseDistribution):
    """Always ``value``."""

    kind: Literal["constant"] = "constant"
    value: float

    def sample(self, rng):
        return float(self.value)

    def scipy(self):
        return _discrete([self.value])

    def lower_bound(self):
        return float(self.value), True

    def describe(self):
        return f"{self.value:g}"


@register_distribution
class Uniform(BaseDistribution):
    """Uniform on ``[low, high]``, drawn as ``rng.uniform(low, high)``, mean ``(low + high) / 2``
    (``scipy.stats.uniform`` with ``loc = low``, ``scale = high - low``); ``low == high`` is a constant."""

    kind: Literal["uniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    def sample(self, rng):
        return float(rng.uniform(self.low, self.high))

    def scipy(self):
        if self.high == self.low:
            return _discrete([self.low])
        return _stats().uniform(loc=self.low, scale=self.high - self.low)

    def lower_bound(self):
        return float(self.low), True

    def describe(self):
        return f"uniform {self.low:g}–{self.high:g}"


@register_distribution
class Normal(BaseDistribution):
    """Normal, clipped below at ``minimum`` (default 0): ``max(minimum, N(mean, std))``.

    Clipping puts the probability of the tail below ``minimum`` on ``minimum`` itself, which no
    ``scipy.stats`` distribution does (``truncnorm`` spreads it instead), so there is no ``scipy()``
    and ``mean()`` is the ``mean`` parameter, the mean before clipping.
    """

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

    def describe(self):
        text = f"normal mean {self.mean_:g} sd {self.std:g}"
        return text if self.minimum == 0 else f"{text} min {self.minimum:g}"


@register_distribution
class LogNormal(BaseDistribution):
    """Log-normal given by its median and the sigma of the underlying normal:
    ``median * exp(N(0, sigma))``, mean ``median * exp(sigma² / 2)`` (``scipy.stats.lognorm`` with
    ``s = sigma``, ``scale = median``); ``sigma == 0`` is the constant ``median``."""

    kind: Literal["lognormal"] = "lognormal"
    median: float = Field(gt=0)
    sigma: float = Field(ge=0, le=20, description="above 20 a draw can overflow to infinity")

    def sample(self, rng):
        return float(self.median * np.exp(rng.normal(0.0, self.sigma)))

    def scipy(self):
        if self.sigma == 0:
            return _discrete([self.median])
        return _stats().lognorm(s=self.sigma, scale=self.median)

    def lower_bound(self):
        return 0.0, False

    def describe(self):
        return f"lognormal median {self.median:g} σ{self.sigma:g}"


@register_distribution
class Exponential(BaseDistribution):
    """Exponential with mean ``mean`` above a floor ``shift`` (default 0): ``shift + Exp(mean)``,
    mean ``shift + mean`` (``scipy.stats.expon`` with ``loc = shift``, ``scale = mean``)."""

    kind: Literal["exponential"] = "exponential"
    mean_: float = Field(alias="mean", gt=0, description="mean of the exponential part")
    shift: float = Field(0.0, description="the floor added to it")

    def sample(self, rng):
        return float(self.shift + rng.exponential(self.mean_))

    def scipy(self):
        return _stats().expon(loc=self.shift, scale=self.mean_)

    def lower_bound(self):
        return float(self.shift), False

    def describe(self):
        text = f"exponential mean {self.mean_:g}"
        return text if self.shift == 0 else f"{text} shift {self.shift:g}"


@register_distribution
class Pareto(BaseDistribution):
    """Pareto type I with shape ``alpha`` and scale ``minimum``: ``minimum * (1 + Lomax(alpha))``, numpy's
    ``pareto`` being the Lomax (Pareto type II) draw. Mean ``alpha * minimum / (alpha - 1)``, infinite for
    ``alpha <= 1`` (``scipy.stats.pareto`` with ``b = alpha``, ``scale = minimum``); a heavy tail for small
    ``alpha``."""

    kind: Literal["pareto"] = "pareto"
    alpha: float = Field(gt=0)
    minimum: float = Field(gt=0)

    def sample(self, rng):
        return float(self.minimum * (1.0 + rng.pareto(self.alpha)))

    def scipy(self):
        return _stats().pareto(b=self.alpha, scale=self.minimum)

    def lower_bound(self):
        return float(self.minimum), False

    def describe(self):
        return f"pareto min {self.minimum:g} α{self.alpha:g}"


@register_distribution
class Bimodal(BaseDistribution):
    """Two values: ``factor`` with probability ``fraction``, else ``base`` (drawn as
    ``factor if rng.random() < fraction else base``); mean ``(1 - fraction) * base + fraction * factor``
    (``scipy.stats.rv_discrete`` on the two values)."""

    kind: Literal["bimodal"] = "bimodal"
    fraction: float = Field(ge=0, le=1, description="the probability of drawing factor")
    factor: float = Field(description="the value drawn with probability fraction")
    base: float = Field(description="the value drawn otherwise")

    def sample(self, rng):
        return float(self.factor) if rng.random() < self.fraction else float(self.base)

    def scipy(self):
        return _discrete([self.base, self.factor], [1.0 - self.fraction, self.fraction])

    def lower_bound(self):
        drawn = ([self.base] if self.fraction < 1 else []) + ([self.factor] if self.fraction > 0 else [])
        return float(min(drawn)), True

    def describe(self):
        return f"bimodal {self.base:g}, {self.factor:g} at {100 * self.fraction:g}%"


@register_distribution
class Empirical(BaseDistribution):
    """One of ``values`` (e.g. measurements), each equally likely: ``values[rng.integers(len(values))]``,
    mean their average (``scipy.stats.rv_discrete`` on the distinct values, weighted by their counts)."""

    kind: Literal["empirical"] = "empirical"
    values: list[float] = Field(min_length=1)

    def sample(self, rng):
        return float(self.values[rng.integers(len(self.values))])

    def scipy(self):
        return _discrete(self.values)

    def lower_bound(self):
        return float(min(self.values)), True

    def describe(self):
        if len(self.values) <= 4:
            return "empirical " + ", ".join(f"{value:g}" for value in self.values)
        return f"empirical {len(self.values)} values {min(self.values):g}–{max(self.values):g}"


Distribution = DISTRIBUTIONS.field
"""A field type: a bare number or
``{kind: constant|uniform|normal|lognormal|exponential|pareto|bimodal|empirical, ...}``."""


def _refuse(dist: BaseDistribution, rule: str) -> None:
    bound, _ = dist.lower_bound()
    if dist.kind == "constant":
        raise ValueError(f"must be {rule}")
    raise ValueError(f"must be {rule}, but this {dist.kind} distribution can draw {bound:g}")


def _positive(dist: BaseDistribution) -> BaseDistribution:
    bound, attained = dist.lower_bound()
    if bound < 0 or (bound == 0 and attained):
        _refuse(dist, "positive")
    return dist


def _non_negative(dist: BaseDistribution) -> BaseDistribution:
    bound, _ = dist.lower_bound()
    if bound < 0:
        _refuse(dist, "zero or more")
    return dist


PositiveDistribution = Annotated[Distribution, AfterValidator(_positive)]
"""A ``Distribution`` whose every draw is > 0 (bandwidths, times between failures, repair times)."""

NonNegativeDistribution = Annotated[Distribution, AfterValidator(_non_negative)]
"""A ``Distribution`` whose every draw is >= 0 (latencies)."""

_PARAMETERS = ("value", "low", "high", "mean", "std", "minimum", "median", "shift", "factor", "base", "values")


def _in_seconds(value):
    """Durations written with units (``"6h"``, ``{kind: exponential, mean: 30m}``) in seconds."""
    if isinstance(value, dict):
        return {key: ([parse_duration(v) for v in item] if isinstance(item, list) else parse_duration(item))
                if key in _PARAMETERS else item for key, item in value.items()}
    return parse_duration(value)


PositiveDurationDistribution = Annotated[PositiveDistribution, BeforeValidator(_in_seconds)]
"""A ``PositiveDistribution`` of seconds whose numbers may carry a unit, like any ``*_s`` key."""
