"""The ``sweep.csv`` table: one row per variant, parameters as columns, then its summary."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from edgesim.scenario import Variant

SUMMARY_COLUMNS = (
    "status", "sim_time_s", "rounds", "final_accuracy", "best_accuracy", "target_accuracy", "time_to_target_s",
    "bytes_up", "bytes_down", "updates_applied", "updates_discarded", "failures", "wall_time_s",
)


def param_cell(value) -> str:
    """Scalars as written; mappings and lists as compact JSON (keys sorted)."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return "" if value is None else str(value)


def write_sweep_table(path: Path, variants: list[Variant], run_dirs: list[str], summaries: list[dict | None]) -> None:
    """Write the table atomically; a variant without a summary yet is ``pending``."""
    param_keys = list(variants[0].params) if variants else []
    columns = ["variant", "run_dir", *param_keys, *SUMMARY_COLUMNS]
    summaries = [summary or {"status": "pending"} for summary in summaries]
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for variant, run_dir, summary in zip(variants, run_dirs, summaries):
            writer.writerow([variant.index, run_dir, *(param_cell(variant.params[k]) for k in param_keys),
                             *(param_cell(summary.get(c)) for c in SUMMARY_COLUMNS)])
    tmp.replace(path)
