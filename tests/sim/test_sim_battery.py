"""Batteries: exact drain and charging under piecewise-constant power, leaving at the low threshold (the task
in flight interrupted) and rejoining once charged, and charging that follows availability or a schedule."""

import pytest
import simpy

from edgesim.sim.battery import WH, Battery, BatteryConfig, BatteryPlan
from edgesim.sim.energy import DevicePower
from edgesim.sim.event_log import EventLog
from edgesim.sim.fleet import Fleet
from sim_fixtures import make_device

CONFIG = BatteryConfig(leave_below=0.2, rejoin_above=0.5, charge_w=10.0)


def battery(env, soc, idle_w=1.0, config=CONFIG, capacity_wh=1.0):
    seen = []
    b = Battery(env, capacity_wh, soc, config, idle_w, on_low=lambda s: seen.append(("low", env.now, s)),
                on_ok=lambda s: seen.append(("ok", env.now, s)))
    b.start()
    return b, seen


def test_idle_drain_reaches_the_low_threshold_exactly_when_it_should():
    env = simpy.Environment()
    b, seen = battery(env, soc=0.5)  # 1 Wh = 3600 J; 0.3 of it at 1 W lasts 1080 s
    env.run(until=1500)
    assert seen == [("low", pytest.approx(1080.0), pytest.approx(0.2))]
    assert b.soc == pytest.approx(0.2 - 420 / 3600)  # it goes on draining below the threshold
    env.run(until=5000)
    assert b.soc == 0.0  # and stops at empty


def test_a_heavier_draw_brings_the_crossing_forward_and_charging_brings_it_back():
    env = simpy.Environment()
    b, seen = battery(env, soc=0.5)

    def script():
        yield env.timeout(100)  # 100 J at idle
        b.set_draw(5.0)  # training: (1800 - 720 - 100) J left above 20% at 5 W -> 196 s
        yield env.timeout(500)
        b.set_draw(1.0)
        b.set_charging(True)  # net +9 W: from 20% to 50% (1080 J) in 120 s

    env.process(script())
    env.run(until=1200)
    # empty at 296 + 720 / 5 = 440 s; from 600 s it charges at a net 9 W: 50% (1800 J) at 800 s, full at 1000 s
    assert seen == [("low", pytest.approx(296.0), pytest.approx(0.2)), ("ok", pytest.approx(800.0), pytest.approx(0.5))]
    assert b.soc == 1.0  # and it stays full while plugged in


def test_full_and_plugged_in_stays_full():
    env = simpy.Environment()
    b, seen = battery(env, soc=1.0)
    b.set_charging(True)
    env.run(until=10_000)
    assert b.soc == 1.0 and not seen


def test_starting_low_leaves_at_once():
    env = simpy.Environment()
    b, seen = battery(env, soc=0.1)
    assert seen == [("low", 0.0, pytest.approx(0.1))] and b.low


def test_a_device_that_runs_low_leaves_mid_task_and_rejoins_when_charged(tmp_path):
    env = simpy.Environment()
    device = make_device()
    device.power = DevicePower(idle_w=1.0, active_w=5.0)
    fleet = Fleet(env, [device], EventLog(None))
    fleet.start([iter([(0.0, True)])], [iter(())])
    fleet.start_batteries([BatteryPlan(1.0, 0.25, CONFIG, charging=iter([(0.0, False), (500.0, True)]))])
    interrupted = []

    def work():
        try:
            device.busy = True
            device.draw("compute")
            yield env.timeout(1000)
        except simpy.Interrupt as interrupt:
            interrupted.append((env.now, interrupt.cause))
            device.draw(None)
            fleet.release(device)

    device.task = env.process(work())
    env.run(until=2000)
    assert interrupted == [(pytest.approx(0.05 * WH / 5.0), "battery")]  # 180 J at 5 W
    assert device.ready and not device.battery.low  # charged back from 500 s on
    assert fleet.log.counts == {"battery_low": 1, "battery_ok": 1}


def test_devices_that_start_low_are_not_counted_as_drop_outs():
    env = simpy.Environment()
    devices = [make_device(f"d{i}") for i in range(3)]
    for device in devices:
        device.power = DevicePower(idle_w=1.0, active_w=5.0)
    fleet = Fleet(env, devices, EventLog(None))
    fleet.start([iter([(0.0, True)])] * 3, [iter(())] * 3)
    never = [(0.0, False)]
    fleet.start_batteries([BatteryPlan(1.0, 0.1, CONFIG, iter(never)), BatteryPlan(1.0, 0.25, CONFIG, iter(never)),
                           BatteryPlan(1.0, 0.9, CONFIG, iter(never))])
    env.run(until=1000)  # the second drains 180 J at 1 W by 180 s; the third keeps 2520 J above 20%
    assert (fleet.battery_low_at_start, fleet.battery_dropouts) == (1, 1)
    assert fleet.log.counts["battery_low"] == 2


def test_a_device_that_runs_low_twice_is_one_drop_out():
    env = simpy.Environment()
    device = make_device("d0")
    device.power = DevicePower(idle_w=1.0, active_w=5.0)
    fleet = Fleet(env, [device], EventLog(None))
    fleet.start([iter([(0.0, True)])], [iter(())])
    # unplugged: 0.3 Wh above 20% lasts 1080 s at 1 W; plugged from 1500 s (300 J left) it charges at 9 W net,
    # full by 1867 s; unplugged again from 2000 s, 2880 J above 20% run it low a second time at 4880 s
    plugged = iter([(0.0, False), (1500.0, True), (2000.0, False)])
    fleet.start_batteries([BatteryPlan(1.0, 0.5, CONFIG, plugged)])
    env.run(until=6000)
    assert fleet.log.counts["battery_low"] == 2
    assert fleet.battery_dropouts == 1


def test_thresholds_must_leave_room_to_recharge():
    with pytest.raises(ValueError, match="rejoin_above .* must be above leave_below"):
        BatteryConfig(leave_below=0.5, rejoin_above=0.4)


@pytest.mark.parametrize("start, charging, until", [(0.2001, False, 1e6), (0.999999999999, True, 1e6)])
def test_a_level_closer_than_the_clock_can_tell_is_reached_not_waited_for(start, charging, until):
    env = simpy.Environment()
    env.run(until=86536.0)  # late enough that the clock's resolution is coarse
    b, seen = battery(env, soc=start, idle_w=0.6, capacity_wh=0.05)
    b.set_charging(charging)
    steps = 0
    while env.peek() < until and steps < 10_000:
        env.step()
        steps += 1
    assert steps < 10_000  # it settles (empty, or full) instead of waking at one instant for ever
    assert b.soc in (0.0, 1.0)


def test_a_battery_block_of_defaults_starts_full():
    assert BatteryConfig().initial_soc.sample(None) == 1.0


@pytest.mark.parametrize("soc", [50, -0.5, 1.5])
def test_a_constant_state_of_charge_outside_0_to_1_is_refused(soc):
    with pytest.raises(ValueError, match="is not a state of charge: write a share of full from 0 to 1"):
        BatteryConfig(initial_soc=soc)


@pytest.mark.parametrize("soc", [{"kind": "uniform", "low": 20, "high": 80}, {"kind": "uniform", "low": -0.5, "high": -0.1},
                                 {"kind": "normal", "mean": 2, "std": 0.1}, {"kind": "lognormal", "median": 50, "sigma": 0.3}])
def test_a_distribution_that_seldom_draws_a_share_of_full_is_refused(soc):
    with pytest.raises(ValueError, match=r"draws within 0-1 in 0.0% of 1000 trial draws"):
        BatteryConfig(initial_soc=soc)


def test_a_distribution_that_straddles_full_is_kept_and_clipped_per_draw():
    assert BatteryConfig(initial_soc={"kind": "uniform", "low": 0.5, "high": 1.5}).initial_soc.kind == "uniform"
