"""The smoke scenario end to end: run directory contract, determinism, plots."""

from __future__ import annotations

import csv
import json

import pytest
from run_inputs import SCENARIOS, data_options

from edgesim.cli import main
from edgesim.contract import EVENT_COLUMNS


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory):
    """The smoke scenario run twice with the same seed, once with another."""
    root = tmp_path_factory.mktemp("smoke")
    dirs = {}
    for label, seed in (("a", 7), ("b", 7), ("c", 8)):
        dirs[label] = root / label
        assert main(["run", str(SCENARIOS / "smoke.yaml"), "--out", str(dirs[label]), "--quiet",
                     "--seed", str(seed), *data_options()]) == 0
    return dirs


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_run_directory_contract(smoke_runs):
    run = smoke_runs["a"]
    assert {p.name for p in run.iterdir()} >= {"scenario.yaml", "events.csv", "metrics.csv", "summary.json"}
    with open(run / "events.csv") as handle:
        assert tuple(handle.readline().strip().split(",")) == EVENT_COLUMNS
    metrics = read_csv(run / "metrics.csv")
    assert list(metrics[0])[:5] == ["sim_time_s", "round", "model_version", "accuracy", "loss"]
    summary = json.loads((run / "summary.json").read_text())
    for key in ("scenario", "algorithm", "seed", "sim_time_s", "rounds", "final_accuracy", "best_accuracy",
                "target_accuracy", "time_to_target_s", "bytes_up", "bytes_down", "updates_applied",
                "updates_discarded", "failures", "wall_time_s", "rounds_to_target", "staleness_mean",
                "staleness_p50", "staleness_p95"):
        assert key in summary
    assert summary["status"] == "completed" and summary["rounds"] == 5 and summary["stop_reason"] == "max_rounds"


def test_training_learns(smoke_runs):
    summary = json.loads((smoke_runs["a"] / "summary.json").read_text())
    assert summary["final_accuracy"] > 0.3  # ten classes: chance is 0.1


def test_events_are_consistent(smoke_runs):
    events = read_csv(smoke_runs["a"] / "events.csv")
    summary = json.loads((smoke_runs["a"] / "summary.json").read_text())
    kinds = [e["kind"] for e in events]
    assert kinds.count("update_applied") == summary["updates_applied"]
    assert kinds.count("round_end") == summary["rounds"]
    assert sum(int(e["bytes"]) for e in events if e["kind"] == "upload_end") == summary["bytes_up"]
    staleness = sorted(int(e["staleness"]) for e in events if e["kind"] == "update_applied")
    assert summary["staleness_mean"] == round(sum(staleness) / len(staleness), 6)
    assert summary["staleness_p50"] == staleness[(len(staleness) - 1) // 2]
    times = [float(e["sim_time_s"]) for e in events]
    assert times == sorted(times)


def test_same_seed_gives_byte_identical_tables(smoke_runs):
    for name in ("events.csv", "metrics.csv", "scenario.yaml"):
        assert (smoke_runs["a"] / name).read_bytes() == (smoke_runs["b"] / name).read_bytes()
    assert (smoke_runs["a"] / "events.csv").read_bytes() != (smoke_runs["c"] / "events.csv").read_bytes()


def test_resolved_scenario_reruns(smoke_runs, tmp_path):
    rerun = tmp_path / "rerun"
    assert main(["run", str(smoke_runs["a"] / "scenario.yaml"), "--out", str(rerun), "--quiet"]) == 0
    assert (rerun / "metrics.csv").read_bytes() == (smoke_runs["a"] / "metrics.csv").read_bytes()


def test_plot_run(smoke_runs, capsys):
    assert main(["plot", str(smoke_runs["a"])]) == 0
    written = capsys.readouterr().out.split()
    assert {p.rsplit("/", 1)[-1] for p in written} >= {"accuracy.png", "staleness.png", "timeline.png"}
