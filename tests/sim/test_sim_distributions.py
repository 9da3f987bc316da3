"""Scalar distributions written in scenarios (edgesim.distributions)."""

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from edgesim.distributions import Constant, Distribution, Exponential, LogNormal, Normal, Uniform

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
