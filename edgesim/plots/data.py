"""Read and validate the files of a run directory and of a sweep directory.

Everything the figures show comes from these files; a missing or malformed
file is reported as an ``InputError`` naming the file and what is wrong.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from edgesim.contract import (ARCHIVED_METRICS_FILE, EVENT_COLUMNS, EVENTS_FILE, EVENTS_PARQUET_FILE, LABELS_FILE,
                              LATER_EVENT_COLUMNS, METRIC_COLUMNS, METRICS_FILE, SUMMARY_FILE, SWEEP_FILE)
from edgesim.errors import InputError, brief
from edgesim.outcome import FINISHED
from edgesim.results.staleness import STALENESS_KEYS, staleness_statistics
from edgesim.results.tables import complete_rows

SWEEP_COLUMNS = ("run_dir", "sim_time_s", "time_to_target_s")
NUMERIC_COLUMNS = {"sim_time_s", "round", "model_version", "staleness", "bytes", "duration_s", "energy_j",
                   "accuracy", "loss", "time_to_target_s"}
"""Columns of the contract's tables that hold numbers only (or nothing)."""


def _read_csv(path: Path, required: Collection[str], **read_kw) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        frame = pd.read_csv(complete_rows(path), **read_kw)  # an unfinished last line (a crash) is left out
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a readable CSV file ({exc})") from exc
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    for column in NUMERIC_COLUMNS.intersection(frame.columns):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = frame.index[numbers.isna() & frame[column].notna()]
        if len(bad):  # pandas found something that is not a number
            raise InputError(f"{path}, line {bad[0] + 2}: {column} is {brief(frame.at[bad[0], column])}, "
                             "not a number")
        frame[column] = numbers
    return frame


def has_events(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds an event table (``events.csv``, or ``events.parquet``)."""
    return (Path(run_dir) / EVENTS_FILE).is_file() or (Path(run_dir) / EVENTS_PARQUET_FILE).is_file()


def read_events(run_dir: Path, columns: Collection[str] = EVENT_COLUMNS) -> pd.DataFrame:
    """The ``columns`` of ``events.csv`` (all contract columns by default), or of ``events.parquet`` when the
    run wrote that instead; the same columns and dtypes either way. A run written before events carried their
    energy gets an empty ``energy_j``."""
    path = Path(run_dir) / EVENTS_FILE
    parquet = path.with_name(EVENTS_PARQUET_FILE)
    required = [column for column in columns if column not in LATER_EVENT_COLUMNS]
    if not path.exists() and parquet.exists():
        frame = _read_parquet(parquet, columns, required)
    else:
        frame = _read_csv(path, required, usecols=lambda column: column in columns,
                          dtype={"device": str, "kind": str})
    for column in LATER_EVENT_COLUMNS:
        if column in columns and column not in frame.columns:
            frame[column] = float("nan")
    return frame


def _read_parquet(path: Path, columns: Collection[str], required: Collection[str]) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        missing = [column for column in required if column not in names]
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
        return pd.read_parquet(path, columns=[name for name in names if name in columns])
    except (pa.ArrowException, OSError) as exc:  # no footer: the run was killed before it closed the table
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc


def read_metrics(run_dir: Path) -> pd.DataFrame | None:
    """``metrics.csv`` (or an archived run's ``metrics.csv.gz``) sorted by simulated time, or None when the run
    has neither."""
    path = Path(run_dir) / METRICS_FILE
    if not path.exists():
        path = path.with_name(ARCHIVED_METRICS_FILE)
    if not path.exists():
        return None
    return _read_csv(path, METRIC_COLUMNS).sort_values("sim_time_s", kind="stable").reset_index(drop=True)


def _read_json_object(path: Path) -> dict:
    """The JSON object in ``path``, or an empty dict when there is no such file."""
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise InputError(f"{path}: expected a JSON object")
    return value


def read_summary(run_dir: Path) -> dict:
    """``summary.json`` as a dict, or an empty dict when the run has none."""
    return _read_json_object(Path(run_dir) / SUMMARY_FILE)


def read_sweep(sweep_dir: Path) -> pd.DataFrame:
    """``sweep.csv``: one row per run, parameter columns plus summary fields. A finished run saved before
    edgesim recorded staleness statistics gets them from its ``events.csv`` (when it has one)."""
    sweep = _read_csv(Path(sweep_dir) / SWEEP_FILE, SWEEP_COLUMNS)
    for key in STALENESS_KEYS:
        sweep[key] = pd.to_numeric(sweep[key], errors="coerce") if key in sweep else float("nan")
    missing = sweep.index[sweep["staleness_mean"].isna() & sweep["status"].isin(FINISHED)] \
        if "status" in sweep else []
    for index in missing:
        run_dir = Path(sweep_dir) / str(sweep.at[index, "run_dir"])
        if has_events(run_dir):
            events = read_events(run_dir, columns=("kind", "staleness"))
            applied = events.loc[events["kind"] == "update_applied", "staleness"].dropna().astype(int)
            for key, value in staleness_statistics(Counter(applied.tolist())).items():
                sweep.at[index, key] = value
    return sweep


def read_factor_labels(sweep_dir: Path) -> dict[str, dict[str, str]]:
    """``labels.json`` beside ``sweep.csv`` (``{column: {cell: label}}``), or ``{}`` when there is none."""
    path = Path(sweep_dir) / LABELS_FILE
    labels = _read_json_object(path)
    if not all(isinstance(v, dict) for v in labels.values()):
        raise InputError(f"{path}: expected {{column: {{cell: label}}}}")
    return labels

