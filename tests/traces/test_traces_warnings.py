"""Warnings for what a group takes from its trace that may not be meant: devices the trace's availability never
makes available."""

import pickle

import pandas as pd
import pytest

from edgesim.preflight import prepare
from edgesim.scenario import validate
from edgesim.traces import trace_warnings
from edgesim.traces.open_format import write_open_trace

DEVICES = pd.DataFrame({"device": ["a", "b", "c", "d", "e", "f"], "train_gflops": [5.0] * 6})
AVAILABILITY = pd.DataFrame({"device": ["b", "a", "b"], "start_s": [0.0, 0.0, 10.0], "end_s": [5.0, 9e9, 9e9]})


def scenario(folder, count=None, **trace):
    group = {"name": "tr", "profile": "raspberry_pi_4", "network": "wifi5", "trace": {"path": str(folder), **trace},
             **({"count": count} if count else {})}
    return validate({"name": "t", "seed": 1, "fleet": {"groups": [group], "failures": {"kind": "none"}},
                     "dataset": {"name": "synthetic", "synthetic": {"train_size": 600, "test_size": 100}},
                     "server": {"clients_per_round": 1}, "stop": {"max_rounds": 1}})


def test_devices_without_an_availability_interval_are_counted_and_the_first_named(tmp_path):
    folder = write_open_trace(tmp_path, DEVICES, AVAILABILITY)
    message = (f"fleet.groups[0].trace: 4 of the group's 6 devices have no availability interval in {folder} and "
               "are never available (trace ids 'c', 'd', 'e', …)")
    assert trace_warnings(scenario(folder).fleet.groups) == [message]
    assert message in prepare(scenario(folder)).warnings


@pytest.mark.parametrize("devices, trace", [
    (DEVICES, {"use": ["devices"]}),  # the group does not take the availability
    (DEVICES[:2], {}),  # every device has an interval
    (None, {}),  # the availability table gives the devices
])
def test_no_warning_when_every_device_the_group_takes_from_the_availability_has_an_interval(tmp_path, devices, trace):
    folder = write_open_trace(tmp_path, devices, AVAILABILITY)
    assert trace_warnings(scenario(folder, **trace).fleet.groups) == []


def test_only_the_devices_the_group_takes_count(tmp_path):
    folder = write_open_trace(tmp_path, DEVICES, AVAILABILITY)
    [message] = trace_warnings(scenario(folder, count=3).fleet.groups)
    assert message == (f"fleet.groups[0].trace: 1 of the group's 3 devices has no availability interval in {folder} "
                       "and is never available (trace ids 'c')")


def test_a_fedscale_behaviour_without_an_interval_is_warned_of_too(tmp_path):
    behaviour = {7: {"duration": 1, "active": [0], "inactive": [50], "finish_time": 100, "model": ""},
                 8: {"duration": 1, "active": [10], "inactive": [10], "finish_time": 100, "model": ""}}
    (tmp_path / "beh.pkl").write_bytes(pickle.dumps(behaviour))
    group = {"name": "fs", "profile": "raspberry_pi_4", "network": "wifi5",
             "trace": {"kind": "fedscale", "behave_trace": str(tmp_path / "beh.pkl")}}
    raw = {"name": "t", "fleet": {"groups": [group]}, "dataset": {"name": "synthetic"},
           "server": {"clients_per_round": 1}}
    [message] = trace_warnings(validate(raw).fleet.groups)
    assert message == (f"fleet.groups[0].trace: 1 of the group's 2 devices has no availability interval in "
                       f"{tmp_path / 'beh.pkl'} and is never available (trace ids '8')")
