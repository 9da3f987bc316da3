"""Client selection: uniform draws as FedAvg's rule always did; power-of-choice keeps the highest-loss
candidates of its draw, ties and NaN handled by hand-checked rules; the deadline- and battery-aware selectors
prefer the devices expected in time and those with charge, and fill with the best of the rest."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

import simpy

from edgesim.sim.battery import Battery, BatteryConfig
from edgesim.sim.selection import (BatteryAware, DeadlineAware, PowerOfChoice, RoundView, Selection, UniformSelection,
                                   expected_task_s)
from edgesim.work import TaskCost
from sim_fixtures import make_device

READY = list("abcdefgh")  # stand-ins for devices: selectors only index them and pass them to the losses


def test_uniform_selection_is_the_draw_without_replacement_sorted():
    chosen = UniformSelection().choose(READY, 3, np.random.default_rng(4))
    assert chosen == sorted(int(i) for i in np.random.default_rng(4).choice(8, size=3, replace=False))


def test_power_of_choice_keeps_the_highest_losses_of_its_draw():
    loss = dict(zip(READY, [0.1, 0.9, 0.5, 0.7, 0.2, 0.8, 0.3, 0.6]))
    asked = []

    def losses(devices):
        asked.append(list(devices))
        return [loss[d] for d in devices]

    chosen = PowerOfChoice(kind="power_of_choice", candidates=2).choose(READY, 2, np.random.default_rng(1),
                                                                        RoundView(losses))
    drawn = [int(i) for i in np.random.default_rng(1).choice(8, size=4, replace=False)]
    assert asked == [[READY[i] for i in drawn]]  # d = ceil(2 * 2) devices probed, in draw order
    assert chosen == sorted(sorted(drawn, key=lambda i: -loss[READY[i]])[:2])


def test_power_of_choice_breaks_ties_by_draw_order_and_ranks_nan_last():
    drawn = [int(i) for i in np.random.default_rng(0).choice(8, size=3, replace=False)]
    values = {drawn[0]: math.nan, drawn[1]: 1.0, drawn[2]: 1.0}
    chosen = PowerOfChoice(kind="power_of_choice", candidates=1.5).choose(
        READY, 2, np.random.default_rng(0), RoundView(lambda devices: [values[READY.index(d)] for d in devices]))
    assert chosen == sorted(drawn[1:])


def test_power_of_choice_draws_at_most_the_ready_devices():
    chosen = PowerOfChoice(kind="power_of_choice", candidates=10).choose(
        READY[:3], 2, np.random.default_rng(0), RoundView(lambda devices: [READY.index(d) for d in devices]))
    assert chosen == [1, 2]


@pytest.mark.parametrize("value", [{"kind": "power_of_choice", "candidates": 0.5}, {"kind": "oort"},
                                   {"kind": "uniform", "candidates": 2}])
def test_bad_selections_are_refused(value):
    with pytest.raises(ValidationError):
        TypeAdapter(Selection).validate_python(value)


COST = TaskCost(download_bytes=1_000_000, flops=1e9, upload_bytes=500_000, footprint_bytes=0)


def devices(speeds):
    return [make_device(f"d-{i}", i, flops_per_s=f, latency_ms=10.0) for i, f in enumerate(speeds)]


def test_a_devices_expected_task_time_is_latency_bytes_and_flops_at_its_own_rates():
    device = make_device(flops_per_s=0.5e9, latency_ms=10.0)  # 8 Mbit/s down, 4 up
    device.slowdown = 2.0
    assert expected_task_s(device, COST) == pytest.approx(0.02 + 1.0 + 4.0 + 1.0)


def test_deadline_aware_draws_among_the_devices_expected_in_time_and_fills_with_the_fastest():
    ready = devices([1e9, 0.1e9, 1e9, 1e9, 0.05e9, 0.2e9])  # expected 3.02, 12.02, 3.02, 3.02, 22.02, 7.02 s
    pick = DeadlineAware(kind="deadline_aware")
    view = RoundView(cost=lambda d: COST, deadline_s=5.0)
    drawn = pick.choose(ready, 2, np.random.default_rng(3), view)
    assert set(drawn) <= {0, 2, 3} and len(drawn) == 2
    assert drawn == sorted(int(i) for i in np.array([0, 2, 3])[np.random.default_rng(3).choice(3, 2, replace=False)])
    assert pick.choose(ready, 5, np.random.default_rng(0), view) == [0, 1, 2, 3, 5]  # + 7.02 s, then 12.02 s
    generous = DeadlineAware(kind="deadline_aware", margin=1.5)  # 7.5 s: device 5 is expected in time as well
    assert set(generous.choose(ready, 4, np.random.default_rng(0), view)) == {0, 2, 3, 5}
    assert pick.choose(ready, 2, np.random.default_rng(0), RoundView(cost=lambda d: COST)) == [0, 2]  # no deadline


def test_battery_aware_prefers_charge_and_plugged_devices_then_the_most_charged():
    env = simpy.Environment()
    ready = devices([1e9] * 5)
    config = BatteryConfig(leave_below=0.05, rejoin_above=0.1)
    for device, soc, plugged in zip(ready[:4], (0.9, 0.2, 0.3, 0.1), (False, True, False, False)):
        device.battery = Battery(env, 10.0, soc, config, 0.5, on_low=lambda soc: None, on_ok=lambda soc: None)
        device.battery.charging = plugged
    pick = BatteryAware(kind="battery_aware", min_soc=0.5)  # eligible: 0 (0.9), 1 (plugged), 4 (mains)
    drawn = pick.choose(ready, 2, np.random.default_rng(1))
    assert set(drawn) <= {0, 1, 4} and len(drawn) == 2
    assert pick.choose(ready, 4, np.random.default_rng(1)) == [0, 1, 2, 4]  # + the best of the rest: 0.3
