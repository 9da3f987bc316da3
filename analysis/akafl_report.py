"""AKAFL-RJ reproduction and the straggler what-if study, from sweep directories.

Usage:
    python analysis/akafl_report.py --paper PAPER_SWEEP_DIR [--whatif WHATIF_SWEEP_DIR] [--out analysis/akafl]

PAPER_SWEEP_DIR comes from `edgesim sweep scenarios/paper/akafl_rj_mnist.yaml`,
WHATIF_SWEEP_DIR from `edgesim sweep scenarios/stragglers_whatif.yaml`.
Writes TABLE.md and the figures next to it.

DevAccuracy over test accuracy is computed the paper's way,
``Dev <- d2 Dev + (1 - d2) |A - A_hat_prev|`` with ``A_hat <- d1 A_hat + (1 - d1) A``
(d1 = d2 = 0.9), over the test evaluations of each run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from sweep_frames import markdown_table, metrics, runs

PAPER = {  # case -> (accuracy last 1000 / 500, DevAccuracy last 1000 / 500)
    "akafl": ("0.9624 / 0.9660", "0.0020 / 0.0013"),
    "akafl_r": ("0.9716 / 0.9736", "0.0019 / 0.0016"),
    "akafl_rj": ("≥ AKAFL-R + 0.85 pp", "~80% below AKAFL-R"),
}


def dev_accuracy(accuracy: pd.Series, d1: float = 0.9, d2: float = 0.9) -> pd.Series:
    a_hat, dev, out = None, 0.0, []
    for value in accuracy:
        if a_hat is None:
            a_hat = value
        else:
            dev = d2 * dev + (1 - d2) * abs(value - a_hat)
            a_hat = d1 * a_hat + (1 - d1) * value
        out.append(dev)
    return pd.Series(out, index=accuracy.index)


def late_means(curve: pd.DataFrame, last: int) -> tuple[float, float]:
    end = curve["round"].max()
    window = curve[curve["round"] > end - last]
    return window["accuracy"].mean(), window["dev"].mean()


def paper_table(table: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for case, group in curves.groupby("case", sort=False):
        acc_1000, dev_1000 = late_means(group, 1000)
        acc_500, dev_500 = late_means(group, 500)
        summary = table[table["case"] == case].iloc[0]
        paper_acc, paper_dev = PAPER.get(case, ("–", "–"))
        rows.append({
            "method": case, "iterations": int(group["round"].max()),
            "paper acc (last 1000 / 500)": paper_acc,
            "measured acc (last 1000 / 500)": f"{acc_1000:.4f} / {acc_500:.4f}",
            "paper DevAccuracy": paper_dev,
            "measured DevAccuracy": f"{dev_1000:.4f} / {dev_500:.4f}",
            "judgement keeps": summary.get("model.judgement_keeps", "–"),
            "simulated time (s)": f"{summary['sim_time_s']:.1f}",
        })
    return pd.DataFrame(rows)


def iteration_figures(curves: pd.DataFrame, out: Path) -> list[str]:
    """K over iterations, time per iteration, learning-rate histogram, dominance, accuracy and DevAccuracy."""
    weights = curves["max_weight"] if "max_weight" in curves else pd.Series(float("nan"), index=curves.index)
    curves = curves.assign(step_time=curves.groupby("case")["sim_time_s"].diff(),
                           dominant=(weights > 0.5).astype(float).where(weights.notna()))
    figure = Figure(figsize=(13, 8))
    axes = figure.subplots(2, 3).ravel()
    sns.lineplot(data=curves, x="round", y="k", hue="case", ax=axes[0], errorbar=None)
    axes[0].set(title="K over iterations (Fig. 3)", xlabel="iteration")
    rolling = curves.assign(step_time=curves.groupby("case")["step_time"].transform(lambda s: s.rolling(100, 1).mean()))
    sns.lineplot(data=rolling, x="round", y="step_time", hue="case", ax=axes[1], errorbar=None, legend=False)
    axes[1].set(title="simulated time per iteration, rolling 100 (Fig. 6)", xlabel="iteration", ylabel="s")
    sns.histplot(data=curves, x="lr", hue="case", ax=axes[2], bins=40, log_scale=True, element="step", legend=False)
    axes[2].set(title="learning rates (Figs. 5, 10)")
    share = curves.assign(dominant=curves.groupby("case")["dominant"].transform(lambda s: s.rolling(200, 1).mean()))
    sns.lineplot(data=share, x="round", y="dominant", hue="case", ax=axes[3], errorbar=None, legend=False)
    axes[3].set(title="share of iterations with one weight > 0.5 (Fig. 9)", xlabel="iteration", ylabel="share")
    evaluated = curves.dropna(subset=["accuracy"])
    sns.lineplot(data=evaluated, x="round", y="accuracy", hue="case", ax=axes[4], errorbar=None, legend=False)
    axes[4].set(title="test accuracy (Fig. 11)", xlabel="iteration")
    sns.lineplot(data=evaluated, x="round", y="dev", hue="case", ax=axes[5], errorbar=None, legend=False)
    axes[5].set(title="DevAccuracy of test accuracy (Fig. 12)", xlabel="iteration")
    figure.tight_layout()
    figure.savefig(out / "akafl_iterations.png", dpi=110)
    return ["akafl_iterations.png"]


def staleness_figure(sweep_dir: Path, table: pd.DataFrame, out: Path, name: str, hue: str) -> str:
    frames = []
    for _, row in table.iterrows():
        path = sweep_dir / row["run_dir"] / "events.csv"
        if path.is_file():
            events = pd.read_csv(path, usecols=["kind", "staleness"])
            applied = events.loc[events["kind"] == "update_applied", ["staleness"]]
            frames.append(applied.assign(**{hue: row[hue], "case": row["case"]}))
    data = pd.concat(frames, ignore_index=True)
    grid = sns.displot(data=data, x="staleness", col="case", hue=hue if hue != "case" else None, col_wrap=3,
                       height=2.8, aspect=1.3, element="step", stat="density", common_norm=False,
                       facet_kws={"sharey": False})
    grid.figure.savefig(out / name, dpi=110)
    return name


def whatif(sweep_dir: Path, out: Path) -> list[str]:
    table = runs(sweep_dir)
    table["stragglers"] = table["fleet.stragglers"].str.replace(r'[{}"]', "", regex=True)
    figure = Figure(figsize=(10, 5))
    ax = figure.subplots()
    reached = table.assign(minutes=table["time_to_target_s"] / 60)
    sns.barplot(data=reached, y="stragglers", x="minutes", hue="case", ax=ax, errorbar=("pi", 100))
    ax.set(title="time to target accuracy (simulated minutes; missing bar = never reached)",
           xlabel="simulated minutes", ylabel="")
    figure.tight_layout()
    figure.savefig(out / "whatif_time_to_target.png", dpi=110)
    summary = (reached.groupby(["stragglers", "case"], sort=False)
               .agg(minutes=("minutes", "mean"), reached=("time_to_target_s", "count"), runs=("seed", "count"),
                    best_accuracy=("best_accuracy", "mean")).reset_index())
    (out / "WHATIF.md").write_text("# Straggler what-if: time to target\n\n" + markdown_table(summary, ".2f")
                                   + "\n\n![time to target](whatif_time_to_target.png)\n\n"
                                   + "![staleness](whatif_staleness.png)\n", encoding="utf-8")
    staleness_figure(sweep_dir, table, out, "whatif_staleness.png", "stragglers")
    return ["whatif_time_to_target.png", "whatif_staleness.png", "WHATIF.md"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", type=Path)
    parser.add_argument("--whatif", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "akafl")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    if args.paper:
        table = runs(args.paper)
        curves = metrics(args.paper, table)
        curves["dev"] = float("nan")
        for case, group in curves.groupby("case"):
            evaluated = group.dropna(subset=["accuracy"])
            curves.loc[evaluated.index, "dev"] = dev_accuracy(evaluated["accuracy"])
        rows = paper_table(table, curves)
        written += iteration_figures(curves, args.out)
        written.append(staleness_figure(args.paper, table, args.out, "akafl_staleness.png", "case"))
        (args.out / "TABLE.md").write_text(
            "# AKAFL-RJ: paper vs measured\n\n" + markdown_table(rows) + "\n\n![iterations](akafl_iterations.png)\n\n"
            "![staleness](akafl_staleness.png)\n", encoding="utf-8")
        written.append("TABLE.md")
    if args.whatif:
        written += whatif(args.whatif, args.out)
    for name in written:
        print(args.out / name)


if __name__ == "__main__":
    main()
