"""Building the fleet from a scenario: ids, overrides, links, seeded bandwidths, and groups taken from a trace."""

import copy
import itertools

import pandas as pd
import pytest
import yaml

from edgesim.distributions import LogNormal
from edgesim.errors import InputError
from edgesim.profiles import builtin_devices
from edgesim.scenario import load_scenario, validate
from edgesim.scenario.fleet import build_fleet
from edgesim.seeding import Streams
from edgesim.sim.stragglers import BimodalStragglers, LogNormalStragglers
from edgesim.traces.open_format import write_open_trace

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


def trace_scenario(tmp_path, **group):
    folder = write_open_trace(
        tmp_path / "trace",
        pd.DataFrame({"device": ["x", "y", "z"], "train_gflops": [2.0, None, 8.0], "down_mbps": [10.0, 20.0, 30.0],
                      "latency_ms": [5.0, 6.0, None]}),
        pd.DataFrame({"device": ["x", "y", "y"], "start_s": [0.0, 100.0, 300.0], "end_s": [50.0, 200.0, 400.0]}),
        pd.DataFrame({"device": ["z", "z"], "time_s": [10.0, 20.0], "train_gflops": [1.0, 4.0]}))
    raw = copy.deepcopy(RAW)
    raw["fleet"]["groups"] = [{"name": "tr", "profile": "phone_low_end", "network": "lte",
                               "trace": {"path": str(folder)}, **group}]
    raw["fleet"]["failures"] = {"kind": "none"}
    return raw


def test_a_trace_group_takes_the_devices_figures_availability_and_capacity_in_trace_order(tmp_path):
    raw = trace_scenario(tmp_path)
    assert validate(raw).fleet.groups[0].count == 3  # every device of the trace by default
    plan = build(raw)
    profile = builtin_devices()["phone_low_end"]
    x, y, z = plan.devices
    assert [d.id for d in plan.devices] == ["tr-0", "tr-1", "tr-2"]
    assert (x.flops_per_s, y.flops_per_s, z.flops_per_s) == (2e9, profile.train_gflops * 1e9, 8e9)
    assert (x.down_bps, y.down_bps, z.down_bps) == (10e6, 20e6, 30e6)
    assert x.latency_s() == 0.005 and isinstance(z.latency_ms, LogNormal)  # z's latency from the network
    assert list(plan.availability_of(x)) == [(0.0, True), (50.0, False)]
    assert list(plan.availability_of(y)) == [(0.0, False), (100.0, True), (200.0, False), (300.0, True),
                                             (400.0, False)]
    assert list(plan.availability_of(z)) == [(0.0, False)]  # no intervals: never available
    assert [(c.time_s, c.flops_per_s) for c in plan.device_capacity[2]] == [(10.0, 1e9), (20.0, 4e9)]


def test_a_group_may_take_only_the_availability_or_the_first_devices(tmp_path):
    plan = build(trace_scenario(tmp_path, count=2, trace={"path": str(tmp_path / "trace"), "use": ["availability"]}))
    profile = builtin_devices()["phone_low_end"]
    assert len(plan.devices) == 2 and all(d.flops_per_s == profile.train_gflops * 1e9 for d in plan.devices)
    assert list(plan.availability_of(plan.devices[0])) == [(0.0, True), (50.0, False)]
    assert plan.device_capacity == [[], []]


def test_a_trace_group_asking_for_more_devices_or_parts_than_the_trace_has_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"fleet.groups\[0\]: count: 5 devices, but .*trace has 3"):
        validate(trace_scenario(tmp_path, count=5))
    only = tmp_path / "only"
    only.mkdir()
    (only / "devices.csv").write_text("device,train_gflops\na,1\n")
    with pytest.raises(InputError, match="uses availability, which .*only does not hold \\(it holds devices\\)"):
        validate(trace_scenario(tmp_path, trace={"path": str(only), "use": ["availability"]}))


def test_a_trace_path_is_relative_to_the_scenario_file(tmp_path):
    raw = trace_scenario(tmp_path)
    raw["fleet"]["groups"][0]["trace"] = {"path": "trace"}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(raw))
    assert load_scenario(tmp_path / "s.yaml").fleet.groups[0].trace.path == str(tmp_path / "trace")
