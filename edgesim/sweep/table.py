"""The ``sweep.csv`` table: one row per variant, parameters as columns, then its summary; and
``labels.json``, the labels ``sweep.labels`` gives the grid's values."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from edgesim.contract import SWEEP_ID_COLUMNS, SWEEP_SUMMARY_COLUMNS
from edgesim.results.tables import output_error
from edgesim.scenario import Variant

def param_cell(value) -> str:
    """Scalars as written; mappings and lists as compact JSON (keys sorted)."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return "" if value is None else str(value)


def write_sweep_table(path: Path, variants: list[Variant], run_dirs: list[str], summaries: list[dict | None]) -> None:
    """Write the table atomically; a variant without a summary yet is ``pending``."""
    param_keys = list(variants[0].params) if variants else []
    columns = [*SWEEP_ID_COLUMNS, *param_keys, *SWEEP_SUMMARY_COLUMNS]
    summaries = [summary or {"status": "pending"} for summary in summaries]
    tmp = path.with_suffix(".csv.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            for variant, run_dir, summary in zip(variants, run_dirs, summaries):
                writer.writerow([variant.index, run_dir, *(param_cell(variant.params[k]) for k in param_keys),
                                 *(param_cell(summary.get(c)) for c in SWEEP_SUMMARY_COLUMNS)])
        tmp.replace(path)
    except OSError as exc:
        if tmp.is_file():
            tmp.unlink()
        raise output_error(path, exc) from None


def write_labels(path: Path, variants: list[Variant]) -> None:
    """Write ``{column: {sweep.csv cell: label}}`` for the grid keys that have labels; with none, remove
    the file an earlier version of the scenario may have left."""
    labels: dict[str, dict[str, str]] = {}
    for variant in variants:
        for key, label in variant.labels.items():
            labels.setdefault(key, {})[param_cell(variant.params[key])] = label
    try:
        if not labels:
            path.unlink(missing_ok=True)
            return
        path.write_text(json.dumps(labels, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise output_error(path, exc) from None
