"""AKAFL-RJ reproduction: the paper regime, the adapted-K sweep and the physical fleet.

Usage:
    python analysis/akafl_report.py [--paper DIR] [--adapted-k DIR] [--physical DIR]
                                    --out analysis/akafl

Each DIR is the sweep directory of one scenario:
``scenarios/paper/akafl_rj_mnist.yaml`` (--paper), ``akafl_rj_adapted_k.yaml``
(--adapted-k) and ``akafl_rj_physical.yaml`` (--physical). Only variants whose status is
``completed`` count; a table says how many seeds each row has. Writes
TABLE.md and the figures next to it. (The straggler what-if study needs no script:
``edgesim plot`` on its sweep writes its summary and figures.)

The paper's Table 2 reports mean test accuracy and DevAccuracy over the last
1000 / 500 iterations. DevAccuracy is computed the paper's way,
``Dev <- d2 Dev + (1 - d2) |A - A_hat_prev|`` with ``A_hat <- d1 A_hat + (1 - d1) A``
(d1 = d2 = 0.9), over each run's test evaluations (every 20 iterations here,
on a 2000-image subset). Mechanism figures (ALGORITHMS.md §2.7) come from
metrics.csv: mean staleness (WKAFL's tau = edgesim's staleness + 1), the
share of iterations whose largest staleness weight w_k exceeds 0.5 (one
gradient dominates the estimate), the share of steps with eta < 1e-4, and
simulated time per iteration.
"""

from __future__ import annotations

import argparse
from functools import lru_cache
from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from sweep_frames import markdown_table, mean_std, metrics, require_sweeps, runs

PAPER = {  # case -> (accuracy last 1000 / 500, DevAccuracy last 1000 / 500), Table 2 of the paper
    "akafl": ("96.24 / 96.60", "0.0020 / 0.0013"),
    "akafl_r": ("97.16 / 97.36", "0.0019 / 0.0016"),
    "akafl_rj": ("≥ AKAFL-R + 0.85 pp", "~80% below AKAFL-R"),
}
SMALL_STEP = 1e-4  # Fig. 10: most steps are below this
DOMINANT = 0.5  # a staleness weight above this: one gradient dominates the estimate (Fig. 9)


def dev_accuracy(accuracy: pd.Series, d1: float = 0.9, d2: float = 0.9) -> pd.Series:
    """The paper's DevAccuracy after each value of an accuracy series (same index)."""
    a_hat, dev, out = None, 0.0, []
    for value in accuracy:
        if a_hat is None:
            a_hat = value
        else:
            dev = d2 * dev + (1 - d2) * abs(value - a_hat)
            a_hat = d1 * a_hat + (1 - d1) * value
        out.append(dev)
    return pd.Series(out, index=accuracy.index)


def load(sweep_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(finished runs, their stacked metrics with a ``dev`` column)."""
    table = runs(sweep_dir)
    if "case" not in table:  # a sweep of grid points only
        table["case"] = "–"
    table = table[table["status"] == "completed"].reset_index(drop=True)
    curves = metrics(sweep_dir, table)
    if curves.empty:
        return table, curves
    curves["dev"] = float("nan")
    for _, group in curves.groupby("run_dir", sort=False):
        evaluated = group.dropna(subset=["accuracy"])
        curves.loc[evaluated.index, "dev"] = dev_accuracy(evaluated["accuracy"])
    return table, curves


def per_run(table: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """One row per finished run: late means and the mechanism figures."""
    rows = []
    for run_dir, run in curves.groupby("run_dir", sort=False):
        end = run["round"].max()
        summary = table[table["run_dir"] == run_dir].iloc[0]
        row = {"case": run["case"].iloc[0], "seed": summary["seed"], "iterations": end,
               "judged_on": summary.get("model.judgement_data", float("nan"))}
        for last in (1000, 500):
            window = run[run["round"] > end - last]
            row[f"acc_{last}"], row[f"dev_{last}"] = window["accuracy"].mean(), window["dev"].mean()
        row["final_accuracy"] = summary["final_accuracy"]
        row["keeps"] = summary.get("model.judgement_keeps", float("nan"))
        row["tau"] = run["mean_staleness"].mean() + 1
        weights = run["max_weight"].dropna() if "max_weight" in run else pd.Series(dtype=float)
        row["dominant"] = (weights > DOMINANT).mean() if len(weights) else float("nan")  # none without weights
        row["small_steps"] = (run["lr"] < SMALL_STEP).mean()
        row["k_end"] = run["k"].iloc[-1]
        row["time_per_iteration_ms"] = 1000 * summary["sim_time_s"] / end
        rows.append(row)
    return pd.DataFrame(rows)


def _mean_std(values: pd.Series, digits: int = 4) -> str:
    """``mean ± std`` of raw values (no percent, no count)."""
    return mean_std(values, scale=1.0, digits=digits, count=False)


def table2(results: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 2 beside the measured mean ± std over seeds."""
    rows = []
    for case, group in results.groupby("case", sort=False):
        paper_acc, paper_dev = PAPER.get(case, ("–", "–"))
        iterations = f"{group['iterations'].min():.0f}" + (
            "" if group["iterations"].nunique() == 1 else f"–{group['iterations'].max():.0f}")
        rows.append({
            "case": case, "seeds": len(group), "iterations": iterations,
            "paper acc % (last 1000 / 500)": paper_acc,
            "measured acc % (last 1000 / 500)": f"{mean_std(group['acc_1000'])} / {mean_std(group['acc_500'])}",
            "final acc, full test %": mean_std(group["final_accuracy"]),
            "paper DevAcc": paper_dev,
            "measured DevAcc (last 1000 / 500)": f"{_mean_std(group['dev_1000'])} / {_mean_std(group['dev_500'])}",
            "judgement keeps": _mean_std(group["keeps"], 0),
        })
    return pd.DataFrame(rows)


def mechanisms(results: pd.DataFrame) -> pd.DataFrame:
    """Mean staleness, dominance, small steps, final K and time per iteration, mean over seeds."""
    rows = []
    for case, group in results.groupby("case", sort=False):
        rows.append({
            "case": case, "seeds": len(group),
            "mean tau": _mean_std(group["tau"], 0),
            f"iterations with one w_k > {DOMINANT}": _mean_std(group["dominant"], 3),
            f"steps with eta < {SMALL_STEP:g}": _mean_std(group["small_steps"], 3),
            "K at the end": _mean_std(group["k_end"], 0),
            "simulated ms per iteration": _mean_std(group["time_per_iteration_ms"], 3),
        })
    return pd.DataFrame(rows)


def targets(results: pd.DataFrame) -> list[str]:
    """The issue's targets for the paper regime, each met or missed by how much (last 500 iterations)."""
    means = results.groupby("case")[["acc_500", "dev_500", "keeps"]].mean()

    def acc(case):
        return means.at[case, "acc_500"] * 100 if case in means.index else None

    lines = []
    if acc("akafl") is not None:
        gap = acc("akafl") - 95
        lines.append(f"AKAFL ≥ 95% (paper 96.60): {acc('akafl'):.2f}% — "
                     + ("met" if gap >= 0 else f"missed by {-gap:.2f} pp"))
    if acc("akafl") is not None and acc("akafl_r") is not None:
        gap = acc("akafl_r") - acc("akafl")
        lines.append(f"AKAFL-R above AKAFL (paper +0.76 pp): {gap:+.2f} pp — " + ("met" if gap > 0 else "missed"))
    if acc("akafl_r") is not None and acc("akafl_rj") is not None:
        gap = acc("akafl_rj") - acc("akafl_r")
        dev_r, dev_rj = means.at["akafl_r", "dev_500"], means.at["akafl_rj", "dev_500"]
        keeps = means.at["akafl_rj", "keeps"]
        lines.append(f"AKAFL-RJ ≥ AKAFL-R + 0.85 pp: {gap:+.2f} pp — "
                     + ("met" if gap >= 0.85 else f"missed by {0.85 - gap:.2f} pp"))
        lines.append(f"AKAFL-RJ DevAccuracy clearly lower (paper ~80% lower): {dev_rj:.4f} vs {dev_r:.4f} "
                     f"({(dev_rj / dev_r - 1) * 100:+.0f}%)")
        iterations = results.loc[results["case"] == "akafl_rj", "iterations"].mean()
        lines.append(f"judgement keeps roughly 100-200 in 5000 iterations (paper 138): {keeps:.0f} "
                     f"in {iterations:.0f}")
    return lines


def iteration_figures(curves: pd.DataFrame, out: Path, name: str) -> str:
    """K over iterations, time per iteration, learning rates, dominance, accuracy and DevAccuracy (seed 1)."""
    curves = curves[curves["seed"] == curves["seed"].min()]
    curves = curves.assign(step_time=curves.groupby("case")["sim_time_s"].diff() * 1000,
                           dominant=(curves["max_weight"] > DOMINANT).astype(float).where(curves["max_weight"].notna())
                           if "max_weight" in curves else float("nan"))
    figure = Figure(figsize=(13, 8))
    axes = figure.subplots(2, 3).ravel()
    sns.lineplot(data=curves, x="round", y="k", hue="case", ax=axes[0], errorbar=None)
    axes[0].set(title="K over iterations (Fig. 3)", xlabel="iteration")
    rolling = curves.assign(step_time=curves.groupby("case")["step_time"].transform(lambda s: s.rolling(100, 1).mean()))
    sns.lineplot(data=rolling, x="round", y="step_time", hue="case", ax=axes[1], errorbar=None, legend=False)
    axes[1].set(title="simulated time per iteration, rolling 100 (Fig. 6)", xlabel="iteration", ylabel="ms")
    sns.histplot(data=curves, x="lr", hue="case", ax=axes[2], bins=40, log_scale=True, element="step", legend=False)
    axes[2].axvline(SMALL_STEP, color="grey", linestyle=":")
    axes[2].set(title="learning rates (Figs. 5, 10)")
    share = curves.assign(dominant=curves.groupby("case")["dominant"].transform(lambda s: s.rolling(200, 1).mean()))
    sns.lineplot(data=share, x="round", y="dominant", hue="case", ax=axes[3], errorbar=None, legend=False)
    axes[3].set(title=f"share of iterations with one w_k > {DOMINANT} (Fig. 9)", xlabel="iteration", ylabel="share")
    evaluated = curves.dropna(subset=["accuracy"])
    sns.lineplot(data=evaluated, x="round", y="accuracy", hue="case", ax=axes[4], errorbar=None, legend=False)
    axes[4].set(title="test accuracy (Fig. 11)", xlabel="iteration")
    sns.lineplot(data=evaluated, x="round", y="dev", hue="case", ax=axes[5], errorbar=None, legend=False)
    axes[5].set(title="DevAccuracy of test accuracy (Fig. 12)", xlabel="iteration", yscale="log")
    figure.tight_layout()
    figure.savefig(out / name, dpi=110)
    return name


@lru_cache(maxsize=None)
def read_events(path: Path) -> pd.DataFrame:
    """The columns of a run's events.csv the figures and tables use, read once per run."""
    return pd.read_csv(path, usecols=["device", "kind", "staleness"])


def staleness_figure(sweep_dir: Path, table: pd.DataFrame, out: Path, name: str, hue: str) -> str | None:
    """Histograms of the staleness of applied updates (Fig. 4), one panel per case, from events.csv;
    None when no run has its events.csv (an archived sweep keeps only the small tables)."""
    frames = []
    for _, row in table.iterrows():
        path = sweep_dir / row["run_dir"] / "events.csv"
        if path.is_file() and row["seed"] == table["seed"].min():
            events = read_events(path)
            applied = events.loc[events["kind"] == "update_applied", ["staleness"]]
            frames.append(applied.assign(**{hue: row[hue], "case": row["case"]}))
    if not frames:
        print(f"no events.csv in {sweep_dir}: {name} not drawn")
        return None
    data = pd.concat(frames, ignore_index=True)
    grid = sns.displot(data=data, x="staleness", col="case", hue=hue if hue != "case" else None, col_wrap=3,
                       height=2.8, aspect=1.3, element="step", stat="density", common_norm=False,
                       facet_kws={"sharey": False})
    grid.figure.savefig(out / name, dpi=110)
    return name


def section(title: str, sweep_dir: Path, out: Path, prefix: str, with_targets: bool = False) -> tuple[str, list[str]]:
    """One study's markdown (tables, targets, figures) and the files it wrote."""
    table, curves = load(sweep_dir)
    if curves.empty:
        return f"## {title}\n\nNo finished run in {sweep_dir.name} yet.\n", []
    results = per_run(table, curves)
    text = [f"## {title}", ""] + not_counted(runs(sweep_dir)) + [markdown_table(table2(results)), ""]
    leaking = results.loc[results["judged_on"].astype(str).str.contains("leaks"), "case"].unique()
    if len(leaking):
        text += [f"Judged on the test series, so their test accuracies leak test data: {', '.join(leaking)}.", ""]
    if (results["iterations"] < 1000).any():
        text += ["Runs shorter than 1000 iterations: their 'last 1000' window is the whole run.", ""]
    text += ["Mechanisms:", "", markdown_table(mechanisms(results))]
    if with_targets:
        text += ["", "Targets:", ""] + [f"- {line}" for line in targets(results)]
    figures = [iteration_figures(curves, out, f"{prefix}_iterations.png"),
               staleness_figure(sweep_dir, table, out, f"{prefix}_staleness.png", "case")]
    figures = [name for name in figures if name is not None]
    text += [""] + [f"![{name}]({name})" for name in figures]
    return "\n".join(text) + "\n", figures


def arrivals_by_group(sweep_dir: Path, table: pd.DataFrame) -> pd.DataFrame:
    """Per finished run with its events.csv and device group (the name before the device's number): the
    group's share of the fleet and of the updates applied, and their mean staleness."""
    frames = []
    for _, row in table.iterrows():
        path = sweep_dir / row["run_dir"] / "events.csv"
        if row["status"] == "completed" and path.is_file():
            events = read_events(path)
            events = events[events["device"] != "server"]
            groups = events["device"].str.rsplit("-", n=1).str[0]
            devices = events.assign(group=groups).drop_duplicates("device").groupby("group").size()
            applied = events[events["kind"] == "update_applied"].assign(group=groups)
            frames.append(pd.DataFrame({
                "case": row["case"], "fleet share": devices / devices.sum(),
                "share of applied updates": applied.groupby("group").size() / len(applied),
                "mean staleness": applied.groupby("group")["staleness"].mean()}).rename_axis("group").reset_index())
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def not_counted(table: pd.DataFrame) -> list[str]:
    """A line naming the runs the tables leave out (not completed), with their status and reason."""
    left_out = table[table["status"] != "completed"]
    if left_out.empty:
        return []
    names = [f"{row.get('case', row['run_dir'])} seed {row['seed']} ({row['status']}"
             + (f": {row['reason']}" if isinstance(row.get("reason"), str) else "") + ")"
             for _, row in left_out.iterrows()]
    return [f"Not counted (not completed): {'; '.join(names)}.", ""]


def adapted_k(sweep_dir: Path) -> str:
    """Accuracy over the last 500 iterations and final K for each (k_min, eps_k)."""
    table, curves = load(sweep_dir)
    if curves.empty:
        return f"## Adapted K: k_min x eps_k\n\nNo finished run in {sweep_dir.name} yet.\n"
    results = per_run(table, curves.assign(case=curves["algorithm.k_min"].astype(str) + " / "
                                           + curves["algorithm.eps_k"].astype(str)))
    results = results.rename(columns={"case": "k_min / eps_k"})
    shown = results[["k_min / eps_k", "seed", "acc_1000", "acc_500", "final_accuracy", "k_end", "tau",
                     "small_steps", "time_per_iteration_ms"]]
    return "## Adapted K: k_min x eps_k (AKAFL-R)\n\n" + markdown_table(shown) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", type=Path, help="sweep of scenarios/paper/akafl_rj_mnist.yaml")
    parser.add_argument("--adapted-k", type=Path, help="sweep of scenarios/paper/akafl_rj_adapted_k.yaml")
    parser.add_argument("--physical", type=Path, help="sweep of scenarios/paper/akafl_rj_physical.yaml")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder for TABLE.md and the figures (the committed report is analysis/akafl; "
                             "TABLE.md holds only the sections asked for)")
    args = parser.parse_args()
    require_sweeps(parser, [(args.paper, ("akafl_rj_mnist",)), (args.adapted_k, ("akafl_rj_adapted_k",)),
                            (args.physical, ("akafl_rj_physical",))])
    args.out.mkdir(parents=True, exist_ok=True)
    written, parts = [], ["# AKAFL-RJ: paper vs measured\n"]
    if args.paper:
        text, figures = section("Paper regime (akafl_rj_mnist.yaml)", args.paper, args.out, "paper", True)
        parts.append(text)
        written += figures
    if args.adapted_k:
        parts.append(adapted_k(args.adapted_k))
    if args.physical:
        text, figures = section("Physical fleet (akafl_rj_physical.yaml)", args.physical, args.out, "physical")
        groups = arrivals_by_group(args.physical, runs(args.physical))
        if not groups.empty:
            text += ("\nWho arrives (device groups, per run):\n\n"
                     + markdown_table(groups, ".3f") + "\n")
        parts.append(text)
        written += figures
    if len(parts) > 1:
        (args.out / "TABLE.md").write_text("\n".join(parts), encoding="utf-8")
        written.append("TABLE.md")
    for name in written:
        print(args.out / name)


if __name__ == "__main__":
    main()
