"""Small hand-made sweep directories, shaped as `edgesim sweep` leaves them, for the report scripts' tests."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

SWEEP_COLUMNS = ["variant", "run_dir", "case", "seed", "status", "rounds", "final_accuracy", "best_accuracy",
                 "time_to_target_s", "bytes_up", "updates_applied", "updates_discarded", "wall_time_s"]


def write_run(sweep_dir: Path, run_dir: str, accuracy_by_round: dict[int, float] | None,
              model: dict | None = None, algorithm: dict | None = None, name: str | None = None,
              scenario: dict | None = None) -> None:
    """One run folder: ``metrics.csv`` with an evaluation at each given round (none when ``accuracy_by_round``
    is None, as for a run that never started), ``summary.json`` and ``scenario.yaml`` (a whole scenario named
    ``name``, else ``run_dir``: a small fleet on synthetic data, trained by ``algorithm``, FedAvg's defaults
    without one, with ``scenario``'s top-level sections added)."""
    folder = sweep_dir / run_dir
    folder.mkdir(parents=True)
    if accuracy_by_round is None:
        return
    rounds = sorted(accuracy_by_round)
    pd.DataFrame({"sim_time_s": [10.0 * r for r in rounds], "round": rounds, "model_version": rounds,
                  "accuracy": [accuracy_by_round[r] for r in rounds], "loss": 1.0, "updates": 10}
                 ).to_csv(folder / "metrics.csv", index=False)
    (folder / "summary.json").write_text(json.dumps({"status": "completed", "model": model or {}}))
    whole = {"name": name or run_dir, "dataset": {"name": "synthetic"}, "algorithm": algorithm or {"name": "fedavg"},
             "fleet": {"groups": [{"name": "pi", "profile": "raspberry_pi_4", "count": 4, "network": "wifi5"}]},
             "server": {"clients_per_round": 2}} | (scenario or {})
    (folder / "scenario.yaml").write_text(yaml.safe_dump(whole))


def write_sweep(sweep_dir: Path, rows: list[dict]) -> None:
    """``sweep.csv`` from ``rows``: the standard columns (missing ones left empty), then any others given,
    such as a grid key's."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    extra = [column for column in frame.columns if column not in SWEEP_COLUMNS]
    frame.reindex(columns=SWEEP_COLUMNS + extra).to_csv(sweep_dir / "sweep.csv", index=False)
