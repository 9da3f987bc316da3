"""edgesim's open trace format: a folder of up to three tables, each CSV or Parquet.

| table | columns | meaning |
| --- | --- | --- |
| ``devices`` | ``device`` (text, unique), and any of ``train_gflops``, ``ram_mb``, ``down_mbps``, ``up_mbps``, ``latency_ms`` | one row per device, in the order the fleet takes them; an empty cell or a missing column leaves that figure to the group's profile |
| ``availability`` | ``device``, ``start_s``, ``end_s`` | the device is available in ``[start_s, end_s)`` of simulated time (from 0), and unavailable outside its intervals |
| ``capacity`` | ``device``, ``time_s``, and any of ``train_gflops``, ``down_mbps``, ``up_mbps`` | from ``time_s`` on, the device's figure is this value (a step function); an empty cell leaves it as it was |

Each table is ``<name>.csv`` or ``<name>.parquet`` in the folder. Without a
``devices`` table the devices are those of ``availability``, in the order
they first appear. Units: GFLOP/s, MB, Mbit/s, ms, s. Every number is finite
(no ``inf`` or ``nan``), a device id is never empty, and in CSV only an empty
cell is missing. ``README.md`` gives the same as a table and ``TRACE_SCHEMA``
as JSON Schema.
"""

from __future__ import annotations

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
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(np.float64)
        bad = given & ~np.isfinite(values)
        if bad.any():
            value = frame[column][bad].iloc[0]
            shown = brief(value) if isinstance(value, str) else value
            raise InputError(f"trace {path}: row {_row(path, bad)}: {column} {shown} is not a finite number")
        if column in required:
            _check(path, frame, given, f"{column} is empty")
        frame[column] = values
    return frame


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
    raise InputError(f"trace {path}: row {line}: more fields than the header has columns")


def _row(path: Path, mask) -> int:
    """The first row ``mask`` marks, as the user counts it."""
    return _numbered(path, int(np.flatnonzero(np.asarray(mask))[0]))


def _numbered(path: Path, index: int) -> int:
    """Row ``index`` (from 0) as the user counts it (a CSV's line number; a Parquet row from 1)."""
    return index + 2 if path.suffix == ".csv" else index + 1


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
    if not devices:
        raise InputError(f"trace {paths['devices'] or paths['availability']}: holds no devices (a header but no rows)")
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
        capacity = grouped(which, len(devices), columns, "time_s")
    return FleetTrace(devices, figures, availability, None, capacity, str(folder))


def _device_indices(path: Path, frame: pd.DataFrame, index: pd.Index) -> np.ndarray:
    which = index.get_indexer(frame["device"])
    _check(path, frame, which >= 0, f"device {frame['device'][which < 0].iloc[0]!r} is not in the devices table"
           if (which < 0).any() else "")
    return which.astype(np.int64)


def _no_overlaps(path: Path, series: Series, devices: tuple[str, ...]) -> None:
    """``InputError`` naming two rows whose intervals overlap (``series`` holds each row's number in ``row``)."""
    starts, ends, rows = series.columns["start_s"], series.columns["end_s"], series.columns["row"]
    device = np.repeat(np.arange(len(series.offsets) - 1), np.diff(series.offsets))
    overlapping = np.zeros(len(starts), dtype=bool)
    overlapping[1:] = (device[1:] == device[:-1]) & (starts[1:] < ends[:-1])
    if overlapping.any():
        k = int(np.flatnonzero(overlapping)[0])
        raise InputError(f"trace {path}: rows {_numbered(path, int(rows[k - 1]))} and {_numbered(path, int(rows[k]))}: "
                         f"availability intervals overlap ([{starts[k - 1]:g}, {ends[k - 1]:g}) and [{starts[k]:g}, "
                         f"{ends[k]:g}) of device {devices[device[k]]!r}); merge them")


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
