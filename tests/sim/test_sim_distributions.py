"""Scalar distributions written in scenarios (edgesim.distributions)."""

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from edgesim.distributions import (Constant, Distribution, Exponential, LogNormal, NonNegativeDistribution, Normal,
                                   PositiveDistribution, Uniform)

ADAPTER = TypeAdapter(Distribution)


def test_bare_number_is_a_constant():
    dist = ADAPTER.validate_python(12.5)
    assert dist == Constant(value=12.5)
    assert dist.sample(np.random.default_rng(0)) == 12.5 and dist.mean() == 12.5
    assert isinstance(ADAPTER.validate_python(3), Constant)


def test_samples_follow_the_given_rng():
    cases = [
        ({"kind": "uniform", "low": 1, "high": 3}, lambda r: r.uniform(1, 3), 2.0),
        ({"kind": "normal", "mean": 5, "std": 1}, lambda r: max(0.0, r.normal(5, 1)), 5.0),
        ({"kind": "lognormal", "median": 40, "sigma": 0.3}, lambda r: 40 * np.exp(r.normal(0, 0.3)),
         40 * np.exp(0.045)),
        ({"kind": "exponential", "mean": 2}, lambda r: r.exponential(2), 2.0),
    ]
    for raw, reference, mean in cases:
        dist = ADAPTER.validate_python(raw)
        assert dist.sample(np.random.default_rng(4)) == pytest.approx(reference(np.random.default_rng(4)))
        assert dist.mean() == pytest.approx(mean)


def test_normal_is_clipped_at_its_minimum():
    dist = Normal.model_validate({"mean": -100, "std": 1, "minimum": 0.5})
    assert dist.sample(np.random.default_rng(0)) == 0.5


def test_validation():
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"kind": "uniform", "low": 3, "high": 1})
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"kind": "lognormal", "median": 0, "sigma": 1})
    with pytest.raises(ValidationError):
        ADAPTER.validate_python({"kind": "exponential", "mean": 0})
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


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_are_refused(value):
    with pytest.raises(ValidationError, match="finite number"):
        ADAPTER.validate_python(value)
    with pytest.raises(ValidationError, match="finite number"):
        ADAPTER.validate_python({"kind": "uniform", "low": 0, "high": value})
