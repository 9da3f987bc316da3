"""MPT-FL's Fig. 1 (analysis/mpt_fl_fig1.py): which Table 2 runs it borrows, and ratios compared on shared seeds."""

from __future__ import annotations

import pandas as pd
from mpt_fl_fig1 import fig1_section, fig1_setting, line_seeds, shared_seeds
from run_inputs import SCENARIOS
from sweep_dirs import write_run, write_sweep

from edgesim.scenario.loading import expand_sweep, read_raw

MPT = {"name": "mpt_fl", "variant": "1/32", "lr": 0.03}
TABLE2_COLUMNS = {"status": "completed", "rounds": 100, "bytes_up": 8000, "updates_applied": 4,
                  "updates_discarded": 0, "wall_time_s": 50.0}


def fig1_sweep(tmp_path, seed=1, lr=0.03):
    """Keep 0.1 and 0.5 finished on ``seed`` at score ``lr`` (best accuracy 0.9 + keep / 10), keep 0.3 pending."""
    folder = tmp_path / "sparsity"
    for run, keep in (("run-000", 0.1), ("run-001", 0.5)):
        write_run(folder, run, {100: keep}, algorithm={**MPT, "lr": lr, "keep": keep})
    write_sweep(folder, [{"variant": i, "run_dir": f"run-00{i}", "algorithm.keep": keep, "seed": seed,
                          "status": "completed", "best_accuracy": 0.9 + keep / 10} for i, keep in enumerate((0.1, 0.5))]
                + [{"variant": 2, "run_dir": "run-002", "algorithm.keep": 0.3, "seed": seed, "status": "pending"}])
    return folder


def table2_runs(tmp_path, fedavg_scenario=None):
    """Table 2's finished runs with absolute ``run_dir``: MPT-FL 1/32 (keep 0.2) on seeds 1-2, a keep-0.3 run at
    another lr, FedAvg on seeds 1-2 (best 0.95, 0.97; with ``fedavg_scenario``'s sections added)."""
    folder = tmp_path / "table2"
    rows = []
    for i, (case, seed, best, algorithm) in enumerate((
            ("mpt_fl_1_32", 1, 0.97, {**MPT, "keep": 0.2}), ("mpt_fl_1_32", 2, 0.96, {**MPT, "keep": 0.2}),
            ("other_lr", 1, 0.95, {**MPT, "lr": 0.1, "keep": 0.3}),
            ("fedavg", 1, 0.95, None), ("fedavg", 2, 0.97, None))):
        write_run(folder, f"run-00{i}", {100: best}, algorithm=algorithm,
                  scenario=fedavg_scenario if case == "fedavg" else None)
        rows.append({**TABLE2_COLUMNS, "variant": i, "run_dir": str(folder / f"run-00{i}"), "case": case,
                     "seed": seed, "best_accuracy": best, "final_accuracy": best})
    return pd.DataFrame(rows)


def section(tmp_path, sparsity, table2):
    out = tmp_path / "report"
    out.mkdir()
    lines = "\n".join(fig1_section(sparsity, table2, out)).splitlines()
    assert (out / "fig1_sparsity.png").stat().st_size > 0
    header = next(line for line in lines if line.startswith("| keep |")).strip("| ").split(" | ")
    return lines, [dict(zip(header, line.strip("| ").split(" | "))) for line in lines if line.startswith("| 0.")]


def test_fig1_takes_keep_0_2_from_table2s_runs_of_the_same_setting_and_compares_ratios_on_shared_seeds(tmp_path):
    lines, rows = section(tmp_path, fig1_sweep(tmp_path), table2_runs(tmp_path))
    assert [(r["keep"], r["pruned (%)"], r["best acc (%)"], r["best acc, seed 1 (%)"], r["source"]) for r in rows] == [
        ("0.1", "90", "91.00 (n=1)", "91.00", "Fig. 1 sweep"), ("0.2", "80", "96.50 ± 0.71 (n=2)", "97.00", "Table 2"),
        ("0.5", "50", "95.00 (n=1)", "95.00", "Fig. 1 sweep")]  # keep 0.3 of another lr is not borrowed
    assert "FedAvg's best accuracy (the figure's dashed line): 96.00 ± 1.41 (n=2); seed 1: 95.00 (dotted)." in lines
    assert any(line.startswith("The figure's line joins the ratios on seed 1, which every ratio ran") for line in lines)
    assert "Not finished (no point): keep 0.3." in lines
    assert not any("not borrowed" in line for line in lines)  # keep 0.3 is the sweep's own ratio, though pending


def test_a_table2_point_of_another_setting_is_left_out_and_the_section_says_why(tmp_path):
    lines, rows = section(tmp_path, fig1_sweep(tmp_path, lr=0.01), table2_runs(tmp_path))
    assert [r["keep"] for r in rows] == ["0.1", "0.5"]
    assert [line for line in lines if "not borrowed" in line] == [  # keep 0.3 is the sweep's own, though pending
        "keep 0.2: Table 2's runs differ from the Fig. 1 sweep's setting in algorithm.lr; not borrowed, so no point."]


def test_fedavgs_line_needs_the_fig1_setting_but_its_own_algorithm(tmp_path):
    lines, _ = section(tmp_path, fig1_sweep(tmp_path), table2_runs(tmp_path, {"stop": {"max_rounds": 2}}))
    assert "FedAvg's best accuracy (the figure's dashed line): –." in lines
    assert "FedAvg's Table 2 runs differ from the Fig. 1 sweep's setting in stop.max_rounds: no FedAvg line." in lines


def test_without_a_shared_seed_the_line_is_the_sweeps_seed_and_table2s_point_stands_apart(tmp_path):
    lines, rows = section(tmp_path, fig1_sweep(tmp_path, seed=4), table2_runs(tmp_path))
    assert [(r["keep"], r["best acc, seed 4 (%)"]) for r in rows] == [("0.1", "91.00"), ("0.2", "–"), ("0.5", "95.00")]
    assert any("does not compare like with like" in line for line in lines)
    assert "FedAvg's best accuracy (the figure's dashed line): 96.00 ± 1.41 (n=2)." in lines  # no FedAvg on seed 4


def test_shared_seeds_are_those_every_pruning_ratio_ran_and_the_line_falls_back_to_the_sweeps():
    points = pd.DataFrame({"algorithm.keep": [0.1, 0.2, 0.2, 0.2, 0.5, 0.5], "seed": [1, 1, 2, 3, 2, 1],
                           "source": ["Fig. 1 sweep", "Table 2", "Table 2", "Table 2", "Fig. 1 sweep", "Fig. 1 sweep"]})
    assert shared_seeds(points) == line_seeds(points) == [1]
    apart = points.drop(index=[0, 5]).assign(seed=[1, 2, 3, 4])  # the sweep ran seed 4 only
    assert shared_seeds(apart) == [] and line_seeds(apart) == [4]
    assert shared_seeds(points.iloc[:0]) == []


def test_fig1_leaves_keep_0_2_to_table2_whose_mpt_fl_1_32_case_is_its_setting():
    def variants(name):
        return expand_sweep(read_raw(SCENARIOS / "paper" / name), SCENARIOS / "paper")

    fig1 = variants("mpt_fl_sparsity.yaml")
    table2 = [v.scenario for v in variants("mpt_fl_mnist.yaml") if v.params.get("case") == "mpt_fl_1_32"]
    assert 0.2 not in {v.scenario.algorithm.keep for v in fig1}
    assert {s.algorithm.keep for s in table2} == {0.2}
    assert all(fig1_setting(s) == fig1_setting(fig1[0].scenario) for s in table2)
