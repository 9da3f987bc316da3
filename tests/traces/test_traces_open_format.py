"""edgesim's open trace tables: read from CSV and Parquet alike, grouped per device, and every malformed row
named by its file and line."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edgesim.errors import InputError
from edgesim.traces.open_format import read_open_trace, write_open_trace

DEVICES = pd.DataFrame({"device": ["p1", "p0", "p2"], "train_gflops": [2.5, 4.0, None],
                        "down_mbps": [20.0, 35.0, 12.0]})
AVAILABILITY = pd.DataFrame({"device": ["p0", "p1", "p0", "p2"], "start_s": [3600.0, 0.0, 0.0, 10.0],
                             "end_s": [7200.0, 60.0, 600.0, 20.0]})
CAPACITY = pd.DataFrame({"device": ["p1", "p1"], "time_s": [100.0, 50.0], "train_gflops": [1.0, None],
                         "up_mbps": [None, 3.0]})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tables_become_one_trace_in_the_devices_order(tmp_path, suffix):
    trace = read_open_trace(write_open_trace(tmp_path, DEVICES, AVAILABILITY, CAPACITY, suffix))
    assert trace.devices == ("p1", "p0", "p2")
    assert trace.figure("train_gflops", 1) == 4.0 and trace.figure("train_gflops", 2) is None
    assert trace.figure("down_mbps", 0) == 20.0 and trace.figure("ram_mb", 0) is None
    p0 = trace.availability.of(1)
    assert p0["start_s"].tolist() == [0.0, 3600.0] and p0["end_s"].tolist() == [600.0, 7200.0]  # sorted
    assert trace.availability.count(0) == 1 and trace.availability.count(2) == 1
    p1 = trace.capacity.of(0)
    assert p1["time_s"].tolist() == [50.0, 100.0]
    assert np.isnan(p1["train_gflops"][0]) and p1["up_mbps"][0] == 3.0 and p1["train_gflops"][1] == 1.0
    assert trace.capacity.count(1) == 0


def test_without_a_devices_table_the_devices_are_those_of_the_availability_table(tmp_path):
    trace = read_open_trace(write_open_trace(tmp_path, availability=AVAILABILITY))
    assert trace.devices == ("p0", "p1", "p2") and not trace.figures and trace.capacity is None


@pytest.mark.parametrize("table, frame, message", [
    ("devices", pd.DataFrame({"device": ["a", "a"]}), r"devices.csv: row 3: device listed twice"),
    ("devices", pd.DataFrame({"device": ["a", "b"], "train_gflops": [1.0, -2.0]}),
     r"row 3: train_gflops must be positive"),
    ("devices", pd.DataFrame({"device": ["a"], "cpu": [1]}), r"unknown column cpu \(allowed: device, train_gflops"),
    ("devices", pd.DataFrame({"device": ["a"], "ram_mb": ["lots"]}), r"row 2: ram_mb 'lots' is not a number"),
    ("availability", pd.DataFrame({"device": ["a"], "start_s": [5.0], "end_s": [5.0]}),
     r"availability.csv: row 2: end_s must be after start_s"),
    ("availability", pd.DataFrame({"device": ["a", "a"], "start_s": [0.0, 5.0], "end_s": [10.0, 20.0]}),
     r"intervals overlap \(\[0, 10\) and \[5, 20\)"),
    ("availability", pd.DataFrame({"device": ["a"], "start_s": [0.0]}), r"no column end_s"),
])
def test_a_malformed_table_names_its_file_and_row(tmp_path, table, frame, message):
    write_open_trace(tmp_path, **{table: frame})
    with pytest.raises(InputError, match=message):
        read_open_trace(tmp_path)


def test_a_device_of_another_table_must_be_in_the_devices_table(tmp_path):
    write_open_trace(tmp_path, devices=pd.DataFrame({"device": ["a"]}),
                     availability=pd.DataFrame({"device": ["b"], "start_s": [0.0], "end_s": [1.0]}))
    with pytest.raises(InputError, match=r"row 2: device 'b' is not in the devices table"):
        read_open_trace(tmp_path)


def test_no_tables_or_no_folder_or_two_formats_of_one_table_are_refused(tmp_path):
    with pytest.raises(InputError, match="not a folder"):
        read_open_trace(tmp_path / "missing")
    with pytest.raises(InputError, match="holds neither devices"):
        read_open_trace(tmp_path)
    write_open_trace(tmp_path, DEVICES)
    write_open_trace(tmp_path, DEVICES, suffix=".parquet")
    with pytest.raises(InputError, match="both devices.csv and devices.parquet"):
        read_open_trace(tmp_path)


def test_memory_grows_linearly_with_the_devices(tmp_path):
    sizes = []
    for n in (2_000, 8_000):
        devices = pd.DataFrame({"device": [f"d{i}" for i in range(n)], "train_gflops": np.full(n, 3.0)})
        availability = pd.DataFrame({"device": np.repeat(devices["device"], 3), "start_s": np.tile([0., 10., 20.], n),
                                     "end_s": np.tile([5., 15., 25.], n)})
        trace = read_open_trace(write_open_trace(tmp_path / str(n), devices, availability, suffix=".parquet"))
        sizes.append(sum(a.nbytes for a in (*trace.figures.values(), *trace.availability.columns.values(),
                                             trace.availability.offsets)))
    assert sizes[1] == pytest.approx(4 * sizes[0], rel=0.01)
