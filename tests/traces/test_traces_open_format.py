"""edgesim's open trace tables: read from CSV and Parquet alike, grouped per device, and every malformed row
named by its file and line."""

from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
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
    ("devices", pd.DataFrame({"device": ["a"], "ram_mb": ["lots"]}), r"row 2: ram_mb 'lots' is not a finite number"),
    ("availability", pd.DataFrame({"device": ["a"], "start_s": [5.0], "end_s": [5.0]}),
     r"availability.csv: row 2: end_s must be after start_s"),
    ("availability", pd.DataFrame({"device": ["a", "a"], "start_s": [0.0, 5.0], "end_s": [10.0, 20.0]}),
     r"availability.csv: rows 2 and 3: availability intervals overlap \(\[0, 10\) and \[5, 20\) of device 'a'\)"),
    ("availability", pd.DataFrame({"device": ["a", "b", "a"], "start_s": [5.0, 0.0, 0.0], "end_s": [20.0, 9.0, 10.0]}),
     r"rows 4 and 2: availability intervals overlap \(\[0, 10\) and \[5, 20\)"),  # named in the intervals' order
    ("availability", pd.DataFrame({"device": ["a"], "start_s": [0.0]}), r"no column end_s"),
])
def test_a_malformed_table_names_its_file_and_row(tmp_path, table, frame, message):
    write_open_trace(tmp_path, **{table: frame})
    with pytest.raises(InputError, match=message):
        read_open_trace(tmp_path)


@pytest.mark.parametrize("table, text, message", [
    ("devices", "device,train_gflops\na,1\nb,inf\n", r"devices.csv: row 3: train_gflops inf is not a finite number"),
    ("devices", "device,ram_mb,latency_ms\na,1,-inf\n", r"row 2: latency_ms -inf is not a finite number"),
    ("devices", "device,train_gflops\na,nan\n", r"row 2: train_gflops 'nan' is not a finite number"),
    ("devices", "device,train_gflops\na,NA\n", r"row 2: train_gflops 'NA' is not a finite number"),  # only '' is empty
    ("availability", "device,start_s,end_s\na,0,Infinity\n", r"availability.csv: row 2: end_s inf is not a finite"),
    ("capacity", "device,time_s,up_mbps\na,0,1e999\n", r"capacity.csv: row 2: up_mbps inf is not a finite number"),
    ("devices", "device,train_gflops\na,1\n,2\n", r"devices.csv: row 3: device is empty"),
    ("devices", "device,train_gflops\na,1\n   ,2\n", r"devices.csv: row 3: device is empty"),
    ("availability", "device,start_s,end_s\na,0,1\n,2,3\n", r"availability.csv: row 3: device is empty"),
    ("availability", "device,start_s,end_s\na,0,1,9\nb,2,3,9\n", r"row 2: more fields than the header has columns"),
    ("availability", "device,start_s,end_s\na,0,1\nb,2,3,9\n", r"row 3: more fields than the header has columns"),
    ("availability", "device,start_s,end_s\na,0,1\nb,,3\n", r"availability.csv: row 3: start_s is empty"),
    ("availability", "device,start_s,end_s\na,0,1\nb,2\n", r"availability.csv: row 3: end_s is empty"),
    ("capacity", "device,time_s,train_gflops\na,,1\n", r"capacity.csv: row 2: time_s is empty"),
    ("devices", "device,train_gflops\n", r"devices.csv: holds no rows"),
    ("availability", "device,start_s,end_s\n", r"availability.csv: holds no rows"),
    # booleans and other words are not numbers
    ("devices", "device,train_gflops\na,True\n", r"devices.csv: row 2: train_gflops True is not a finite number"),
    ("devices", "device,ram_mb\na,\nb,FALSE\n", r"devices.csv: row 3: ram_mb False is not a finite number"),
    ("devices", "device,ram_mb\na,1\nb,true\n", r"devices.csv: row 3: ram_mb 'true' is not a finite number"),
    ("devices", "device,ram_mb\na,yes\n", r"devices.csv: row 2: ram_mb 'yes' is not a finite number"),
    ("devices", "device,ram_mb\na,1_000\n", r"devices.csv: row 2: ram_mb '1_000' is not a finite number"),
    ("availability", "device,start_s,end_s\na,False,True\n", r"availability.csv: row 2: start_s False is not a"),
    ("capacity", "device,time_s,up_mbps\na,0,false\n", r"capacity.csv: row 2: up_mbps False is not a finite"),
    # rows are named by their line in the file, blank lines counted
    ("availability", "device,start_s,end_s\n\na,0,10\n\n\nb,0,x\n", r"availability.csv: row 6: end_s 'x' is not"),
    ("availability", "device,start_s,end_s\n  \na,0,10\n \t \nb,-1,3\n", r"row 5: start_s must be zero or more"),
    ("availability", "\n\ndevice,start_s,end_s\na,0,10\nb,3,2\n", r"row 5: end_s must be after start_s"),
    ("availability", "device,start_s,end_s\r\n\r\na,0,10\r\n\r\nb,,3\r\n", r"row 5: start_s is empty"),
    ("availability", 'device,start_s,end_s\n"a\n\nz",0,10\n\nb,0,x\n', r"row 6: end_s 'x' is not"),
    ("availability", "device,start_s,end_s\n\na,0,10\n\nb,0,1,9\n", r"row 5: more fields than the header"),
    ("availability", "device,start_s,end_s\n\n\na,0,10,5\nb,0,1\n", r"row 4: more fields than the header"),
    ("availability", "device,start_s,end_s\n\na,0,10\n\nb,0,1\n\na,5,20\n",
     r"rows 3 and 7: availability intervals overlap"),
    ("devices", "device\n\na\n\na\n", r"devices.csv: row 5: device listed twice"),
    ("capacity", "device,time_s\n\na,1\n\nb,2\n", r"capacity.csv: row 5: device 'b' is not in the devices table"),
])
def test_a_malformed_csv_names_its_file_and_row(tmp_path, table, text, message):
    (tmp_path / f"{table}.csv").write_text(text)
    if table == "capacity":
        (tmp_path / "devices.csv").write_text("device\na\n")
    with pytest.raises(InputError, match=message):
        read_open_trace(tmp_path)


@pytest.mark.parametrize("table, columns, message", [
    ("devices", {"device": ["a"], "ram_mb": [True]}, r"devices.parquet: column ram_mb holds bool values, not numbers"),
    ("devices", {"device": ["a", "b"], "ram_mb": pa.array([True, None])}, r"column ram_mb holds bool values"),
    ("availability", {"device": ["a"], "start_s": pa.array([0], pa.timestamp("ms")), "end_s": [1.0]},
     r"column start_s holds timestamp\[ms\] values, not numbers"),
    ("devices", {"device": ["a"], "train_gflops": ["2.5"]}, r"column train_gflops holds string values, not numbers"),
    ("devices", {"device": ["a", "b"], "ram_mb": [1.0, float("nan")]}, r"devices.parquet: row 2: ram_mb nan is not"),
    ("devices", {"device": ["a", "b"], "up_mbps": [1.0, float("inf")]}, r"row 2: up_mbps inf is not a finite number"),
    ("devices", {"device": pa.array(["a", None])}, r"devices.parquet: row 2: device is empty"),
    ("devices", {"device": ["a", ""]}, r"devices.parquet: row 2: device is empty"),
    ("availability", {"device": ["a"], "start_s": pa.array([None], pa.float64()), "end_s": [1.0]},
     r"availability.parquet: row 1: start_s is empty"),
    ("devices", {"device": pa.array([], pa.string())}, r"devices.parquet: holds no rows"),
])
def test_a_malformed_parquet_table_names_its_file_column_and_row(tmp_path, table, columns, message):
    pq.write_table(pa.table(columns), tmp_path / f"{table}.parquet")
    with pytest.raises(InputError, match=message):
        read_open_trace(tmp_path)


def test_parquet_numbers_of_any_numeric_type_and_empty_cells_are_read(tmp_path):
    columns = {"device": [7, 8], "ram_mb": pa.array([1, None], pa.int32()), "down_mbps": pa.array([None, None]),
               "up_mbps": pa.array([Decimal("1.5"), 2], pa.decimal128(3, 1))}
    pq.write_table(pa.table(columns), tmp_path / "devices.parquet")
    trace = read_open_trace(tmp_path)
    assert trace.devices == ("7", "8") and trace.figure("ram_mb", 0) == 1.0 and trace.figure("ram_mb", 1) is None
    assert trace.figure("down_mbps", 0) is None and trace.figure("up_mbps", 1) == 2.0


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


def test_csv_numbers_of_every_literal_form_are_read(tmp_path):
    (tmp_path / "devices.csv").write_text("device,train_gflops,ram_mb,up_mbps,latency_ms\n"
                                          "a, 2.5 ,4e3,+7,0\nb,.5,99999999999999999999999,,5.\n")
    trace = read_open_trace(tmp_path)
    assert [trace.figure(name, 0) for name in ("train_gflops", "ram_mb", "up_mbps", "latency_ms")] == [2.5, 4e3, 7, 0]
    assert trace.figure("ram_mb", 1) == 1e23 and trace.figure("up_mbps", 1) is None


@pytest.mark.parametrize("suffix, rows", [(".csv", "rows 2 and 4"), (".parquet", "rows 1 and 3")])
@pytest.mark.parametrize("second", [1.0, 2.0])
def test_two_capacity_changes_of_a_device_at_one_time_are_refused_naming_both(tmp_path, suffix, rows, second):
    capacity = pd.DataFrame({"device": ["p1", "p0", "p1"], "time_s": [10.0, 10.0, 10.0],
                             "train_gflops": [1.0, 1.0, second]})
    write_open_trace(tmp_path, DEVICES, capacity=capacity, suffix=suffix)
    with pytest.raises(InputError, match=rf"capacity{suffix}: {rows}: two capacity changes of device 'p1' at "
                                         r"time_s 10; keep one"):
        read_open_trace(tmp_path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("table", ["availability", "capacity"])
def test_a_table_with_a_header_but_no_rows_is_refused_next_to_a_devices_table(tmp_path, suffix, table):
    columns = {"availability": ["device", "start_s", "end_s"], "capacity": ["device", "time_s", "up_mbps"]}[table]
    empty = pd.DataFrame({"device": pd.Series([], dtype=str)} | {c: pd.Series([], dtype=float) for c in columns[1:]})
    write_open_trace(tmp_path, DEVICES, **{table: empty}, suffix=suffix)
    with pytest.raises(InputError, match=rf"{table}{suffix}: holds no rows \(a table must hold rows\)"):
        read_open_trace(tmp_path)
