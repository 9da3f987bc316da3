"""Writers of synthetic run and sweep directories in the simulator's file contract, for the plot tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from edgesim.contract import EVENT_COLUMNS, LATER_EVENT_COLUMNS, SWEEP_SUMMARY_COLUMNS

PHASES = ("download", "compute", "upload")


def write_run(run_dir: Path, *, devices: int = 8, rounds: int = 6, asynchronous: bool = False,
              seed: int = 0, target: float = 0.6, per_round: int | None = None) -> Path:
    """A run with phases, interruptions, failures, unavailability, exclusions and round rows."""
    rng = np.random.default_rng(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    names = [f"pi4-{i}" for i in range(devices)]
    rows = [(0.0, names[-1], "excluded", None, None, None, None, None)]
    per_round = per_round or max(2, devices // 2)
    t = 0.0
    metrics = []
    for r in range(rounds):
        rows.append((t, "server", "round_start", r, r, None, None, None))
        finish = t
        for name in rng.choice(names[:-1], size=min(per_round, devices - 1), replace=False):
            rows.append((t, name, "selected", r, r, None, None, None))
            clock = t
            for phase in PHASES:
                duration = float(rng.uniform(5, 60))
                rows.append((clock, name, f"{phase}_start", r, r, None, None, None))
                clock += duration
                if rng.random() < 0.08:
                    rows.append((clock, name, f"{phase}_interrupted", r, r, None, None, duration))
                    rows.append((clock, name, "failure", r, None, None, None, None))
                    rows.append((clock + rng.uniform(30, 200), name, "recovery", None, None, None, None, None))
                    break
                rows.append((clock, name, f"{phase}_end", r, r, None, 1e6 if phase != "compute" else None, duration))
            else:
                staleness = int(rng.integers(0, 5)) if asynchronous else 0
                rows.append((clock, name, "update_applied", r, r + 1, staleness, None, None))
            finish = max(finish, clock)
        if rng.random() < 0.3:
            name = str(rng.choice(names[:-1]))
            rows.append((t + 1.0, name, "unavailable", None, None, None, None, None))
            rows.append((finish + 10.0, name, "available", None, None, None, None, None))
        rows.append((finish, "server", "round_end", r, r + 1, None, None, finish - t))
        t = finish
        accuracy = 0.9 * (1 - np.exp(-(r + 1) / (rounds / 3)))
        metric = {"sim_time_s": t, "round": r + 1, "model_version": r + 1, "accuracy": accuracy, "loss": 2 * (1 - accuracy)}
        if asynchronous:
            metric.update(k=int(rng.integers(2, 6)), lr=float(rng.lognormal(-4, 1)), max_weight=float(rng.uniform(0.2, 0.9)),
                          dev_accuracy=accuracy * 0.95)
        metrics.append(metric)
    # written as a run before events carried energy: readers take such runs too
    events = pd.DataFrame(rows, columns=[c for c in EVENT_COLUMNS if c not in LATER_EVENT_COLUMNS]).sort_values(
        "sim_time_s", kind="stable")
    events.to_csv(run_dir / "events.csv", index=False)
    pd.DataFrame(metrics).to_csv(run_dir / "metrics.csv", index=False)
    reached = next((m["sim_time_s"] for m in metrics if m["accuracy"] >= target), None)
    summary = {
        "scenario": "iot_home", "algorithm": "fedbuff" if asynchronous else "fedavg", "seed": seed,
        "sim_time_s": t, "rounds": rounds, "final_accuracy": metrics[-1]["accuracy"],
        "best_accuracy": max(m["accuracy"] for m in metrics), "target_accuracy": target,
        "time_to_target_s": reached, "bytes_up": 1e8, "bytes_down": 1e8,
        "updates_applied": int((events["kind"] == "update_applied").sum()), "updates_discarded": 0,
        "failures": int((events["kind"] == "failure").sum()), "wall_time_s": 1.0,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary))
    return run_dir


def write_sweep(sweep_dir: Path, *, seeds: int = 2) -> Path:
    """A 2 × 2 sweep (stragglers kind × fleet size) with ``seeds`` seeds; one variant never reaches target."""
    records = []
    for kind in ("none", "heavy"):
        for size in (4, 8):
            for seed in range(seeds):
                rel = f"runs/{kind}-{size}-s{seed}"
                target = 0.99 if (kind, size) == ("heavy", 8) else 0.6
                write_run(sweep_dir / rel, devices=size, rounds=5, seed=seed, asynchronous=kind == "heavy", target=target)
                summary = json.loads((sweep_dir / rel / "summary.json").read_text())
                records.append({"variant": len(records), "run_dir": rel, "fleet.stragglers.kind": kind,
                                "fleet.size": size, "seed": seed, "status": "completed",
                                **{k: v for k, v in summary.items() if k in SWEEP_SUMMARY_COLUMNS and k != "status"}})
    pd.DataFrame(records).to_csv(sweep_dir / "sweep.csv", index=False)
    return sweep_dir
