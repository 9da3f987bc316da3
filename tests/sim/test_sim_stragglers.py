"""Straggler models: per-device vs per-task draws, value ranges, edge cases."""

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from edgesim.sim.stragglers import (
    BimodalStragglers,
    EmpiricalStragglers,
    ExponentialStragglers,
    LogNormalStragglers,
    NoStragglers,
    ParetoStragglers,
    StragglerConfig,
)
from sim_fixtures import make_device


def test_per_device_draws_once_for_the_device_and_never_per_task():
    model = LogNormalStragglers(sigma=0.4, per="device")
    rng = np.random.default_rng(3)
    factor = model.device_factor(rng)
    assert factor == pytest.approx(np.exp(np.random.default_rng(3).normal(0.0, 0.4)))
    state = rng.bit_generator.state
    assert [model.task_factor(rng) for _ in range(5)] == [1.0] * 5
    assert rng.bit_generator.state == state, "task_factor of a per-device model draws nothing"


def test_per_task_draws_every_task_and_not_for_the_device():
    model = LogNormalStragglers(sigma=0.4)
    assert model.per == "task"
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    assert model.device_factor(rng) == 1.0
    assert rng.bit_generator.state == state
    draws = [model.task_factor(rng) for _ in range(3)]
    reference = np.random.default_rng(3)
    assert draws == pytest.approx([np.exp(reference.normal(0.0, 0.4)) for _ in range(3)])
    assert len(set(draws)) == 3


def test_bimodal_defaults_to_per_device():
    assert BimodalStragglers(fraction=0.5, factor=4).per == "device"


def test_no_stragglers_is_one_either_way():
    rng = np.random.default_rng(0)
    assert NoStragglers().task_factor(rng) == 1.0
    assert NoStragglers(per="device").device_factor(rng) == 1.0


def test_pareto_is_at_least_one_and_matches_lomax_plus_one():
    model = ParetoStragglers(alpha=1.5)
    draws = [model.draw(np.random.default_rng(s)) for s in range(200)]
    assert min(draws) >= 1.0
    assert draws[0] == pytest.approx(1.0 + np.random.default_rng(0).pareto(1.5))


def test_exponential_is_one_plus_exponential():
    model = ExponentialStragglers(mean=2.0)
    assert model.draw(np.random.default_rng(9)) == pytest.approx(1.0 + np.random.default_rng(9).exponential(2.0))


def test_bimodal_fraction_edges():
    rng = np.random.default_rng(0)
    assert {BimodalStragglers(fraction=0.0, factor=5).draw(rng) for _ in range(200)} == {1.0}
    assert {BimodalStragglers(fraction=1.0, factor=5).draw(rng) for _ in range(200)} == {5.0}
    mixed = {BimodalStragglers(fraction=0.5, factor=5).draw(rng) for _ in range(200)}
    assert mixed == {1.0, 5.0}


def test_empirical_draws_only_from_values():
    model = EmpiricalStragglers(values=[1.0, 2.5, 7.0])
    rng = np.random.default_rng(1)
    draws = [model.draw(rng) for _ in range(300)]
    assert set(draws) == {1.0, 2.5, 7.0}
    assert EmpiricalStragglers(values=[3.25]).draw(rng) == 3.25


def test_config_union_and_validation():
    adapter = TypeAdapter(StragglerConfig)
    parsed = adapter.validate_python({"kind": "pareto", "alpha": 2, "per": "device"})
    assert isinstance(parsed, ParetoStragglers) and parsed.per == "device"
    with pytest.raises(ValidationError):
        adapter.validate_python({"kind": "lognormal", "sigma": 0})
    with pytest.raises(ValidationError):
        adapter.validate_python({"kind": "bimodal", "fraction": 1.5, "factor": 2})
    with pytest.raises(ValidationError):
        adapter.validate_python({"kind": "empirical", "values": []})


def test_uniform_and_combined_models_multiply_in_order():
    from edgesim.sim.stragglers import CombinedStragglers, UniformStragglers

    per_device = UniformStragglers(low=0.5, high=1.5, per="device")
    per_task = UniformStragglers(low=2.0, high=2.0)
    combined = CombinedStragglers((per_task, per_device))
    rng, twin = np.random.default_rng(4), np.random.default_rng(4)
    assert combined.device_factor(rng) == twin.uniform(0.5, 1.5)  # the per-task model draws nothing here
    assert combined.task_factor(rng) == 2.0
    with pytest.raises(ValueError):
        UniformStragglers(low=2, high=1)


def test_memoryless_task_times_are_exponential_with_the_nominal_mean():
    # shift 0: a task's time is Exp with mean = nominal (1 GFLOP at 1 GFLOP/s = 1 s); coefficient of variation 1
    device = make_device(flops_per_s=1e9, stragglers=ExponentialStragglers(shift=0.0), rng=np.random.default_rng(4))
    times = np.array([device.compute_seconds(1e9) for _ in range(20000)])
    assert times.mean() == pytest.approx(1.0, rel=0.03)
    assert times.std() / times.mean() == pytest.approx(1.0, abs=0.03)
    assert stats.kstest(times, stats.expon(scale=1.0).cdf).pvalue > 1e-3
    # memoryless: having run 1 s already, the rest is distributed as a fresh task
    survived = times[times > 1.0] - 1.0
    assert np.mean(survived > 0.5) == pytest.approx(np.mean(times > 0.5), abs=0.02)
    assert stats.ks_2samp(survived, times).pvalue > 1e-3
    # the default keeps the floor of 1: never faster than nominal
    floored = make_device(stragglers=ExponentialStragglers(), rng=np.random.default_rng(4))
    assert min(floored.compute_seconds(1e9) for _ in range(1000)) >= 1.0
