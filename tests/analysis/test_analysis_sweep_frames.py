"""The shared sweep helpers (analysis/sweep_frames.py): mean ± std cells, markdown tables, stored scenarios,
the check that a folder is the sweep a report expects."""

from __future__ import annotations

import pandas as pd
import pytest
from sweep_dirs import write_run, write_sweep
from sweep_frames import check_sweep, markdown_table, mean_std, stored_scenario


def test_mean_std_gives_percent_with_the_count_by_default_and_raw_values_on_request():
    accuracies = pd.Series([0.97, 0.98, None])
    assert mean_std(accuracies) == "97.50 ± 0.71 (n=2)"
    assert mean_std(accuracies.iloc[:1]) == "97.00 (n=1)"
    assert mean_std(pd.Series([None], dtype=float)) == "–"
    assert mean_std(pd.Series([0.002, 0.004]), scale=1.0, digits=4, count=False) == "0.0030 ± 0.0014"


def test_markdown_table_formats_floats_and_keeps_other_cells_as_text():
    table = markdown_table(pd.DataFrame({"case": ["fedavg"], "acc": [0.97431], "rounds": [300]}), ".2f")
    assert table.splitlines() == ["| case | acc | rounds |", "| --- | --- | --- |", "| fedavg | 0.97 | 300 |"]


def test_a_runs_stored_scenario_is_read_through_the_schema_with_its_defaults(tmp_path):
    write_run(tmp_path, "run-000", {5: 0.5}, algorithm={"name": "mpt_fl", "lr": 0.03})
    scenario = stored_scenario(tmp_path / "run-000")
    assert (scenario.name, scenario.algorithm.name, scenario.algorithm.lr) == ("run-000", "mpt_fl", 0.03)
    assert scenario.algorithm.optimizer == "sgd"  # the schema's default, not written in the file


def test_check_sweep_accepts_the_expected_scenarios_runs_and_ignores_runs_not_started(tmp_path):
    write_sweep(tmp_path, [{"variant": 0, "run_dir": "run-000"}, {"variant": 1, "run_dir": "run-001"}])
    write_run(tmp_path, "run-000", {5: 0.5}, name="mpt_fl_mnist")
    write_run(tmp_path, "run-001", None)  # not started: no scenario.yaml
    check_sweep(tmp_path, "mpt_fl_mnist")
    check_sweep(tmp_path, "mpt_fl_sparsity", "mpt_fl_mnist")


def test_check_sweep_refuses_another_scenarios_sweep_and_a_folder_without_sweep_csv(tmp_path):
    write_sweep(tmp_path / "ablation", [{"variant": 0, "run_dir": "run-000"}])
    write_run(tmp_path / "ablation", "run-000", {5: 0.5}, name="mpt_fl_ablation")
    with pytest.raises(ValueError, match="holds runs of scenario mpt_fl_ablation, not of mpt_fl_mnist: give the "
                                         "sweep of scenarios/paper/mpt_fl_mnist.yaml"):
        check_sweep(tmp_path / "ablation", "mpt_fl_mnist")
    for folder in (tmp_path / "missing", tmp_path / "ablation" / "run-000"):
        with pytest.raises(ValueError, match="is not a sweep folder"):
            check_sweep(folder, "mpt_fl_mnist")
