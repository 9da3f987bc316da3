"""Building the fleet from a scenario: ids, overrides, links, seeded bandwidths."""

import copy
import itertools

import pytest

from edgesim.distributions import LogNormal
from edgesim.errors import InputError
from edgesim.profiles import builtin_devices
from edgesim.scenario import validate
from edgesim.seeding import Streams
from edgesim.scenario.fleet import build_fleet
from edgesim.sim.stragglers import BimodalStragglers, LogNormalStragglers

RAW = {
    "name": "build-test",
    "seed": 3,
    "start_hour": 20,
    "fleet": {
        "groups": [
            {"name": "pi", "profile": "raspberry_pi_4", "count": 2, "network": "wifi5", "link": "home"},
            {"name": "ph", "profile": "phone_low_end", "count": 3, "network": "lte",
             "overrides": {"train_gflops": 2.0, "ram_mb": 1000, "down_mbps": 7, "up_mbps": 3, "latency_ms": 5},
             "stragglers": {"kind": "bimodal", "fraction": 1.0, "factor": 2.0},
             "availability": {"kind": "always"}},
        ],
        "stragglers": {"kind": "lognormal", "sigma": 0.3},
        "availability": {"kind": "windows", "windows": [[22, 7]]},
        "failures": {"kind": "trace", "outages": [{"device": "ph-1", "at_s": 50, "duration_s": 5}]},
        "memory_fraction": 0.25,
    },
    "links": {"home": {"down_mbps": 50, "up_mbps": 10}},
    "server": {"clients_per_round": 2, "up_mbps": 100},
    "dataset": {"name": "synthetic"},
}


def build(raw=RAW, seed=None):
    scenario = validate(copy.deepcopy(raw))
    return build_fleet(scenario, Streams(scenario.seed if seed is None else seed))


def test_ids_groups_and_indices():
    plan = build()
    assert [d.id for d in plan.devices] == ["pi-0", "pi-1", "ph-0", "ph-1", "ph-2"]
    assert [d.index for d in plan.devices] == [0, 1, 2, 3, 4]
    assert [d.group for d in plan.devices] == ["pi", "pi", "ph", "ph", "ph"]
    assert len(plan.availability()) == len(plan.outages()) == 5


def test_profile_figures_and_overrides():
    plan = build()
    pi, ph = plan.devices[0], plan.devices[2]
    pi_profile = builtin_devices()["raspberry_pi_4"]
    assert pi.flops_per_s == pytest.approx(pi_profile.train_gflops * 1e9)
    assert pi.memory_bytes == pytest.approx(pi_profile.ram_mb * 1e6 * 0.25)
    assert ph.flops_per_s == pytest.approx(2.0e9)
    assert ph.memory_bytes == pytest.approx(1000 * 1e6 * 0.25)
    assert (ph.down_bps, ph.up_bps) == (pytest.approx(7e6), pytest.approx(3e6))
    assert ph.latency_s() == pytest.approx(0.005)
    # group stragglers multiply with the fleet's: bimodal per device with fraction 1 -> slowdown 2,
    # times the fleet's lognormal, which is drawn per task (device part 1)
    assert [type(m) for m in ph.stragglers.models] == [LogNormalStragglers, BimodalStragglers]
    assert ph.slowdown == 2.0
    # fleet stragglers (lognormal, per task) leave the device slowdown at 1
    assert isinstance(pi.stragglers, LogNormalStragglers) and pi.slowdown == 1.0


def test_bandwidth_drawn_from_the_device_stream():
    plan = build()
    rng = Streams(3).rng("device", 1)
    down = LogNormal(median=120, sigma=0.6).sample(rng)  # wifi5
    up = LogNormal(median=40, sigma=0.8).sample(rng)
    assert plan.devices[1].down_bps == pytest.approx(down * 1e6)
    assert plan.devices[1].up_bps == pytest.approx(up * 1e6)


def test_links_are_attached_and_shared():
    plan = build()
    pi0, pi1, ph0 = plan.devices[0], plan.devices[1], plan.devices[2]
    # server.down_mbps is unset -> no server egress link; the home link has both directions.
    assert [link.name for link in pi0.links_down] == ["home.down"]
    assert [link.name for link in pi0.links_up] == ["home.up", "server.up"]
    assert [link.capacity_bps for link in pi0.links_up] == [10e6, 100e6]
    assert pi0.links_down[0].capacity_bps == 50e6
    assert ph0.links_down == ()
    assert [link.name for link in ph0.links_up] == ["server.up"]
    # one Link object per shared link, so the devices really contend
    assert pi0.links_up[0] is pi1.links_up[0]
    assert pi0.links_up[1] is ph0.links_up[0] is plan.devices[4].links_up[0]


def test_availability_and_failures_per_device():
    plan = build()
    # start 20:00, window 22-07 -> off at 0, on at 2 h; the phone group overrides to always
    assert list(itertools.islice(plan.availability()[0], 2)) == [(0.0, False), (7200.0, True)]
    assert list(plan.availability()[2]) == [(0.0, True)]
    assert [list(o) for o in plan.outages()] == [[], [], [], [(50.0, 5.0)], []]


def test_same_seed_same_draws_other_seed_differs():
    a, b, c = build(), build(), build(seed=4)
    bandwidths = lambda plan: [(d.down_bps, d.up_bps) for d in plan.devices]
    assert bandwidths(a) == bandwidths(b)
    assert bandwidths(a)[:2] != bandwidths(c)[:2]
    # the device rng continues identically too (latency and task straggler draws)
    assert a.devices[0].rng.random() == b.devices[0].rng.random()


def test_adding_a_group_keeps_earlier_devices_draws():
    raw = copy.deepcopy(RAW)
    raw["fleet"]["groups"].append({"name": "extra", "profile": "raspberry_pi_4", "count": 2, "network": "wifi4"})
    bigger, base = build(raw), build()
    assert [d.down_bps for d in bigger.devices[:5]] == [d.down_bps for d in base.devices]
    assert [d.id for d in bigger.devices[5:]] == ["extra-0", "extra-1"]


def test_bandwidth_is_used_as_drawn_and_a_zero_bandwidth_never_gets_this_far():
    raw = copy.deepcopy(RAW)
    raw["fleet"]["groups"][1]["overrides"]["down_mbps"] = 0.002
    assert build(raw).devices[2].down_bps == pytest.approx(2e3)
    raw["fleet"]["groups"][1]["overrides"]["down_mbps"] = 0
    with pytest.raises(InputError, match=r"fleet.groups\[1\].overrides.down_mbps: must be positive"):
        build(raw)
