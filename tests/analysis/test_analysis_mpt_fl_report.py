"""The MPT-FL report (analysis/mpt_fl_report.py): Table 2's best, final and last-50-round columns over seeds."""

from __future__ import annotations

import pandas as pd
import pytest
from mpt_fl_report import (fig1_setting, last_rounds_accuracy, main, optimizer_ablation, shared_seeds,
                           table2_section)
from run_inputs import SCENARIOS
from sweep_dirs import write_run, write_sweep

from edgesim.scenario.loading import expand_sweep, read_raw

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


def test_fig1_takes_keep_0_2_from_table2s_runs_of_the_same_setting_and_no_other(sweep, tmp_path):
    """The Fig. 1 sweep ran keep 0.1 and 0.5 (0.3 not yet); Table 2 holds MPT-FL 1/32 (keep 0.2) on seeds 1-2, a run at
    keep 0.3 with another learning rate, and FedAvg."""
    mpt = {"name": "mpt_fl", "variant": "1/32", "lr": 0.03}
    fig1 = tmp_path / "sparsity"
    for run, keep in (("run-000", 0.1), ("run-001", 0.5)):
        write_run(fig1, run, {r: keep for r in ROUNDS}, algorithm={**mpt, "keep": keep})
    write_sweep(fig1, [{"variant": i, "run_dir": f"run-00{i}", "algorithm.keep": keep, "seed": 1,
                        "status": "completed", "best_accuracy": 0.9 + keep / 10} for i, keep in enumerate((0.1, 0.5))]
                + [{"variant": 2, "run_dir": "run-002", "algorithm.keep": 0.3, "seed": 1, "status": "pending"}])
    table2 = tmp_path / "table2_mpt"
    write_run(table2, "run-000", {100: 0.97}, algorithm={**mpt, "keep": 0.2})
    write_run(table2, "run-001", {100: 0.96}, algorithm={**mpt, "keep": 0.2})
    write_run(table2, "run-002", {100: 0.95}, algorithm={**mpt, "lr": 0.1, "keep": 0.3})
    write_sweep(table2, [{"variant": i, "run_dir": f"run-00{i}", "case": case, "seed": seed, "status": "completed",
                          "best_accuracy": best, "final_accuracy": best, "rounds": 100, "bytes_up": 8000,
                          "updates_applied": 4, "updates_discarded": 0, "wall_time_s": 50.0}
                         for i, (case, seed, best) in enumerate((("mpt_fl_1_32", 1, 0.97), ("mpt_fl_1_32", 2, 0.96),
                                                                 ("other_lr", 1, 0.95)))])
    out = tmp_path / "report"
    out.mkdir()
    report = "\n".join(table2_section([sweep, table2], fig1, out)).splitlines()
    header = next(line for line in report if line.startswith("| keep |")).strip("| ").split(" | ")
    rows = [dict(zip(header, line.strip("| ").split(" | "))) for line in report if line.startswith("| 0.")]
    assert [(r["keep"], r["pruned (%)"], r["best acc (%)"], r["source"]) for r in rows] == [
        ("0.1", "90", "91.00 (n=1)", "Fig. 1 sweep"), ("0.2", "80", "96.50 ± 0.71 (n=2)", "Table 2"),
        ("0.5", "50", "95.00 (n=1)", "Fig. 1 sweep")]
    assert "Not finished (no point): keep 0.3." in report
    assert (out / "fig1_sparsity.png").stat().st_size > 0
    # keep 0.2 has seeds 1-2, the sweep seed 1 only: seed 1 is where the ratios compare like with like
    assert [(r["keep"], r["best acc, seed 1 (%)"]) for r in rows] == [("0.1", "91.00"), ("0.2", "97.00"),
                                                                      ("0.5", "95.00")]
    assert "FedAvg's best accuracy (the figure's dashed line): 11.00 ± 1.41 (n=2); seed 1: 10.00 (dotted)." in report


def test_shared_seeds_are_those_every_pruning_ratio_ran():
    points = pd.DataFrame({"algorithm.keep": [0.1, 0.2, 0.2, 0.2, 0.5, 0.5], "seed": [1, 1, 2, 3, 2, 1]})
    assert shared_seeds(points) == [1]
    assert shared_seeds(points.drop(index=5)) == []  # keep 0.1 ran seed 1 only, keep 0.5 then seed 2 only
    assert shared_seeds(points.iloc[:0]) == []


def test_fig1_leaves_keep_0_2_to_table2_whose_mpt_fl_1_32_case_is_its_setting():
    def variants(name):
        return expand_sweep(read_raw(SCENARIOS / "paper" / name), SCENARIOS / "paper")

    fig1 = variants("mpt_fl_sparsity.yaml")
    table2 = [v.scenario for v in variants("mpt_fl_mnist.yaml") if v.params.get("case") == "mpt_fl_1_32"]
    assert 0.2 not in {v.scenario.algorithm.keep for v in fig1}
    assert {s.algorithm.keep for s in table2} == {0.2}
    assert all(fig1_setting(s) == fig1_setting(fig1[0].scenario) for s in table2)


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
