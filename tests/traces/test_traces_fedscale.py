"""FedScale's device traces: units mapped onto edgesim's, behaviour repeating with its period, and pickles that
would run code refused."""

import pickle

import numpy as np
import pytest

from edgesim.errors import InputError
from edgesim.traces.fedscale import load_plain_pickle, read_fedscale_trace

CAPACITY = {432802: {"computation": 162.0, "communication": 5648.1}, 17: {"computation": 40.0,
                                                                          "communication": 1000}}
BEHAVIOUR = {1: {"duration": 500, "active": [10, 100], "inactive": [50, 150], "finish_time": 200, "model": "Pixel"}}


def write(path, value):
    path.write_bytes(pickle.dumps(value))
    return path


def test_capacity_maps_to_gflops_and_mbps_in_the_traces_order(tmp_path):
    trace = read_fedscale_trace(write(tmp_path / "cap", CAPACITY), None, reference_gflop=0.6)
    assert trace.devices == ("432802", "17")
    assert trace.figure("train_gflops", 0) == pytest.approx(0.6 / 0.162)  # 0.6 GFLOP in 162 ms
    assert trace.figure("train_gflops", 1) == pytest.approx(15.0)
    assert trace.figure("down_mbps", 0) == trace.figure("up_mbps", 0) == pytest.approx(5.6481)
    assert trace.availability is None


def test_behaviour_gives_each_device_its_intervals_and_period_by_position(tmp_path):
    behaviour = {**BEHAVIOUR, 2: {"duration": 9, "active": [0], "inactive": [30], "finish_time": 60, "model": ""}}
    trace = read_fedscale_trace(write(tmp_path / "cap", {**CAPACITY, 5: CAPACITY[17]}),
                                write(tmp_path / "beh", behaviour))
    assert len(trace) == 3
    assert trace.availability.of(0)["start_s"].tolist() == [10.0, 100.0]
    assert trace.availability.of(1)["end_s"].tolist() == [30.0]
    assert trace.availability.of(2)["start_s"].tolist() == [10.0, 100.0]  # device 2 takes behaviour 2 % 2 = 0
    assert trace.period_s.tolist() == [200.0, 60.0, 200.0]


def test_a_behaviour_trace_alone_names_the_devices(tmp_path):
    trace = read_fedscale_trace(None, write(tmp_path / "beh", BEHAVIOUR))
    assert trace.devices == ("1",) and not trace.figures


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize("value", [Evil(), {1: np.float64(2.0)}, {1: {"computation": Evil()}}])
def test_a_pickle_that_names_any_class_or_function_is_refused(tmp_path, value, capsys):
    with pytest.raises(InputError, match="not a plain pickle .*names "):
        load_plain_pickle(write(tmp_path / "x", value))
    assert "must never run" not in capsys.readouterr().out


@pytest.mark.parametrize("capacity, message", [
    ([1, 2], "expected a non-empty dict"),
    ({1: {"computation": 0, "communication": 5}}, "computation 0 is not a positive number"),
    ({1: {"computation": 3}}, "no communication"),
    ({1: {"computation": 10**400, "communication": 5}}, "client 1: computation is an integer too large for a number"),
    ({1: {"computation": 40, "communication": 10**5000}}, "communication is an integer too large"),  # repr refuses it
    ({1: {"computation": float("inf"), "communication": 5}}, "computation inf is not a positive number"),
    ({1: {"computation": 5e-324, "communication": 5}}, "client 1: computation or communication too small"),
    ({1: {"computation": 40, "communication": 5e-324}}, "computation or communication too small"),
])
def test_malformed_capacity_is_named(tmp_path, capacity, message):
    with pytest.raises(InputError, match=message):
        read_fedscale_trace(write(tmp_path / "cap", capacity), None)


def test_behaviour_out_of_order_or_beyond_its_period_is_refused(tmp_path):
    bad = {1: {"duration": 1, "active": [10, 5], "inactive": [20, 8], "finish_time": 100, "model": ""}}
    with pytest.raises(InputError, match="in order within"):
        read_fedscale_trace(None, write(tmp_path / "beh", bad))
    with pytest.raises(InputError, match="cannot be read"):
        read_fedscale_trace(tmp_path / "missing", None)


@pytest.mark.parametrize("key, value, message", [
    ("finish_time", 10**400, "client 1: finish_time is an integer too large for a number"),
    ("active", [10**400, 100], "client 1: active is an integer too large"),
    ("inactive", [50, -(10**400)], "client 1: inactive is an integer too large"),
    ("finish_time", float("nan"), "client 1: finish_time nan is not a positive number"),
])
def test_behaviour_numbers_beyond_a_float_are_bad_input(tmp_path, key, value, message):
    with pytest.raises(InputError, match=message):
        read_fedscale_trace(None, write(tmp_path / "beh", {1: {**BEHAVIOUR[1], key: value}}))


def test_a_behaviour_entry_active_after_its_inactive_time_is_refused_naming_it(tmp_path):
    bad = {1: {**BEHAVIOUR[1], "active": [10, 120], "inactive": [50, 110]}}
    with pytest.raises(InputError, match=r"beh: client 1: active\[1\] 120 is after inactive\[1\] 110"):
        read_fedscale_trace(None, write(tmp_path / "beh", bad))
    empty = {1: {**BEHAVIOUR[1], "active": [10, 100], "inactive": [10, 150]}}  # a zero-length entry: no interval
    assert read_fedscale_trace(None, write(tmp_path / "beh", empty)).availability.of(0)["start_s"].tolist() == [100.0]


DEPTH = 100_000
"""Far deeper than Python's recursion limit."""


def deep(value, nested: bytes) -> bytes:
    """``value`` pickled with the string ``"DEEP"`` in it replaced by the raw opcodes ``nested`` (pickling a value
    that deep would itself recurse)."""
    return pickle.dumps(value, protocol=2).replace(b"X\x04\x00\x00\x00DEEP", nested, 1)


DEEP_LIST = b"]" * DEPTH + b"a" * (DEPTH - 1)
DEEP_TUPLE = b")" + b"\x85" * DEPTH


@pytest.mark.parametrize("capacity, behaviour, message", [
    ({1: {"computation": "DEEP", "communication": 1.0}}, None, r"cap: client 1: computation \[\[\[\[\[\[\[…\]"),
    (None, {1: {**BEHAVIOUR[1], "active": ["DEEP", 100]}}, r"beh: client 1: active \[\[\[\[\[\[\[…\]"),
    (None, {1: {**BEHAVIOUR[1], "finish_time": "DEEP"}}, r"beh: client 1: finish_time \[\[\[\[\[\[\[…\]"),
    (None, {"DEEP": BEHAVIOUR[1]}, r"beh: client id \(\(\(\(\(\(\(…\),\),.* is not an integer or text"),
])
def test_values_nested_too_deeply_for_repr_are_named_briefly(tmp_path, capacity, behaviour, message, capsys):
    nested = DEEP_TUPLE if behaviour and "DEEP" in behaviour else DEEP_LIST
    paths = [None, None]
    for k, (name, value) in enumerate((("cap", capacity), ("beh", behaviour))):
        if value is not None:
            paths[k] = tmp_path / name
            paths[k].write_bytes(deep(value, nested))
    with pytest.raises(InputError, match=message):
        read_fedscale_trace(*paths)


def test_keys_that_cannot_be_compared_for_depth_are_refused(tmp_path):
    # two equal keys nested 100,000 deep: building the dict compares them, which recurses too deeply
    data = pickle.dumps({"DEEP": 1, "PEED": 2}, protocol=2).replace(b"X\x04\x00\x00\x00DEEP", DEEP_TUPLE, 1)
    (tmp_path / "beh").write_bytes(data.replace(b"X\x04\x00\x00\x00PEED", DEEP_TUPLE, 1))
    with pytest.raises(InputError, match=r"beh: not a plain pickle \(nested too deeply\)"):
        read_fedscale_trace(None, tmp_path / "beh")


@pytest.mark.parametrize("value, message", [
    ({}, r"cap: expected a non-empty dict keyed by client id, found an empty dict"),
    ({1.5: CAPACITY[17]}, r"cap: client id 1.5 is not an integer or text"),
    ({(1, 2): CAPACITY[17]}, r"cap: client id \(1, 2\) is not an integer or text"),
    ({True: CAPACITY[17]}, r"cap: client id True is not an integer or text"),
    ({10**5000: CAPACITY[17]}, r"cap: a client id is an integer too long to print"),
])
def test_an_empty_dict_or_a_client_id_that_is_no_integer_or_text_is_named(tmp_path, value, message):
    with pytest.raises(InputError, match=message):
        read_fedscale_trace(write(tmp_path / "cap", value), None)
    with pytest.raises(InputError, match=message.replace("cap", "beh")):
        read_fedscale_trace(write(tmp_path / "cap", CAPACITY), write(tmp_path / "beh", value))
