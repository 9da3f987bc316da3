"""The fleet: readiness, waiting for ready devices, availability, failure and capacity processes."""

import numpy as np
import pytest
import simpy

from edgesim.sim.device import CapacityChange
from edgesim.sim.event_log import EventLog
from edgesim.sim.fleet import Fleet
from sim_fixtures import make_device, read_events


def test_ready_requires_available_up_and_idle():
    device = make_device()
    assert device.ready
    for attribute, value in (("available", False), ("up", False), ("busy", True)):
        setattr(device, attribute, value)
        assert not device.ready
        setattr(device, attribute, not value)
    assert device.ready


def test_wait_ready_fires_once_enough_devices_pass():
    env = simpy.Environment()
    devices = [make_device(f"d-{i}", i) for i in range(3)]
    for d in devices:
        d.busy = True
    fleet = Fleet(env, devices, EventLog(None))
    event = fleet.wait_ready(2, accepts=lambda d: d.id != "d-0")
    fleet.release(devices[0])
    assert not event.triggered  # d-0 is not accepted
    fleet.release(devices[1])
    assert not event.triggered
    fleet.release(devices[2])
    assert event.triggered
    assert fleet.ready() == devices


def test_availability_and_failure_processes_log_and_switch_state(tmp_path):
    env = simpy.Environment()
    log = EventLog(tmp_path / "events.csv")
    device = make_device("d-0")
    fleet = Fleet(env, [device], log)
    fleet.start([iter([(0.0, False), (10.0, True), (30.0, False)])], [iter([(15.0, 4.0), (40.0, 1.0)])])
    states = {}

    def probe():
        for t in (5, 12, 17, 25, 35):
            yield env.timeout(t - env.now)
            states[t] = (device.available, device.up)

    env.process(probe())
    env.run()
    log.close()
    rows = [(r["kind"], float(r["sim_time_s"])) for r in read_events(tmp_path / "events.csv")]
    assert rows == [("unavailable", 0.0), ("available", 10.0), ("failure", 15.0), ("recovery", 19.0),
                    ("unavailable", 30.0), ("failure", 40.0), ("recovery", 41.0)]
    assert states == {5: (False, True), 12: (True, True), 17: (True, False), 25: (True, True),
                      35: (False, True)}
    assert env.now == pytest.approx(41.0)


# --- incremental readiness: the ready set and the waiters against a brute-force scan ---------------


def brute_ready(devices):
    return [d for d in devices if d.available and d.up and not d.busy]


def test_ready_keeps_fleet_order_and_follows_every_state_change():
    env = simpy.Environment()
    devices = [make_device(f"d-{i}", i) for i in range(6)]
    devices[2].busy = True  # state set before the fleet exists is picked up
    fleet = Fleet(env, devices, EventLog(None))
    assert fleet.ready() == [d for i, d in enumerate(devices) if i != 2]
    devices[4].up = False
    devices[0].available = False
    devices[2].busy = False
    assert fleet.ready() == [devices[1], devices[2], devices[3], devices[5]]
    assert fleet.ready_count == 4
    devices[0].available = True
    assert fleet.ready() == [devices[0], devices[1], devices[2], devices[3], devices[5]]
    fleet.brute_force_check()


def test_setting_the_same_state_twice_changes_nothing():
    env = simpy.Environment()
    devices = [make_device(f"d-{i}", i) for i in range(3)]
    fleet = Fleet(env, devices, EventLog(None))
    for _ in range(2):
        devices[1].busy = True
    assert fleet.ready_count == 2
    for _ in range(2):
        devices[1].busy = False
        devices[1].available = True
    assert fleet.ready_count == 3
    fleet.brute_force_check()


def test_random_transitions_match_a_brute_force_scan():
    """Random availability/failure/busy flips with waiters coming and going: after every step the
    ready set, its order and each waiter's count equal a scan, and a waiter has fired exactly when
    the brute-force condition held at a notify."""
    rng = np.random.default_rng(5)
    env = simpy.Environment()
    devices = [make_device(f"d-{i}", i) for i in range(40)]
    for d in devices:  # the steady state of the flips below: about 45 % ready
        d.available, d.up, d.busy = bool(rng.random() < 0.8), bool(rng.random() < 0.8), bool(rng.random() < 0.3)
    fleet = Fleet(env, devices, EventLog(None))
    waiters = []  # (count, accepts, event)
    fired_when_expected = fired_later = 0
    for step in range(3000):
        action = rng.integers(6)
        device = devices[rng.integers(len(devices))]
        was = [e.triggered for _, _, e in waiters]
        if action == 4 and len(waiters) < 4:
            modulus, residue = int(rng.integers(1, 4)), int(rng.integers(0, 3))
            accepts = (lambda m, r: (lambda d: m == 1 or d.index % m != r))(modulus, residue)
            count = int(rng.integers(1, 0.6 * sum(1 for d in devices if accepts(d))))  # ~ the usual ready share
            waiters.append((count, accepts, fleet.wait_ready(count, accepts)))
            was.append(False)
            notified = True  # wait_ready re-checks every waiter
        elif action == 0:
            device.available, notified = bool(rng.random() < 0.8), False
        elif action == 1:
            device.up, notified = bool(rng.random() < 0.8), False
        elif action == 2:
            device.busy, notified = bool(rng.random() < 0.3), False
        elif action == 3:
            fleet.release(device)
            notified = True
        else:
            fleet.notify()
            notified = True
        # the state has not changed since the notify: the brute-force condition now is the one it saw
        for (count, accepts, event), before in zip(waiters, was):
            expected = notified and sum(1 for d in brute_ready(devices) if accepts(d)) >= count
            assert event.triggered == (before or expected)
            fired_when_expected += not before and expected
            fired_later += not before and expected and event is not waiters[-1][2]
        waiters = [(c, a, e) for c, a, e in waiters if not e.triggered]
        fleet.brute_force_check()
        assert fleet.ready() == brute_ready(devices)
        assert fleet.ready_count == len(brute_ready(devices))
    assert fired_when_expected > 20 and fired_later > 5  # the waiters really were exercised


def test_waiters_fire_in_registration_order_on_one_change():
    env = simpy.Environment()
    devices = [make_device(f"d-{i}", i) for i in range(2)]
    for d in devices:
        d.busy = True
    fleet = Fleet(env, devices, EventLog(None))
    first = fleet.wait_ready(1)
    second = fleet.wait_ready(1, accepts=lambda d: d.index == 1)
    third = fleet.wait_ready(2)
    order = []
    for name, event in (("first", first), ("second", second), ("third", third)):
        event.callbacks.append(lambda _e, name=name: order.append(name))
    fleet.release(devices[1])
    assert first.triggered and second.triggered and not third.triggered
    devices[1].busy = True  # taken again before the third could count it
    fleet.release(devices[0])
    assert not third.triggered
    fleet.release(devices[1])
    assert third.triggered
    env.run()
    assert order == ["first", "second", "third"]


def test_fleet_processes_keep_the_bookkeeping_exact():
    """Availability windows and failures over a simulated day, checked against a scan every minute."""
    from edgesim.sim.availability import WindowAvailability
    from edgesim.sim.failures import RandomFailures

    env = simpy.Environment()
    devices = [make_device(f"d-{i}", i) for i in range(30)]
    fleet = Fleet(env, devices, EventLog(None))
    windows = WindowAvailability(windows=[(1, 5), (9, 17)], jitter_h=2)
    failures = RandomFailures(mtbf_s={"kind": "exponential", "mean": 7200}, mttr_s=900)
    fleet.start([windows.changes(np.random.default_rng(i), 0.0) for i in range(30)],
                [failures.outages(d.id, np.random.default_rng(100 + i)) for i, d in enumerate(devices)])
    rng = np.random.default_rng(1)
    fired = []

    def server():
        while True:
            want = int(rng.integers(3, 12))  # of 15 even-numbered devices
            yield fleet.wait_ready(want, lambda d: d.index % 2 == 0)
            fired.append(env.now)
            ready = [d for d in fleet.ready() if d.index % 2 == 0]
            assert len(ready) >= want
            for d in ready[: int(rng.integers(0, 4))]:
                d.busy = True
                env.process(hold(d))
            yield env.timeout(float(rng.uniform(0, 600)))

    def hold(device):
        yield env.timeout(float(rng.uniform(60, 3600)))
        fleet.release(device)

    def probe():
        while True:
            fleet.brute_force_check()
            yield env.timeout(60)

    env.process(server())
    env.process(probe())
    env.run(until=86400)
    assert len(fired) > 20


def test_capacity_changes_apply_at_their_times_to_phases_that_start_after_them():
    env = simpy.Environment()
    device = make_device(flops_per_s=1e9, down_bps=8e6)
    fleet = Fleet(env, [device], EventLog(None))
    changes = iter([CapacityChange(10.0, flops_per_s=2e9), CapacityChange(20.0, down_bps=4e6),
                    CapacityChange(30.0, flops_per_s=5e8, up_bps=1e6)])
    fleet.start([iter([(0.0, True)])], [iter(())], [changes])
    seen = []
    for until in (5, 15, 25, 35):
        env.run(until=until)
        seen.append((device.flops_per_s, device.down_bps, device.up_bps))
    assert seen == [(1e9, 8e6, 4e6), (2e9, 8e6, 4e6), (2e9, 4e6, 4e6), (5e8, 4e6, 1e6)]
    assert device.compute_seconds(1e9) == 2.0
