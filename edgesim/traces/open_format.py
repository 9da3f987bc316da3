"""edgesim's open trace format: a folder of up to three tables, each CSV or Parquet.

| table | columns | meaning |
| --- | --- | --- |
| ``devices`` | ``device`` (text, unique), and any of ``train_gflops``, ``ram_mb``, ``down_mbps``, ``up_mbps``, ``latency_ms`` | one row per device, in the order the fleet takes them; an empty cell or a missing column leaves that figure to the group's profile |
| ``availability`` | ``device``, ``start_s``, ``end_s`` | the device is available in ``[start_s, end_s)`` of simulated time (from 0), and unavailable outside its intervals |
| ``capacity`` | ``device``, ``time_s``, and any of ``train_gflops``, ``down_mbps``, ``up_mbps`` | from ``time_s`` on, the device's figure is this value (a step function); an empty cell leaves it as it was |

Each table is ``<name>.csv`` or ``<name>.parquet`` in the folder. Without a
``devices`` table the devices are those of ``availability``, in the order
they first appear. Units: GFLOP/s, MB, Mbit/s, ms, s. ``README.md`` gives the
same as a table and ``TRACE_SCHEMA`` as JSON Schema.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from edgesim.errors import InputError
from edgesim.traces.model import CHANGING, FIGURES, FleetTrace, grouped

TABLES = ("devices", "availability", "capacity")
SUFFIXES = (".csv", ".parquet")

TRACE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "edgesim open trace: one row of each table",
    "$defs": {
        "devices": {"type": "object", "required": ["device"], "properties": {
            "device": {"type": "string"},
            "train_gflops": {"type": ["number", "null"], "exclusiveMinimum": 0},
            "ram_mb": {"type": ["number", "null"], "exclusiveMinimum": 0},
            "down_mbps": {"type": ["number", "null"], "exclusiveMinimum": 0},
            "up_mbps": {"type": ["number", "null"], "exclusiveMinimum": 0},
            "latency_ms": {"type": ["number", "null"], "minimum": 0}}},
        "availability": {"type": "object", "required": ["device", "start_s", "end_s"], "properties": {
            "device": {"type": "string"},
            "start_s": {"type": "number", "minimum": 0},
            "end_s": {"type": "number", "description": "greater than start_s"}}},
        "capacity": {"type": "object", "required": ["device", "time_s"], "properties": {
            "device": {"type": "string"},
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
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype={"device": str}, skipinitialspace=True)
    except (OSError, ValueError, pd.errors.ParserError, ImportError) as exc:
        raise InputError(f"trace {path}: cannot be read ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise InputError(f"trace {path}: no column {', '.join(missing)} (columns: {', '.join(map(str, frame.columns))})")
    unknown = [str(c) for c in frame.columns if c not in (*required, *numeric)]
    if unknown:
        raise InputError(f"trace {path}: unknown column {', '.join(unknown)} (allowed: {', '.join((*required, *numeric))})")
    frame["device"] = frame["device"].astype(str)
    for column in (*[c for c in required if c != "device"], *[c for c in numeric if c in frame.columns]):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna()
        if bad.any():
            raise InputError(f"trace {path}: row {_row(path, bad)}: {column} {frame[column][bad].iloc[0]!r} is not a "
                             "number")
        frame[column] = values.astype(np.float64)
    return frame


def _row(path: Path, mask) -> int:
    """The first row ``mask`` marks, as the user counts it (a CSV's line number; a Parquet row from 1)."""
    first = int(np.flatnonzero(np.asarray(mask))[0])
    return first + 2 if path.suffix == ".csv" else first + 1


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
        _check(path, frame, np.isfinite(frame["start_s"]), "start_s must be finite")
    devices = tuple(devices_frame["device"]) if devices_frame is not None else tuple(
        pd.unique(availability_frame["device"]))
    index = pd.Index(devices)
    figures = {} if devices_frame is None else {
        name: devices_frame[name].to_numpy(np.float64) for name in FIGURES if name in devices_frame.columns}
    availability = None
    if availability_frame is not None:
        which = _device_indices(paths["availability"], availability_frame, index)
        availability = grouped(which, len(devices), {"start_s": availability_frame["start_s"].to_numpy(),
                                                      "end_s": availability_frame["end_s"].to_numpy()}, "start_s")
        _no_overlaps(paths["availability"], availability)
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


def _no_overlaps(path: Path, series) -> None:
    starts, ends = series.columns["start_s"], series.columns["end_s"]
    device = np.repeat(np.arange(len(series.offsets) - 1), np.diff(series.offsets))
    overlapping = np.zeros(len(starts), dtype=bool)
    overlapping[1:] = (device[1:] == device[:-1]) & (starts[1:] < ends[:-1])
    if overlapping.any():
        row = int(np.flatnonzero(overlapping)[0])
        raise InputError(f"trace {path}: availability intervals overlap ([{starts[row - 1]:g}, {ends[row - 1]:g}) and "
                         f"[{starts[row]:g}, {ends[row]:g}) of one device); merge them")


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
