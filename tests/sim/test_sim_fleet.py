"""The fleet: readiness, waiting for ready devices, availability and failure processes."""

import pytest
import simpy

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
