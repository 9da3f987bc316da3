"""MPT-FL reproduction report: the paper's Table 2 and Fig. 1 beside what edgesim measured.

Usage:
    python analysis/mpt_fl_report.py TABLE2_SWEEP_DIR [--sparsity SPARSITY_SWEEP_DIR] [--out analysis/mpt_fl]

TABLE2_SWEEP_DIR comes from `edgesim sweep scenarios/paper/mpt_fl_mnist.yaml`,
SPARSITY_SWEEP_DIR from `edgesim sweep scenarios/paper/mpt_fl_sparsity.yaml`.
Writes REPORT.md, table2_accuracy.png and (with --sparsity) fig1_sparsity.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from sweep_frames import markdown_table, mean_std, metrics, runs

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
}


def _bytes(value) -> str:
    return "–" if pd.isna(value) else f"{int(value):,}"


def _hours(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "not reached"
    return f"{values.mean() / 3600:.2f} h" + (f" (n={len(values)})" if len(values) > 1 else "")


def table2(table: pd.DataFrame) -> pd.DataFrame:
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
            "rounds": int(first["rounds"]),
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
    federated = curves[~curves["case"].str.endswith("central")]
    sns.lineplot(data=federated, x="round", y="accuracy", hue="method", marker="o", ax=left, errorbar=None)
    sns.lineplot(data=federated, x="hours", y="accuracy", hue="method", marker="o", ax=right, errorbar=None,
                 legend=False)
    left.set(title="Test accuracy per round", xlabel="round", ylabel="test accuracy (10,000 images)")
    right.set(title="Test accuracy over simulated time (IoT fleet)", xlabel="simulated time (h)", ylabel="")
    left.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def sparsity_figure(table: pd.DataFrame, fedavg_best: pd.Series, path: Path) -> pd.DataFrame:
    table = table[table["status"] == "completed"]
    summary = (table.groupby("algorithm.keep")["best_accuracy"].agg(["mean", "std", "count"]).reset_index()
               .assign(pruned=lambda f: 100 * (1 - f["algorithm.keep"])))
    figure = Figure(figsize=(6, 4))
    ax = figure.subplots()
    ax.errorbar(summary["pruned"], 100 * summary["mean"], yerr=100 * summary["std"].fillna(0), marker="o",
                label="MPT-FL 1/32 (measured)")
    if not fedavg_best.dropna().empty:
        ax.axhline(100 * fedavg_best.mean(), color="grey", ls="--", label="FedAvg (measured)")
    ax.set(xlabel="pruned weights (%)", ylabel="best test accuracy (%)", title="Fig. 1: accuracy vs pruning ratio")
    ax.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table2", type=Path)
    parser.add_argument("--sparsity", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "mpt_fl")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    table = runs(args.table2)
    pending = table.loc[table["status"] != "completed", "case"].tolist()
    table = table[table["status"] == "completed"]
    rows = table2(table)
    accuracy_figure(metrics(args.table2, table), args.out / "table2_accuracy.png")
    lines = ["# MPT-FL reproduction: Table 2" + (" and Fig. 1" if args.sparsity else ""), "",
             markdown_table(rows), ""]
    if pending:
        lines += [f"Not finished (no row): {', '.join(pending)}.", ""]
    lines += ["![accuracy](table2_accuracy.png)", ""]
    if args.sparsity:
        fedavg_best = table.loc[table["case"] == "fedavg", "best_accuracy"]
        sparsity = sparsity_figure(runs(args.sparsity), fedavg_best, args.out / "fig1_sparsity.png")
        lines += ["## Fig. 1: accuracy vs pruning ratio", "",
                  markdown_table(sparsity.rename(columns={"algorithm.keep": "keep", "mean": "best acc",
                                                          "count": "seeds"})), "", "![sparsity](fig1_sparsity.png)", ""]
    (args.out / "TABLE.md").write_text("\n".join(lines), encoding="utf-8")
    print(args.out / "TABLE.md")


if __name__ == "__main__":
    main()
