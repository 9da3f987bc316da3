"""The MPT-FL report (analysis/mpt_fl_report.py): Table 2's best, final and last-50-round columns over seeds."""

from __future__ import annotations

import pandas as pd
import pytest
from mpt_fl_report import last_rounds_accuracy, main, optimizer_ablation, table2_section
from sweep_dirs import write_run, write_sweep

ROUNDS = range(5, 101, 5)  # evaluated every 5 rounds, 100 rounds


@pytest.fixture
def sweep(tmp_path):
    """FedAvg over two seeds (accuracy = round / 1000, plus 0.01 on seed 2); MPT-FL 1/32 seed 1 not started."""
    sweep_dir = tmp_path / "table2"
    write_run(sweep_dir, "run-000", {r: r / 1000 for r in ROUNDS}, {"model_bytes": 4000})
    write_run(sweep_dir, "run-001", {r: r / 1000 + 0.01 for r in ROUNDS}, {"model_bytes": 4000})
    write_run(sweep_dir, "run-002", None)
    common = {"case": "fedavg", "status": "completed", "rounds": 100, "bytes_up": 8000, "updates_applied": 4,
              "updates_discarded": 0, "wall_time_s": 50.0}
    write_sweep(sweep_dir, [
        {**common, "variant": 0, "run_dir": "run-000", "seed": 1, "final_accuracy": 0.1, "best_accuracy": 0.1,
         "time_to_target_s": 3600.0},
        {**common, "variant": 1, "run_dir": "run-001", "seed": 2, "final_accuracy": 0.11, "best_accuracy": 0.12,
         "time_to_target_s": 10800.0},
        {"variant": 2, "run_dir": "run-002", "case": "mpt_fl_1_32", "seed": 1, "status": "pending"},
    ])
    return sweep_dir


def test_last_rounds_accuracy_averages_each_runs_evaluations_after_its_last_round_minus_the_window():
    curves = pd.DataFrame({"case": "fedavg", "seed": [1] * 4 + [2] * 3, "round": [10, 20, 30, 40, 10, 20, 30],
                           "accuracy": [0.1, 0.2, 0.3, 0.4, 0.5, None, 0.7]})
    window = last_rounds_accuracy(curves, rounds=20)
    # seed 1 ends at round 40: rounds 30 and 40; seed 2 ends at 30: rounds 20 (not evaluated) and 30
    assert window[("fedavg", 1)] == pytest.approx(0.35)
    assert window[("fedavg", 2)] == pytest.approx(0.7)


def test_table2_reports_mean_and_std_over_seeds_and_names_the_runs_not_finished(sweep, tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    lines = table2_section([sweep], None, out)
    report = "\n".join(lines).splitlines()
    fedavg = next(line for line in report if line.startswith("| FedAvg |")).split(" | ")
    header = next(line for line in report if line.startswith("| method |")).split(" | ")
    row = dict(zip(header, fedavg))
    assert row["measured best acc (%)"] == "11.00 ± 1.41 (n=2)"
    assert row["measured final acc (%)"] == "10.50 ± 0.71 (n=2)"
    # rounds 55..100: mean round 77.5 -> 7.75% on seed 1, 8.75% on seed 2
    assert row["measured last 50 rounds (%)"] == "8.25 ± 0.71 (n=2)"
    assert row["upload / round / client (B)"] == "2,000"
    assert row["time to target (simulated)"] == "2.00 h (n=2)"
    assert not any(line.startswith("| MPT-FL 1/32 |") for line in report)
    assert "Not finished (no row): mpt_fl_1_32 (seed 1)." in lines
    assert (out / "table2_accuracy.png").stat().st_size > 0


def test_a_case_finished_in_another_sweep_is_not_listed_as_not_finished(sweep, tmp_path):
    """The sign-upload row ran as its own sweep while the Table 2 sweep still lists it pending."""
    other = tmp_path / "table2_sign"
    write_run(other, "run-000", {r: r / 1000 for r in ROUNDS}, {"model_bytes": 4000})
    write_sweep(other, [{"variant": 0, "run_dir": "run-000", "case": "mpt_fl_1_32", "seed": 1,
                         "status": "completed", "rounds": 100, "final_accuracy": 0.1, "best_accuracy": 0.1,
                         "bytes_up": 8000, "updates_applied": 4, "updates_discarded": 0, "wall_time_s": 50.0}])
    out = tmp_path / "report"
    out.mkdir()
    report = "\n".join(table2_section([sweep, other], None, out)).splitlines()
    assert not any(line.startswith("Not finished") for line in report)
    assert any(line.startswith("| MPT-FL 1/32 |") for line in report)


def test_optimizer_ablation_reads_each_runs_optimizer_and_lr_from_its_scenario(tmp_path):
    """Adam at lr 0.001 climbs to 30% by round 40, SGD at lr 0.03 to 40%; a third run did not finish."""
    sweep_dir = tmp_path / "ablation_1_1"
    rounds = range(5, 41, 5)
    write_run(sweep_dir, "run-000", {r: r / 100 for r in rounds}, algorithm={"name": "mpt_fl", "lr": 0.03})
    write_run(sweep_dir, "run-001", {r: r / 100 - 0.1 for r in rounds},
              algorithm={"name": "mpt_fl", "optimizer": "adam", "lr": 0.001})
    write_run(sweep_dir, "run-002", None)
    common = {"status": "completed", "seed": 1, "rounds": 40}
    write_sweep(sweep_dir, [
        {**common, "variant": 0, "run_dir": "run-000", "case": "sgd_0.03", "final_accuracy": 0.4, "best_accuracy": 0.4},
        {**common, "variant": 1, "run_dir": "run-001", "case": "adam_0.001", "final_accuracy": 0.3,
         "best_accuracy": 0.3},
        {"variant": 2, "run_dir": "run-002", "case": "adam_0.01", "seed": 1, "status": "pending"},
    ])
    out = tmp_path / "report"
    out.mkdir()
    report = "\n".join(optimizer_ablation(sweep_dir, out)).splitlines()
    header = next(line for line in report if line.startswith("| optimizer |")).strip("| ").split(" | ")
    rows = [dict(zip(header, line.strip("| ").split(" | "))) for line in report
            if line.startswith(("| adam |", "| sgd |"))]
    assert [(r["optimizer"], r["lr"], r["best_accuracy"]) for r in rows] == [("adam", "0.0010", "0.3000"),
                                                                          ("sgd", "0.0300", "0.4000")]
    # the last 10 rounds of a 40-round run evaluated every 5: rounds 35 and 40
    assert [r["last_10_rounds"] for r in rows] == ["0.2750", "0.3750"]
    assert (out / "optimizer_ablation_accuracy.png").stat().st_size > 0


def test_the_last_50_rounds_column_is_explained_and_a_centralised_row_counts_epochs(sweep, tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    federated_only = "\n".join(table2_section([sweep], None, out))
    assert "mean test accuracy over the evaluations in a run's last 50 rounds." in federated_only
    assert "epoch" not in federated_only
    central = tmp_path / "central"
    write_run(central, "run-000", {e: 0.9 + e / 100 for e in range(1, 9)}, {"model_bytes": 4000})
    write_run(central, "run-001", {e: 0.9 + e / 100 for e in range(1, 7)}, {"model_bytes": 4000})
    epoch = {"case": "dnn_central", "status": "completed", "bytes_up": 8000, "updates_discarded": 0,
             "wall_time_s": 80.0}
    write_sweep(central, [
        {**epoch, "variant": 0, "run_dir": "run-000", "seed": 1, "rounds": 8, "final_accuracy": 0.98,
         "best_accuracy": 0.98, "updates_applied": 8},
        {**epoch, "variant": 1, "run_dir": "run-001", "seed": 2, "rounds": 6, "final_accuracy": 0.96,
         "best_accuracy": 0.96, "updates_applied": 6}])
    report = "\n".join(table2_section([sweep, central], None, out))
    assert "a centralised row's round is one epoch over the training set" in report
    dnn = next(line for line in report.splitlines() if line.startswith("| DNN (centralised) |")).split(" | ")
    # the mean of every epoch: 94.5% over 8 epochs (91% ... 98%), 93.5% over 6 (91% ... 96%)
    assert dnn[4] == "94.00 ± 0.71 (n=2)"
    assert dnn[5] == "6–8"  # stopped by patience after different numbers of epochs


def test_the_report_refuses_a_sweep_of_another_scenario_before_writing_anything(sweep, tmp_path, monkeypatch,
                                                                                capsys):
    # the fixture's runs are named after their folders, so no folder is mpt_fl_1_1_ablation's sweep
    out = tmp_path / "report"
    monkeypatch.setattr("sys.argv", ["mpt_fl_report.py", "--optimizer-ablation", str(sweep), "--out", str(out)])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    assert "holds runs of scenario run-000, run-001, not of mpt_fl_1_1_ablation" in capsys.readouterr().err
    assert not out.exists()


def test_sparsity_without_table2_sweeps_names_what_it_needs_them_for(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.argv", ["mpt_fl_report.py", "--sparsity", str(tmp_path), "--out", str(tmp_path / "r")])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "--sparsity takes keep 0.2 and FedAvg's line from the Table 2 sweeps: give them too" in error
