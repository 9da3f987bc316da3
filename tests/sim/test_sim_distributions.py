"""Scalar distributions written in scenarios (edgesim.distributions): draws, moments, bounds, text."""

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from scipy import stats

from edgesim.distributions import (Bimodal, Constant, Distribution, Empirical, Exponential, LogNormal,
                                   NonNegativeDistribution, Normal, Pareto, PositiveDistribution,
                                   PositiveDurationDistribution, Uniform)

ADAPTER = TypeAdapter(Distribution)


def test_bare_number_is_a_constant():
    dist = ADAPTER.validate_python(12.5)
    assert dist == Constant(value=12.5)
    assert dist.sample(np.random.default_rng(0)) == 12.5 and dist.mean() == 12.5
    assert isinstance(ADAPTER.validate_python(3), Constant)


def test_normal_is_clipped_at_its_minimum():
    dist = Normal.model_validate({"mean": -100, "std": 1, "minimum": 0.5})
    assert dist.sample(np.random.default_rng(0)) == 0.5


@pytest.mark.parametrize("raw, numpy_draw", [
    (7.25, lambda r: 7.25),
    ({"kind": "uniform", "low": 1, "high": 3}, lambda r: r.uniform(1, 3)),
    ({"kind": "normal", "mean": 5, "std": 2, "minimum": 4}, lambda r: max(4, r.normal(5, 2))),
    ({"kind": "lognormal", "median": 40, "sigma": 0.3}, lambda r: 40 * np.exp(r.normal(0.0, 0.3))),
    ({"kind": "exponential", "mean": 2}, lambda r: r.exponential(2)),
    ({"kind": "exponential", "mean": 2, "shift": 0.5}, lambda r: 0.5 + r.exponential(2)),
    ({"kind": "pareto", "alpha": 1.5, "minimum": 3}, lambda r: 3 * (1.0 + r.pareto(1.5))),
    ({"kind": "bimodal", "fraction": 0.3, "factor": 9, "base": 2}, lambda r: 9.0 if r.random() < 0.3 else 2.0),
    ({"kind": "empirical", "values": [4, 1.5, 8]}, lambda r: [4.0, 1.5, 8.0][r.integers(3)]),
])
def test_every_kind_draws_exactly_its_numpy_calls(raw, numpy_draw):
    dist = ADAPTER.validate_python(raw)
    rng, twin = np.random.default_rng(11), np.random.default_rng(11)
    draws = [dist.sample(rng) for _ in range(200)]
    assert draws == [float(numpy_draw(twin)) for _ in range(200)]
    assert all(type(draw) is float for draw in draws)
    assert rng.bit_generator.state == twin.bit_generator.state


@pytest.mark.parametrize("dist, mean, frozen", [
    (Constant(value=3.5), 3.5, None),
    (Uniform(low=2, high=6), 4.0, stats.uniform(loc=2, scale=4)),
    (Uniform(low=2, high=2), 2.0, None),
    (LogNormal(median=40, sigma=0.3), 40 * np.exp(0.3**2 / 2), stats.lognorm(s=0.3, scale=40)),
    (LogNormal(median=40, sigma=0), 40.0, None),
    (Exponential(mean=2, shift=0.5), 2.5, stats.expon(loc=0.5, scale=2)),
    (Pareto(alpha=3, minimum=2), 3 * 2 / (3 - 1), stats.pareto(b=3, scale=2)),
    (Pareto(alpha=1, minimum=2), np.inf, stats.pareto(b=1, scale=2)),
    (Bimodal(fraction=0.1, factor=10, base=1), 0.9 * 1 + 0.1 * 10, None),
    (Bimodal(fraction=0.5, factor=3, base=3), 3.0, None),
    (Empirical(values=[1, 2.5, 2.5, 7]), (1 + 2.5 + 2.5 + 7) / 4, None),
])
def test_means_are_the_hand_computed_ones(dist, mean, frozen):
    assert dist.mean() == pytest.approx(mean)
    if frozen is not None:  # the same scipy.stats distribution, quantiles included
        assert dist.scipy().mean() == pytest.approx(frozen.mean())
        assert dist.scipy().ppf([0.1, 0.5, 0.9]) == pytest.approx(frozen.ppf([0.1, 0.5, 0.9]))


def test_discrete_kinds_put_their_weights_on_their_values():
    bimodal = Bimodal(fraction=0.25, factor=8, base=2).scipy()
    assert bimodal.pmf([2, 8]) == pytest.approx([0.75, 0.25])
    assert Empirical(values=[1, 2.5, 2.5, 7]).scipy().pmf([1, 2.5, 7]) == pytest.approx([0.25, 0.5, 0.25])
    assert Constant(value=3.5).scipy().ppf(0.5) == 3.5


def test_a_clipped_normal_has_no_scipy_counterpart():
    dist = Normal(mean=5, std=2, minimum=4)
    assert dist.mean() == 5.0  # the mean parameter, before clipping
    with pytest.raises(NotImplementedError, match="normal"):
        dist.scipy()


def test_validation():
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"kind": "uniform", "low": 3, "high": 1})
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"kind": "lognormal", "median": 0, "sigma": 1})
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"kind": "exponential", "mean": 0})
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"kind": "pareto", "alpha": 0, "minimum": 1})
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"kind": "pareto", "alpha": 1, "minimum": 0})
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"kind": "bimodal", "fraction": 1.5, "factor": 2, "base": 1})
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"kind": "empirical", "values": []})
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"kind": "weibull", "shape": 1})
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(True)
    assert isinstance(ADAPTER.validate_python({"kind": "uniform", "low": 1, "high": 1}), Uniform)
    assert isinstance(Exponential.model_validate({"mean": 1}), Exponential)
    assert LogNormal(median=2, sigma=0).sample(np.random.default_rng(0)) == 2.0


@pytest.mark.parametrize("spec, bound", [
    (7, (7.0, True)),
    ({"kind": "uniform", "low": 2, "high": 3}, (2.0, True)),
    ({"kind": "normal", "mean": 5, "std": 1, "minimum": 0.5}, (0.5, True)),
    ({"kind": "lognormal", "median": 5, "sigma": 1}, (0.0, False)),
    ({"kind": "exponential", "mean": 5}, (0.0, False)),
    ({"kind": "exponential", "mean": 5, "shift": 2}, (2.0, False)),
    ({"kind": "pareto", "alpha": 2, "minimum": 3}, (3.0, False)),
    ({"kind": "bimodal", "fraction": 0.2, "factor": 0.5, "base": 4}, (0.5, True)),
    ({"kind": "bimodal", "fraction": 0.0, "factor": 0.5, "base": 4}, (4.0, True)),
    ({"kind": "bimodal", "fraction": 1.0, "factor": 5, "base": 0.5}, (5.0, True)),
    ({"kind": "empirical", "values": [3, 1.5, 9]}, (1.5, True)),
])
def test_lower_bound_of_every_kind(spec, bound):
    assert ADAPTER.validate_python(spec).lower_bound() == bound


def test_positive_and_non_negative_distributions():
    positive, non_negative = TypeAdapter(PositiveDistribution), TypeAdapter(NonNegativeDistribution)
    assert positive.validate_python({"kind": "lognormal", "median": 1, "sigma": 2}).median == 1
    assert non_negative.validate_python(0).value == 0
    for spec, message in ((0, "must be positive"), ({"kind": "uniform", "low": 0, "high": 1},
                                                    "uniform distribution can draw 0"),
                          ({"kind": "normal", "mean": 9, "std": 1}, "normal distribution can draw 0")):
        with pytest.raises(ValidationError, match=message):
            positive.validate_python(spec)
    with pytest.raises(ValidationError, match="must be zero or more"):
        non_negative.validate_python(-1)
    assert positive.validate_python({"kind": "pareto", "alpha": 1.5, "minimum": 0.1}).minimum == 0.1
    assert non_negative.validate_python({"kind": "empirical", "values": [0, 2]}).values == [0, 2]
    for spec, message in (({"kind": "empirical", "values": [0, 2]}, "empirical distribution can draw 0"),
                          ({"kind": "bimodal", "fraction": 0.5, "factor": 0, "base": 1},
                           "bimodal distribution can draw 0")):
        with pytest.raises(ValidationError, match=message):
            positive.validate_python(spec)
    with pytest.raises(ValidationError, match="exponential distribution can draw -1"):
        non_negative.validate_python({"kind": "exponential", "mean": 2, "shift": -1})


def test_durations_of_every_kind_take_units():
    durations = TypeAdapter(PositiveDurationDistribution)
    assert durations.validate_python({"kind": "exponential", "mean": "30m", "shift": "1h"}) == \
        Exponential(mean=1800, shift=3600)
    assert durations.validate_python({"kind": "empirical", "values": ["1m", 90]}).values == [60, 90]
    assert durations.validate_python({"kind": "bimodal", "fraction": 0.1, "factor": "2h", "base": "1h"}) == \
        Bimodal(fraction=0.1, factor=7200, base=3600)
    assert durations.validate_python({"kind": "pareto", "alpha": 2, "minimum": "1m"}).minimum == 60


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_are_refused(value):
    with pytest.raises(ValidationError, match="finite number"):
        ADAPTER.validate_python(value)
    with pytest.raises(ValidationError, match="finite number"):
        ADAPTER.validate_python({"kind": "uniform", "low": 0, "high": value})
