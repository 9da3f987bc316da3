"""MPT-FL reproduction report: the paper's Table 2 and Fig. 1 beside what edgesim measured.

Usage:
    python analysis/mpt_fl_report.py [TABLE2_SWEEP_DIR ...] [--sparsity SPARSITY_SWEEP_DIR]
                                     [--ablation ABLATION_SWEEP_DIR]
                                     [--optimizer-ablation OPTIMIZER_ABLATION_SWEEP_DIR] --out analysis/mpt_fl

TABLE2_SWEEP_DIR comes from `edgesim sweep scenarios/paper/mpt_fl_mnist.yaml` (several, such as one
per seed, are read as one table),
SPARSITY_SWEEP_DIR from `edgesim sweep scenarios/paper/mpt_fl_sparsity.yaml`,
ABLATION_SWEEP_DIR from `edgesim sweep scenarios/paper/mpt_fl_ablation.yaml`,
OPTIMIZER_ABLATION_SWEEP_DIR from `edgesim sweep scenarios/paper/mpt_fl_1_1_ablation.yaml`.
Writes TABLE.md, table2_accuracy.png, and with the options fig1_sparsity.png,
ablation_accuracy.png and optimizer_ablation_accuracy.png. "Last 50 rounds" is the mean test accuracy over the
evaluations in a run's last 50 rounds (every evaluation when it ran fewer).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from mpt_fl_fig1 import fig1_section
from sweep_frames import markdown_table, mean_std, metrics, require_sweeps, runs, stored_scenario

# case in the scenario -> (row name, paper accuracy %, paper size B, paper sparsity)
PAPER = {
    "dnn_central": ("DNN (centralised)", "99.34 ± 0.04", 7_729_408, "0%"),
    "mpt_central": ("MPT 1/32 (centralised)", "99.46 ± 0.04", 241_544, "80%"),
    "fedavg": ("FedAvg", "97.48 ± 0.10", 7_729_408, "0%"),
    "bnn_fl_1_1": ("BNN-FL 1/1", "96.53 ± 0.25", 241_544, "0%"),
    "bnn_fl_1_32": ("BNN-FL 1/32", "97.27 ± 0.08", 241_544, "0%"),
    "mpt_fl_1_1": ("MPT-FL 1/1", "97.47 ± 0.22", 241_544, "80%"),
    "mpt_fl_1_32": ("MPT-FL 1/32", "97.92 ± 0.11", 241_544, "80%"),
    "mpt_fl_1_32_mask_upload": ("MPT-FL 1/32, mask upload (not in the paper)", "–", None, "–"),
    "mpt_fl_1_32_sign_upload": ("MPT-FL 1/32, sign upload (not in the paper)", "–", None, "–"),
}


def _bytes(value) -> str:
    return "–" if pd.isna(value) else f"{int(value):,}"


def _hours(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "not reached"
    return f"{values.mean() / 3600:.2f} h" + (f" (n={len(values)})" if len(values) > 1 else "")


def _span(rounds: pd.Series) -> str:
    """The runs' round counts: one number, or the range where they differ (a centralised run stopped by
    ``stop.patience``)."""
    low, high = int(rounds.min()), int(rounds.max())
    return str(low) if low == high else f"{low}–{high}"


def _centralised(cases: pd.Series) -> pd.Series:
    """Which of ``cases`` train on one device (``dnn_central``, ``mpt_central``), one epoch a round."""
    return cases.str.endswith("central")


def last_rounds_accuracy(curves: pd.DataFrame, rounds: int = 50) -> pd.Series:
    """Per run (keyed by case and seed): mean test accuracy over the evaluations of its last
    ``rounds`` rounds."""
    evaluated = curves.dropna(subset=["accuracy"])
    last = evaluated.groupby(["case", "seed"])["round"].transform("max")
    window = evaluated[evaluated["round"] > last - rounds]
    return window.groupby(["case", "seed"])["accuracy"].mean()


def table2(table: pd.DataFrame, last50: pd.Series) -> pd.DataFrame:
    rows = []
    for case, (name, paper_acc, paper_size, paper_sparsity) in PAPER.items():
        group = table[table["case"] == case]
        if group.empty:
            continue
        first = group.iloc[0]
        one_bit = first.get("model.model_bytes_1bit")
        rows.append({
            "method": name,
            "paper acc (%)": paper_acc,
            "measured best acc (%)": mean_std(group["best_accuracy"]),
            "measured final acc (%)": mean_std(group["final_accuracy"]),
            "measured last 50 rounds (%)": mean_std(last50.get(case, pd.Series(dtype=float))),
            "rounds": _span(group["rounds"]),
            "paper size (B)": _bytes(paper_size),
            "size (B)": _bytes(one_bit if pd.notna(one_bit) else first.get("model.model_bytes")),
            "size with mask (B)": _bytes(first.get("model.model_bytes_with_mask")),
            "paper sparsity": paper_sparsity,
            "sparsity": "–" if pd.isna(first.get("model.sparsity")) else f"{100 * first['model.sparsity']:.0f}%",
            "upload / round / client (B)": _bytes(group["bytes_up"].iloc[0] / max(1, first["updates_applied"] + first["updates_discarded"])),
            "time to target (simulated)": _hours(group["time_to_target_s"]),
            "wall s / round": f"{(group['wall_time_s'] / group['rounds']).mean():.1f}",
        })
    return pd.DataFrame(rows)


def accuracy_figure(curves: pd.DataFrame, path: Path) -> None:
    figure = Figure(figsize=(11, 4.2))
    left, right = figure.subplots(1, 2)
    curves = curves.assign(method=curves["case"].map(lambda c: PAPER.get(c, (c,))[0]), hours=curves["sim_time_s"] / 3600)
    federated = curves[~_centralised(curves["case"])]
    sns.lineplot(data=federated, x="round", y="accuracy", hue="method", marker="o", ax=left, errorbar=None)
    sns.lineplot(data=federated, x="hours", y="accuracy", hue="method", marker="o", ax=right, errorbar=None,
                 legend=False)
    left.set(title="Test accuracy per round", xlabel="round", ylabel="test accuracy (10,000 images)")
    right.set(title="Test accuracy over simulated time (IoT fleet)", xlabel="simulated time (h)", ylabel="")
    left.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _ablation_summary(table: pd.DataFrame, curves: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Best, final and last-10-round mean accuracy of each finished ablation run, keyed by ``keys``."""
    last10 = curves[curves["round"] > curves.groupby(keys)["round"].transform("max") - 10]
    summary = (table.set_index(keys)[["best_accuracy", "final_accuracy", "rounds"]]
               .join(last10.groupby(keys)["accuracy"].mean().rename("last_10_rounds")).reset_index())
    summary["rounds"] = summary["rounds"].astype(int)
    return summary


def ablation(sweep_dir: Path, out: Path) -> list[str]:
    """The weight-scale x learning-rate x schedule table and curves (MPT-FL 1/32)."""
    table = runs(sweep_dir)
    table = table[table["status"] == "completed"]
    curves = metrics(sweep_dir, table).dropna(subset=["accuracy"])
    if curves.empty:
        return ["## Ablation: weight scale x learning rate x schedule", "", "No finished run yet.", ""]
    summary = _ablation_summary(table, curves, ["algorithm.weight_init", "algorithm.lr", "case"]).rename(
        columns={"algorithm.weight_init": "weight_init", "algorithm.lr": "lr", "case": "schedule"})
    grid = sns.relplot(data=curves.rename(columns={"algorithm.lr": "lr", "case": "schedule"}), x="round",
                       y="accuracy", hue="lr", style="schedule", col="algorithm.weight_init", kind="line",
                       palette="viridis", height=3.6, aspect=1.3)
    grid.set_titles("weight scale: {col_name}")
    grid.set_axis_labels("round", "test accuracy (10,000 images)")
    grid.figure.savefig(out / "ablation_accuracy.png", dpi=110)
    return ["## Ablation: weight scale x learning rate x schedule (MPT-FL 1/32, one seed)", "",
            markdown_table(summary, ".4f"), "", "![ablation](ablation_accuracy.png)", ""]


def optimizer_ablation(sweep_dir: Path, out: Path) -> list[str]:
    """The optimiser x learning-rate table and curves (MPT-FL 1/1); each run's optimiser and lr are read from
    its ``scenario.yaml``, since the sweep's cases set them."""
    table = runs(sweep_dir)
    table = table[table["status"] == "completed"]
    title = "## Ablation: optimiser x learning rate (MPT-FL 1/1, one seed)"
    if table.empty:
        return [title, "", "No finished run yet.", ""]
    settings = [stored_scenario(sweep_dir / run_dir).algorithm for run_dir in table["run_dir"]]
    # named as sweep grid parameters are, so that metrics() carries them onto every evaluation
    table = table.assign(**{"algorithm.optimizer": [a.optimizer for a in settings],
                            "algorithm.lr": [a.lr for a in settings]})
    names = {"algorithm.optimizer": "optimizer", "algorithm.lr": "lr"}
    curves = metrics(sweep_dir, table).dropna(subset=["accuracy"]).rename(columns=names)
    summary = _ablation_summary(table.rename(columns=names), curves, ["optimizer", "lr"])
    summary = summary.sort_values(["optimizer", "lr"])
    grid = sns.relplot(data=curves, x="round", y="accuracy", hue="lr", col="optimizer", kind="line",
                       palette="viridis", hue_norm=LogNorm(), legend="full", height=3.6, aspect=1.3)
    grid.set_axis_labels("round", "test accuracy (10,000 images)")
    grid.figure.savefig(out / "optimizer_ablation_accuracy.png", dpi=110)
    return [title, "", markdown_table(summary, ".4f"), "", "![optimiser ablation](optimizer_ablation_accuracy.png)",
            ""]


def table2_section(sweep_dirs: list[Path], sparsity_dir: Path | None, out: Path) -> list[str]:
    """Table 2 (and, with ``sparsity_dir``, Fig. 1) as markdown lines; writes their figures."""
    table = pd.concat([runs(d).assign(run_dir=lambda f, d=d: [str(d.resolve() / r) for r in f["run_dir"]])
                       for d in sweep_dirs], ignore_index=True)
    finished = table["status"] == "completed"
    # a case and seed finished in another of the sweeps (a row run separately) is not pending
    done = set(zip(table.loc[finished, "case"], table.loc[finished, "seed"]))
    pending = [f"{case} (seed {seed})" for case, seed in zip(table.loc[~finished, "case"], table.loc[~finished, "seed"])
               if (case, seed) not in done]
    table = table[finished]
    curves = metrics(Path.cwd(), table)  # run_dir is absolute
    lines = ["## Table 2" + (" and Fig. 1" if sparsity_dir else ""), "",
             markdown_table(table2(table, last_rounds_accuracy(curves))), ""]
    accuracy_figure(curves, out / "table2_accuracy.png")
    lines += ["\"Last 50 rounds\" is the mean test accuracy over the evaluations in a run's last 50 rounds"
              + ("; a centralised row's round is one epoch over the training set, so for those rows it is the "
                 "mean over every epoch's evaluation" if _centralised(table["case"]).any() else "")
              + ".", ""]
    if pending:
        lines += [f"Not finished (no row): {', '.join(pending)}.", ""]
    lines += ["![accuracy](table2_accuracy.png)", ""]
    if sparsity_dir:
        lines += fig1_section(sparsity_dir, table, out)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table2", type=Path, nargs="*", help="sweeps of scenarios/paper/mpt_fl_mnist.yaml")
    parser.add_argument("--sparsity", type=Path, help="sweep of scenarios/paper/mpt_fl_sparsity.yaml")
    parser.add_argument("--ablation", type=Path, help="sweep of scenarios/paper/mpt_fl_ablation.yaml")
    parser.add_argument("--optimizer-ablation", type=Path, help="sweep of scenarios/paper/mpt_fl_1_1_ablation.yaml")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder for TABLE.md and the figures (the committed report is analysis/mpt_fl)")
    args = parser.parse_args()
    if args.sparsity and not args.table2:
        parser.error("--sparsity takes keep 0.2 and FedAvg's line from the Table 2 sweeps: give them too")
    if not (args.table2 or args.ablation or args.optimizer_ablation):
        parser.error("give a Table 2 sweep, --ablation, --optimizer-ablation, or several")
    require_sweeps(parser, [*((sweep, ("mpt_fl_mnist",)) for sweep in args.table2),
                            (args.sparsity, ("mpt_fl_sparsity",)), (args.ablation, ("mpt_fl_ablation",)),
                            (args.optimizer_ablation, ("mpt_fl_1_1_ablation",))])
    args.out.mkdir(parents=True, exist_ok=True)
    lines = ["# MPT-FL reproduction", ""]
    if args.table2:
        lines += table2_section(args.table2, args.sparsity, args.out)
    if args.ablation:
        lines += ablation(args.ablation, args.out)
    if args.optimizer_ablation:
        lines += optimizer_ablation(args.optimizer_ablation, args.out)
    (args.out / "TABLE.md").write_text("\n".join(lines), encoding="utf-8")
    print(args.out / "TABLE.md")


if __name__ == "__main__":
    main()
