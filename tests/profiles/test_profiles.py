"""Built-in device/network profiles: they load, are sourced, sane, and render."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from edgesim.distributions import Bimodal, Constant, Empirical, Exponential, LogNormal, Normal, Pareto, Uniform
from edgesim.errors import InputError
from edgesim.profiles import (
    DeviceProfile,
    NetworkProfile,
    builtin_devices,
    builtin_networks,
    validate_profiles,
)
from edgesim.profiles.listing import describe_distribution, render_profiles
from edgesim.sim.stragglers import BimodalStragglers, ExponentialStragglers, NoStragglers, ParetoStragglers


def _median(dist) -> float:
    """Median of a (lognormal or constant) distribution for ordering checks."""
    return dist.median if isinstance(dist, LogNormal) else dist.mean()


def test_builtin_devices_load_and_validate():
    devices = builtin_devices()
    assert len(devices) >= 8
    for name, p in devices.items():
        assert isinstance(p, DeviceProfile), name
        assert p.source.strip(), name
        assert p.description.strip(), name
        assert p.power_active_w > p.power_idle_w, name


def test_builtin_networks_load_and_validate():
    networks = builtin_networks()
    assert len(networks) >= 5
    for name, p in networks.items():
        assert isinstance(p, NetworkProfile), name
        assert p.source.strip(), name
        assert p.description.strip(), name


def test_device_ordering_is_plausible():
    g = {name: p.train_gflops for name, p in builtin_devices().items()}
    assert g["laptop"] > g["mini_pc"] > g["raspberry_pi_5"] > g["raspberry_pi_4"] > g["raspberry_pi_3b"]
    assert g["phone_flagship"] > 3 * g["phone_low_end"]
    assert g["jetson_orin_nano"] > g["jetson_nano"] > g["raspberry_pi_5"]


def test_network_ordering_is_plausible():
    n = builtin_networks()
    down = {name: _median(p.down_mbps) for name, p in n.items()}
    assert down["ethernet"] >= down["wifi6"] > down["wifi5"] > down["wifi4"]
    assert down["5g"] > down["lte"] > down["3g"] > down["lte_m"] > down["nb_iot"]
    for name, p in n.items():
        # Access links are asymmetric or symmetric, never much faster upstream.
        assert _median(p.up_mbps) <= 2 * _median(p.down_mbps), name
    assert _median(n["ethernet"].latency_ms) < _median(n["lte"].latency_ms) < _median(n["nb_iot"].latency_ms)


def test_callers_cannot_mutate_shared_state():
    devices = builtin_devices()
    devices.clear()
    assert builtin_devices(), "clearing a returned dict must not empty the cache"
    with pytest.raises(Exception):
        builtin_networks()["lte"].source = "changed"  # models are frozen


def test_validate_profiles_reports_where():
    bad = {"ok": {"train_gflops": 1, "ram_mb": 1, "power_idle_w": 0, "power_active_w": 1, "source": "x"},
           "broken": {"train_gflops": -1, "ram_mb": 1, "power_idle_w": 0, "power_active_w": 1}}
    with pytest.raises(InputError) as info:
        validate_profiles(bad, DeviceProfile, "test.yaml")
    text = str(info.value)
    assert "test.yaml: broken.train_gflops" in text
    assert "test.yaml: broken.source" in text
    assert "ok." not in text
    with pytest.raises(InputError):
        validate_profiles([1, 2], DeviceProfile, "test.yaml")


def test_a_device_that_draws_less_training_than_idle_is_refused():
    inverted = {"box": {"train_gflops": 1, "ram_mb": 1, "power_idle_w": 5, "power_active_w": 1, "source": "x"}}
    with pytest.raises(InputError, match=r"box: power_active_w \(1 W\) is below power_idle_w \(5 W\)"):
        validate_profiles(inverted, DeviceProfile, "test.yaml")


def test_render_profiles_mentions_every_name():
    devices, networks = builtin_devices(), builtin_networks()
    buf = io.StringIO()
    render_profiles(devices, networks, Console(file=buf, width=100))
    out = buf.getvalue()
    for name in [*devices, *networks]:
        assert name in out, name
    assert max(len(line) for line in out.splitlines()) <= 100


@pytest.mark.parametrize(
    "dist, expected",
    [
        (Constant(value=5), "5"),
        (7.5, "7.5"),
        (Uniform(low=10, high=20), "uniform 10–20"),
        (Normal(mean=50, std=5), "normal mean 50 sd 5"),
        (Normal(mean=50, std=5, minimum=1), "normal mean 50 sd 5 min 1"),
        (LogNormal(median=50, sigma=0.4), "lognormal median 50 σ0.4"),
        (Exponential(mean=30), "exponential mean 30"),
        (Exponential(mean=30, shift=5), "exponential mean 30 shift 5"),
        (Pareto(alpha=1.5, minimum=20), "pareto min 20 α1.5"),
        (Bimodal(fraction=0.1, factor=200, base=20), "bimodal 20, 200 at 10%"),
        (Empirical(values=[12, 15.5, 40]), "empirical 12, 15.5, 40"),
        (Empirical(values=[12, 15.5, 40, 8, 30]), "empirical 5 values 8–40"),
        (NoStragglers(), "1"),
        (ParetoStragglers(alpha=1.5), "pareto min 1 α1.5"),
        (ExponentialStragglers(shift=0), "exponential mean 1"),
        (BimodalStragglers(fraction=0.1, factor=10), "bimodal 1, 10 at 10%"),
    ],
)
def test_describe_distribution(dist, expected):
    assert describe_distribution(dist) == expected
    if not isinstance(dist, float):
        assert dist.describe() == expected


def test_describe_distribution_rejects_other_things():
    with pytest.raises(TypeError):
        describe_distribution("fast")
