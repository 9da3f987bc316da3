"""Straggler models: per-device vs per-task draws, value ranges, edge cases, and that each kind is a
distribution of edgesim.distributions drawing exactly the numpy calls it always drew."""

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from edgesim.distributions import Bimodal, Constant, Empirical, Exponential, LogNormal, Pareto, Uniform
from edgesim.sim.stragglers import (
    BimodalStragglers,
    CombinedStragglers,
    EmpiricalStragglers,
    ExponentialStragglers,
    LogNormalStragglers,
    NoStragglers,
    ParetoStragglers,
    StragglerConfig,
    UniformStragglers,
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


ADAPTER = TypeAdapter(StragglerConfig)

# Each YAML form with the numpy calls its factor was drawn with before the kinds joined edgesim.distributions.
NUMPY_DRAWS = [
    ({"kind": "none"}, lambda r: 1.0),
    ({"kind": "lognormal", "sigma": 0.5}, lambda r: 1.0 * np.exp(r.normal(0.0, 0.5))),
    ({"kind": "lognormal", "sigma": 0.5, "median": 2}, lambda r: 2.0 * np.exp(r.normal(0.0, 0.5))),
    ({"kind": "pareto", "alpha": 1.5}, lambda r: 1.0 + r.pareto(1.5)),
    ({"kind": "exponential"}, lambda r: 1.0 + r.exponential(1.0)),
    ({"kind": "exponential", "mean": 1, "shift": 0, "per": "task"}, lambda r: 0.0 + r.exponential(1.0)),
    ({"kind": "exponential", "mean": 2.5, "shift": 0.5}, lambda r: 0.5 + r.exponential(2.5)),
    ({"kind": "uniform", "low": 0.5, "high": 3}, lambda r: r.uniform(0.5, 3.0)),
    ({"kind": "bimodal", "fraction": 0.1, "factor": 10}, lambda r: 10.0 if r.random() < 0.1 else 1.0),
    ({"kind": "empirical", "values": [1, 2.5, 7]}, lambda r: [1.0, 2.5, 7.0][r.integers(3)]),
]


@pytest.mark.parametrize("raw, numpy_draw", NUMPY_DRAWS, ids=[str(raw) for raw, _ in NUMPY_DRAWS])
def test_every_kind_draws_bit_identically_to_its_numpy_calls(raw, numpy_draw):
    model = ADAPTER.validate_python(raw)
    rng, twin = np.random.default_rng(2024), np.random.default_rng(2024)
    factors = [model.draw(rng) for _ in range(500)]
    assert factors == [float(numpy_draw(twin)) for _ in range(500)]  # exact, not approximate
    assert rng.bit_generator.state == twin.bit_generator.state, "no draw more or less than before"
    again = np.random.default_rng(2024)
    assert [model.sample(again) for _ in range(500)] == factors, "draw is the distribution's sample"


def test_combined_models_draw_bit_identically_in_order():
    combined = CombinedStragglers((ADAPTER.validate_python({"kind": "pareto", "alpha": 2, "per": "device"}),
                                   ADAPTER.validate_python({"kind": "lognormal", "sigma": 0.3})))
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    assert combined.device_factor(rng) == float(np.prod([1.0 + twin.pareto(2.0), 1.0]))
    tasks = [combined.task_factor(rng) for _ in range(50)]
    assert tasks == [float(np.prod([1.0, np.exp(twin.normal(0.0, 0.3))])) for _ in range(50)]


@pytest.mark.parametrize("model, family", [
    (NoStragglers(), Constant), (LogNormalStragglers(sigma=1), LogNormal), (ParetoStragglers(alpha=2), Pareto),
    (ExponentialStragglers(), Exponential), (UniformStragglers(low=1, high=2), Uniform),
    (BimodalStragglers(fraction=0.1, factor=3), Bimodal), (EmpiricalStragglers(values=[1, 2]), Empirical),
])
def test_each_kind_is_a_distribution_of_the_family(model, family):
    assert isinstance(model, family)
    assert model.describe() == family.describe(model)
    assert model.mean() == pytest.approx(family.mean(model))


def test_yaml_defaults_are_the_slowdown_ones():
    assert ADAPTER.validate_python({"kind": "lognormal", "sigma": 0.5}).median == 1.0
    assert ADAPTER.validate_python({"kind": "pareto", "alpha": 1.5}).minimum == 1.0
    exponential = ADAPTER.validate_python({"kind": "exponential"})
    assert (exponential.mean(), exponential.shift, exponential.per) == (2.0, 1.0, "task")
    bimodal = ADAPTER.validate_python({"kind": "bimodal", "fraction": 0.1, "factor": 10})
    assert (bimodal.base, bimodal.per) == (1.0, "device")
    assert ADAPTER.validate_python({"kind": "none"}).model_dump(by_alias=True) == {"kind": "none", "per": "task"}


@pytest.mark.parametrize("raw", [
    {"kind": "none", "value": 2},
    {"kind": "lognormal", "sigma": 21},
    {"kind": "lognormal", "sigma": 0.5, "median": 0},
    {"kind": "pareto", "alpha": 0},
    {"kind": "exponential", "mean": 0},
    {"kind": "exponential", "shift": -0.5},
    {"kind": "uniform", "low": 0, "high": 1},
    {"kind": "uniform", "low": 3, "high": 2},
    {"kind": "bimodal", "fraction": 0.1, "factor": 0},
    {"kind": "empirical", "values": [1, 0]},
    {"kind": "lognormal", "sigma": 0.5, "per": "round"},
])
def test_slowdown_ranges_are_still_enforced(raw):
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(raw)


def test_a_model_reads_back_from_its_dump():
    for raw, _ in NUMPY_DRAWS:
        model = ADAPTER.validate_python(raw)
        assert ADAPTER.validate_python(model.model_dump(mode="json", by_alias=True)) == model
