"""Local sweeps: one run per variant, sweep.csv, failures recorded, completed variants skipped."""

from __future__ import annotations

import csv
import textwrap

import yaml

from edgesim.cli import main

SCENARIO = """
name: tiny_sweep
seed: 3
fleet:
  groups:
    - {name: pi, profile: raspberry_pi_4, count: 4, network: wifi5}
dataset: {name: synthetic, synthetic: {train_size: 400, test_size: 200}}
server: {clients_per_round: 2}
stop: {max_rounds: 2}
sweep:
  grid:
    fleet.memory_fraction: [0.5, 1.0e-9]
  seeds: [3, 4]
"""


def test_sweep_runs_records_failures_and_resumes(tmp_path, capsys):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(textwrap.dedent(SCENARIO))
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--out", str(out), "--workers", "2"]) == 0
    with open(out / "sweep.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["fleet.memory_fraction"], r["seed"]) for r in rows] == [("0.5", "3"), ("0.5", "4"),
                                                                      ("1e-09", "3"), ("1e-09", "4")]
    assert [r["status"] for r in rows[:2]] == ["completed", "completed"]
    assert all(r["status"].startswith("failed: InputError: fleet: too few devices") for r in rows[2:])
    assert rows[0]["rounds"] == "2" and rows[0]["run_dir"] == "run-000"

    # The same variant run on its own gives the same tables.
    single = tmp_path / "single"
    assert main(["run", str(scenario), "--out", str(single), "--quiet", "--seed", "3",
                 "--set", "fleet.memory_fraction=0.5"]) == 0
    assert (single / "metrics.csv").read_bytes() == (out / "run-000" / "metrics.csv").read_bytes()
    assert (single / "events.csv").read_bytes() == (out / "run-000" / "events.csv").read_bytes()

    # Re-running the sweep skips what is complete and retries what failed.
    capsys.readouterr()
    summary_mtime = (out / "run-000" / "summary.json").stat().st_mtime_ns
    assert main(["sweep", str(scenario), "--out", str(out), "--workers", "1"]) == 0
    assert "2 of 4 variants already complete" in capsys.readouterr().err
    assert (out / "run-000" / "summary.json").stat().st_mtime_ns == summary_mtime


def test_a_run_saved_before_a_key_was_added_still_counts_as_complete(tmp_path, capsys):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(textwrap.dedent(SCENARIO).replace("[0.5, 1.0e-9]", "[0.5]").replace("[3, 4]", "[3]"))
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--out", str(out)]) == 0
    # as written by an edgesim that had no dataset.taxonomy key yet
    resolved = out / "run-000" / "scenario.yaml"
    stored = yaml.safe_load(resolved.read_text())
    del stored["dataset"]["taxonomy"]
    resolved.write_text(yaml.safe_dump(stored))
    capsys.readouterr()
    assert main(["sweep", str(scenario), "--out", str(out)]) == 0
    assert "1 of 1 variants already complete" in capsys.readouterr().err
    # a real change in the stored scenario is not taken as complete
    stored["seed"] = 99
    resolved.write_text(yaml.safe_dump(stored))
    assert main(["sweep", str(scenario), "--out", str(out)]) == 0
    assert "already complete" not in capsys.readouterr().err
