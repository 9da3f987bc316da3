"""edgesim's open trace format: a folder of up to three tables, each CSV or Parquet.

| table | columns | meaning |
| --- | --- | --- |
| ``devices`` | ``device`` (text, unique), and any of ``train_gflops``, ``ram_mb``, ``down_mbps``, ``up_mbps``, ``latency_ms`` | one row per device, in the order the fleet takes them; an empty cell or a missing column leaves that figure to the group's profile |
| ``availability`` | ``device``, ``start_s``, ``end_s`` | the device is available in ``[start_s, end_s)`` of simulated time (from 0), and unavailable outside its intervals |
| ``capacity`` | ``device``, ``time_s``, and any of ``train_gflops``, ``down_mbps``, ``up_mbps`` | from ``time_s`` on, the device's figure is this value (a step function); an empty cell leaves it as it was |

Each table is ``<name>.csv`` or ``<name>.parquet`` in the folder. Without a
``devices`` table the devices are those of ``availability``, in the order
they first appear. Units: GFLOP/s, MB, Mbit/s, ms, s. Every number is finite
(no ``inf`` or ``nan``), a device id is never empty, a table holds rows, and a
device has at most one ``capacity`` row per ``time_s``; in CSV only an empty
cell is missing and a number is written as one (not ``True``). Errors name the
file and row (a CSV's line, blank lines counted). ``README.md`` gives the same
as a table and ``TRACE_SCHEMA`` as JSON Schema.
"""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from edgesim.errors import InputError, brief
from edgesim.traces.model import CHANGING, FIGURES, FleetTrace, Series, grouped

TABLES = ("devices", "availability", "capacity")
SUFFIXES = (".csv", ".parquet")
_RAGGED = re.compile(r"Expected \d+ fields in line (\d+), saw \d+")
"""pandas' message for a CSV row with more fields than the rows before it."""

TRACE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "edgesim open trace: one row of each table",
    "$defs": {
        "devices": {"type": "object", "required": ["device"], "properties": {
            "device": {"type": "string", "pattern": "\\S"},
            "train_gflops": {"type": ["number", "null"], "exclusiveMinimum": 0},
            "ram_mb": {"type": ["number", "null"], "exclusiveMinimum": 0},
            "down_mbps": {"type": ["number", "null"], "exclusiveMinimum": 0},
            "up_mbps": {"type": ["number", "null"], "exclusiveMinimum": 0},
            "latency_ms": {"type": ["number", "null"], "minimum": 0}}},
        "availability": {"type": "object", "required": ["device", "start_s", "end_s"], "properties": {
            "device": {"type": "string", "pattern": "\\S"},
            "start_s": {"type": "number", "minimum": 0},
            "end_s": {"type": "number", "description": "greater than start_s"}}},
        "capacity": {"type": "object", "required": ["device", "time_s"], "properties": {
            "device": {"type": "string", "pattern": "\\S"},
            "time_s": {"type": "number", "minimum": 0},
            "train_gflops": {"type": ["number", "null"], "exclusiveMinimum": 0},
            "down_mbps": {"type": ["number", "null"], "exclusiveMinimum": 0},
            "up_mbps": {"type": ["number", "null"], "exclusiveMinimum": 0}}},
    },
}
"""The columns of each table as JSON Schema (one row = one object)."""


def table_path(folder: Path, name: str) -> Path | None:
    """``<folder>/<name>.csv`` or ``.parquet``; ``None`` if neither exists (``InputError`` if both do)."""
    found = [folder / f"{name}{suffix}" for suffix in SUFFIXES if (folder / f"{name}{suffix}").is_file()]
    if len(found) > 1:
        raise InputError(f"trace {folder}: both {found[0].name} and {found[1].name}; keep one")
    return found[0] if found else None


def read_table(path: Path, required: tuple[str, ...], numeric: tuple[str, ...]) -> pd.DataFrame:
    """One table, with ``device`` as text and ``numeric`` columns as float64 (``NaN`` where empty)."""
    table = None
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq
            from pyarrow import types as pa_types

            table = pq.read_table(path)
            frame = table.to_pandas()
        else:
            frame = _read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError, ImportError) as exc:
        raise InputError(f"trace {path}: cannot be read ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise InputError(f"trace {path}: no column {', '.join(missing)} (columns: {', '.join(map(str, frame.columns))})")
    unknown = [str(c) for c in frame.columns if c not in (*required, *numeric)]
    if unknown:
        raise InputError(f"trace {path}: unknown column {', '.join(unknown)} (allowed: {', '.join((*required, *numeric))})")
    if frame.empty:
        raise InputError(f"trace {path}: holds no rows (a table must hold rows)")
    device = frame["device"]
    _check(path, frame, device.notna() & (device.astype(str).str.strip() != ""), "device is empty")
    frame["device"] = device.astype(str)
    for column in (*[c for c in required if c != "device"], *[c for c in numeric if c in frame.columns]):
        if table is None:
            given = frame[column].notna().to_numpy()
        else:
            kind = table.schema.field(column).type
            if not (pa_types.is_integer(kind) or pa_types.is_floating(kind) or pa_types.is_decimal(kind)
                    or pa_types.is_null(kind)):
                raise InputError(f"trace {path}: column {column} holds {kind} values, not numbers")
            given = table.column(column).is_valid().to_numpy(zero_copy_only=False)
        values = (_csv_numbers(frame[column]) if table is None
                  else pd.to_numeric(frame[column], errors="coerce").to_numpy(np.float64))
        bad = given & ~np.isfinite(values)
        if bad.any():
            value = frame[column][bad].iloc[0]
            shown = brief(value) if isinstance(value, str) else value
            raise InputError(f"trace {path}: row {_row(path, bad)}: {column} {shown} is not a finite number")
        if column in required:
            _check(path, frame, given, f"{column} is empty")
        frame[column] = values
    return frame


def _csv_numbers(column: pd.Series) -> np.ndarray:
    """A CSV column as float64: NaN where a cell is empty or not a number literal (``True``, ``false``, ``yes``,
    ``nan``, ``1_000``: pandas reads ``True``/``False`` as booleans, which count as 1 and 0)."""
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy(np.float64)
    cells = column.astype(object)
    cells = cells.where(~cells.map(lambda cell: isinstance(cell, (bool, np.bool_))))
    return pd.to_numeric(cells, errors="coerce").to_numpy(np.float64)


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV table: only an empty cell is missing, and a row with more fields than the header is refused."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)  # the first row too long: pandas would cut it
        try:
            return pd.read_csv(path, dtype={"device": str}, skipinitialspace=True, index_col=False,
                               keep_default_na=False, na_values=[""])
        except pd.errors.ParserWarning:
            line = 2
        except pd.errors.ParserError as exc:
            ragged = _RAGGED.search(str(exc))
            if ragged is None:
                raise
            line = int(ragged.group(1))
    raise InputError(f"trace {path}: row {_first_long_row(path, line)}: more fields than the header has columns")


def _first_long_row(path: Path, guess: int) -> int:
    """The line of the first CSV record with more fields than the header (``guess`` if the file cannot be
    scanned)."""
    records = _records(path)
    return next((line for line, width in records[1:] if width > records[0][1]), guess) if records else guess


def _records(path: Path) -> list[tuple[int, int]]:
    """Each record of a CSV file (the header first) as the line it starts on and its number of fields, leaving out
    blank lines as pandas does (read when an error names a row; empty if the file cannot be scanned)."""
    records, end = [], 0
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as file:
            reader = csv.reader(file, skipinitialspace=True)
            for fields in reader:
                if len(fields) > 1 or (fields and fields[0].strip()):
                    records.append((end + 1, len(fields)))
                end = reader.line_num
    except (OSError, csv.Error):
        return []
    return records


def _row(path: Path, mask) -> int:
    """The first row ``mask`` marks, as the user counts it."""
    return _numbered(path, int(np.flatnonzero(np.asarray(mask))[0]))


def _numbered(path: Path, index: int) -> int:
    """Row ``index`` (from 0) as the user counts it (``_row_numbers``)."""
    return _row_numbers(path, index)[0]


def _row_numbers(path: Path, *indices: int) -> list[int]:
    """Rows ``indices`` (from 0) as the user counts them: a CSV's line numbers (blank lines counted), Parquet's rows
    from 1."""
    if path.suffix != ".csv":
        return [i + 1 for i in indices]
    records = _records(path)
    return [records[i + 1][0] if i + 1 < len(records) else i + 2 for i in indices]


def _check(path: Path, frame: pd.DataFrame, rule, message: str) -> None:
    bad = ~rule
    if bad.any():
        raise InputError(f"trace {path}: row {_row(path, bad)}: {message}")


def read_open_trace(folder: Path) -> FleetTrace:
    """Read the tables in ``folder`` (``InputError`` naming the file and row for anything malformed)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"trace {folder}: not a folder (an open trace is a folder of devices, availability and "
                         "capacity tables)")
    paths = {name: table_path(folder, name) for name in TABLES}
    if paths["devices"] is None and paths["availability"] is None:
        raise InputError(f"trace {folder}: holds neither devices.csv/.parquet nor availability.csv/.parquet")
    devices_frame = None
    if paths["devices"] is not None:
        devices_frame = read_table(paths["devices"], ("device",), FIGURES)
        duplicated = devices_frame["device"].duplicated()
        _check(paths["devices"], devices_frame, ~duplicated, "device listed twice")
        for name in FIGURES:
            if name in devices_frame.columns:
                values = devices_frame[name]
                low_ok = values >= 0 if name == "latency_ms" else values > 0
                _check(paths["devices"], devices_frame, values.isna() | low_ok,
                       f"{name} must be {'zero or more' if name == 'latency_ms' else 'positive'}")
    availability_frame = None
    if paths["availability"] is not None:
        availability_frame = read_table(paths["availability"], ("device", "start_s", "end_s"), ())
        frame, path = availability_frame, paths["availability"]
        _check(path, frame, frame["start_s"] >= 0, "start_s must be zero or more")
        _check(path, frame, frame["end_s"] > frame["start_s"], "end_s must be after start_s")
    devices = tuple(devices_frame["device"]) if devices_frame is not None else tuple(
        pd.unique(availability_frame["device"]))
    index = pd.Index(devices)
    figures = {} if devices_frame is None else {
        name: devices_frame[name].to_numpy(np.float64) for name in FIGURES if name in devices_frame.columns}
    availability = None
    if availability_frame is not None:
        which = _device_indices(paths["availability"], availability_frame, index)
        rows = grouped(which, len(devices), {"start_s": availability_frame["start_s"].to_numpy(),
                                             "end_s": availability_frame["end_s"].to_numpy(),
                                             "row": np.arange(len(availability_frame))}, "start_s")
        _no_overlaps(paths["availability"], rows, devices)
        availability = Series(rows.offsets, {name: rows.columns[name] for name in ("start_s", "end_s")})
    capacity = None
    if paths["capacity"] is not None:
        frame = read_table(paths["capacity"], ("device", "time_s"), CHANGING)
        _check(paths["capacity"], frame, frame["time_s"] >= 0, "time_s must be zero or more")
        for name in CHANGING:
            if name in frame.columns:
                _check(paths["capacity"], frame, frame[name].isna() | (frame[name] > 0), f"{name} must be positive")
        which = _device_indices(paths["capacity"], frame, index)
        columns = {"time_s": frame["time_s"].to_numpy()} | {
            name: frame[name].to_numpy(np.float64) if name in frame.columns else np.full(len(frame), np.nan)
            for name in CHANGING}
        rows = grouped(which, len(devices), columns | {"row": np.arange(len(frame))}, "time_s")
        _no_repeated_times(paths["capacity"], rows, devices)
        capacity = Series(rows.offsets, {name: rows.columns[name] for name in columns})
    return FleetTrace(devices, figures, availability, None, capacity, str(folder))


def _device_indices(path: Path, frame: pd.DataFrame, index: pd.Index) -> np.ndarray:
    which = index.get_indexer(frame["device"])
    _check(path, frame, which >= 0, f"device {frame['device'][which < 0].iloc[0]!r} is not in the devices table"
           if (which < 0).any() else "")
    return which.astype(np.int64)


def _first_clash(series: Series, clashes: np.ndarray) -> tuple[int, int, int] | None:
    """The first row ``k`` of ``series`` for which ``clashes[k - 1]`` holds and row ``k - 1`` is of the same
    device, as ``(k - 1, k, device index)``; ``None`` if there is none."""
    device = np.repeat(np.arange(len(series.offsets) - 1), np.diff(series.offsets))
    clashing = (device[1:] == device[:-1]) & clashes
    if not clashing.any():
        return None
    k = int(np.flatnonzero(clashing)[0]) + 1
    return k - 1, k, int(device[k])


def _no_overlaps(path: Path, series: Series, devices: tuple[str, ...]) -> None:
    """``InputError`` naming two rows whose intervals overlap (``series`` holds each row's number in ``row``)."""
    starts, ends, rows = series.columns["start_s"], series.columns["end_s"], series.columns["row"]
    clash = _first_clash(series, starts[1:] < ends[:-1])
    if clash is not None:
        j, k, device = clash
        first, second = _row_numbers(path, int(rows[j]), int(rows[k]))
        raise InputError(f"trace {path}: rows {first} and {second}: availability intervals overlap ([{starts[j]:g}, "
                         f"{ends[j]:g}) and [{starts[k]:g}, {ends[k]:g}) of device {brief(devices[device])}); merge them")


def _no_repeated_times(path: Path, series: Series, devices: tuple[str, ...]) -> None:
    """``InputError`` naming two capacity rows of one device at the same ``time_s``, equal or not (which would
    apply is not defined); ``series`` holds each row's number in ``row``."""
    times, rows = series.columns["time_s"], series.columns["row"]
    clash = _first_clash(series, times[1:] == times[:-1])
    if clash is not None:
        j, k, device = clash
        first, second = _row_numbers(path, int(rows[j]), int(rows[k]))
        raise InputError(f"trace {path}: rows {first} and {second}: two capacity changes of device "
                         f"{brief(devices[device])} at time_s {times[k]:g}; keep one")


def write_open_trace(folder: Path, devices: pd.DataFrame | None = None, availability: pd.DataFrame | None = None,
                     capacity: pd.DataFrame | None = None, suffix: str = ".csv") -> Path:
    """Write the given tables into ``folder`` as ``.csv`` or ``.parquet`` (for tools that make traces)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in (("devices", devices), ("availability", availability), ("capacity", capacity)):
        if frame is None:
            continue
        path = folder / f"{name}{suffix}"
        if suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
    return folder
