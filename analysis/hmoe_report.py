"""HMoE reproduction report: Table 1 of the paper beside what edgesim measured.

Usage:
    python analysis/hmoe_report.py SWEEP_DIR [SWEEP_DIR ...] [--out analysis/hmoe]

Each SWEEP_DIR comes from `edgesim sweep scenarios/paper/hmoe_tinyimagenet.yaml` (or the
CIFAR-100 or full-scale scenario; several folders, e.g. one per seed, are read as one
table); together they must hold the cases ``flat_softmax`` and ``hmoe`` (Table 1's costs
use the first run of each), and may hold more cases and seeds, whose final Info-F1 is
tabled over seeds beside the chance level. The
per-round costs are measured here, now, from the resolved scenarios of those
runs (see hmoe_costs.py). Writes REPORT-less TABLE.md, costs.csv and figures.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from hmoe_costs import cost_table
from sweep_frames import markdown_table, metrics, require_sweeps, runs, stored_scenario


# dataset -> method -> (Info-F1, ms / round, MB / round)
PAPER = {
    "cifar100": {"flat_softmax": ("0.54632", "97", "61.9"), "hmoe": ("0.43977", "72 / 3", "59.7 / 4.1")},
    "tiny_imagenet": {"flat_softmax": ("0.37979", "681", "537.0"), "hmoe": ("0.31015", "649 / 5", "472.7 / 8.6")},
}


def _summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def sweep_runs(sweep_dirs: list[Path]) -> pd.DataFrame:
    """The runs of several sweep folders as one table, each row's folder in ``run_path``."""
    tables = [runs(d).assign(run_path=lambda t, d=d: [d / r for r in t["run_dir"]]) for d in sweep_dirs]
    return pd.concat(tables, ignore_index=True)


def _ratio(value: float, reference: float) -> str:
    return f"{value:.1f} ({100 * value / reference:.1f}%)"


def _chance(*summaries: dict) -> str:
    """The Info-F1 of random guessing a run recorded (runs from before it was recorded have none)."""
    values = [s["model"]["info_f1_chance"] for s in summaries if "info_f1_chance" in s.get("model", {})]
    return f"{values[0]:.4f}" if values else "–"


def table1(costs: pd.DataFrame, flat: dict, hmoe: dict, dataset: str) -> pd.DataFrame:
    paper = PAPER.get(dataset, {})
    experts, base = costs.iloc[1:], costs.iloc[0]
    biggest, smallest = experts["peak_mb"].idxmax(), experts["peak_mb"].idxmin()
    flat_final, hmoe_final = flat["final_metrics"], hmoe["final_metrics"]
    rows = [
        {"method": "Flat softmax", "paper Info-F1": paper.get("flat_softmax", ("–",))[0],
         "Info-F1": f"{flat_final['info_f1']:.4f}",
         "leaf accuracy": f"{flat_final['accuracy']:.4f}",
         "paper ms / round": paper.get("flat_softmax", ("", "–"))[1],
         "host ms / round": f"{base['host_ms']:.1f} (100%)",
         "paper MB / round": paper.get("flat_softmax", ("", "", "–"))[2],
         "peak MB / round": f"{base['peak_mb']:.1f} (100%)",
         "simulated s / task": f"{base['sim_s']:.2f}", "payload B": f"{int(base['payload_b']):,}"},
        {"method": "HMoE, greedy (max / min over experts)", "paper Info-F1": paper.get("hmoe", ("–",))[0],
         "Info-F1": f"{hmoe_final['info_f1_greedy']:.4f}",
         "leaf accuracy": f"{hmoe_final['accuracy_greedy']:.4f}",
         "paper ms / round": paper.get("hmoe", ("", "–"))[1],
         "host ms / round": f"{_ratio(experts['host_ms'].max(), base['host_ms'])} / "
                            f"{_ratio(experts['host_ms'].min(), base['host_ms'])}",
         "paper MB / round": paper.get("hmoe", ("", "", "–"))[2],
         "peak MB / round": f"{_ratio(costs.loc[biggest, 'peak_mb'], base['peak_mb'])} / "
                            f"{_ratio(costs.loc[smallest, 'peak_mb'], base['peak_mb'])}",
         "simulated s / task": f"{experts['sim_s'].max():.2f} / {experts['sim_s'].min():.2f}",
         "payload B": f"{int(experts['payload_b'].max()):,} / {int(experts['payload_b'].min()):,}"},
        {"method": "HMoE, beam search (ours, no extra training)", "paper Info-F1": "–",
         "Info-F1": f"{hmoe_final['info_f1_beam']:.4f}",
         "leaf accuracy": f"{hmoe_final['accuracy_beam']:.4f}",
         "paper ms / round": "–", "host ms / round": "as above", "paper MB / round": "–",
         "peak MB / round": "as above", "simulated s / task": "as above", "payload B": "as above"},
        {"method": "Flat softmax, majority node (not a leaf)", "paper Info-F1": "–",
         "Info-F1": f"{flat_final['info_f1_majority']:.4f}", "leaf accuracy": "–",
         "paper ms / round": "–", "host ms / round": "–", "paper MB / round": "–", "peak MB / round": "–",
         "simulated s / task": "–", "payload B": "–"},
    ]
    return pd.DataFrame(rows)


def curves_figure(frame: pd.DataFrame, path: Path) -> None:
    figure = Figure(figsize=(7, 4))
    axis = figure.subplots()
    frame = frame.assign(hours=frame["sim_time_s"] / 3600)
    sns.lineplot(frame, x="hours", y="info_f1", hue="case", marker="o", ax=axis)
    axis.set(xlabel="simulated time (h)", ylabel="Info-F1 (greedy for HMoE)", xscale="log")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def costs_figure(costs: pd.DataFrame, path: Path) -> None:
    figure = Figure(figsize=(7, 4))
    axis = figure.subplots()
    experts = costs.iloc[1:]
    axis.scatter(experts["client_samples"], experts["host_ms"], label="experts", s=18)
    axis.axhline(costs.iloc[0]["host_ms"], color="C3", label="flat model")
    axis.set(xlabel="samples routed to the expert per client", ylabel="host ms per client task",
             xscale="log", yscale="log")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def over_seeds(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Final Info-F1 per case and inference rule, mean ± std over seeds, beside the chance level; and for
    each HMoE rule against flat softmax, and shrinking experts against shared ones, whether the difference
    exceeds the spread over seeds (the sum of the two standard deviations; never with one seed)."""
    finished = table[table["status"] == "completed"]
    summaries = {path: _summary(path) for path in finished["run_path"]}
    scores = []
    for _, row in finished.iterrows():
        final = summaries[row["run_path"]]["final_metrics"]
        for rule in ("greedy", "beam") if "info_f1_greedy" in final else ("flat",):
            scores.append({"case": row["case"], "rule": rule, "seed": row["seed"],
                           "info_f1": final["info_f1" if rule == "flat" else f"info_f1_{rule}"]})
    scores = pd.DataFrame(scores)
    if scores.empty:
        return scores, []
    stats = scores.groupby(["case", "rule"], sort=False)["info_f1"].agg(["mean", "std", "count"]).reset_index()
    chance = _chance(*summaries.values())
    shown = stats.assign(info_f1=[f"{m:.4f}" + (f" ± {sd:.4f}" if n > 1 else "") for m, sd, n in
                                  zip(stats["mean"], stats["std"], stats["count"])], chance=chance,
                         seeds=stats["count"])[["case", "rule", "seeds", "info_f1", "chance"]]
    verdicts = []
    flat = stats[stats["case"] == "flat_softmax"]
    for _, other in stats[stats["case"] != "flat_softmax"].iterrows():
        if not flat.empty:
            verdicts.append(_verdict(other, flat.iloc[0], "flat"))
        shared = stats[(stats["case"] == "hmoe") & (stats["rule"] == other["rule"])]
        if other["case"] == "hmoe_shrinking" and not shared.empty:
            verdicts.append(_verdict(other, shared.iloc[0], f"hmoe ({other['rule']})"))
    return shown, verdicts


def _verdict(other: pd.Series, base: pd.Series, base_name: str) -> str:
    gap, spread = other["mean"] - base["mean"], other["std"] + base["std"]
    name = f"{other['case']} ({other['rule']}) − {base_name}: {gap:+.4f}"
    if min(other["count"], base["count"]) < 2:
        return f"{name}, one seed: no ordering claim"
    beyond = "exceeds" if abs(gap) > spread else "does not exceed"
    return f"{name}, which {beyond} the spread over seeds ({spread:.4f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweeps", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, default=Path("analysis/hmoe"))
    args = parser.parse_args()
    require_sweeps(parser, [(sweep, ("hmoe_tinyimagenet", "hmoe_tinyimagenet_full", "hmoe_cifar100"))
                            for sweep in args.sweeps])
    table = sweep_runs(args.sweeps)
    run_of = table.drop_duplicates("case").set_index("case")["run_path"]  # each case's first run
    flat_scenario, hmoe_scenario = stored_scenario(run_of["flat_softmax"]), stored_scenario(run_of["hmoe"])
    args.out.mkdir(parents=True, exist_ok=True)
    costs = cost_table(flat_scenario, hmoe_scenario)
    costs.to_csv(args.out / "costs.csv", index=False, float_format="%.4f")
    flat, hmoe = _summary(run_of["flat_softmax"]), _summary(run_of["hmoe"])
    summary = table1(costs, flat, hmoe, hmoe_scenario.dataset.name)
    runs_table = pd.DataFrame([
        {"case": case, "rounds": s["rounds"], "simulated time (h)": f"{s['sim_time_s'] / 3600:.2f}",
         "wall time (s)": f"{s['wall_time_s']:.0f}", "experts": s["model"].get("experts", 1),
         "model bytes": f"{s['model']['model_bytes']:,}"}
        for case, s in (("flat_softmax", flat), ("hmoe", hmoe))])
    seeds, verdicts = over_seeds(table)
    (args.out / "TABLE.md").write_text(
        f"# Table 1 ({hmoe_scenario.dataset.name}): paper vs edgesim\n\n{markdown_table(summary)}\n\n"
        f"## The two runs\n\n{markdown_table(runs_table)}\n\n"
        f"## Final Info-F1 over seeds, beside chance\n\n{markdown_table(seeds)}\n\n"
        + "".join(f"- {line}\n" for line in verdicts), encoding="utf-8")
    by_sweep = table.groupby(table["run_path"].map(lambda path: path.parent))
    curves = pd.concat([metrics(sweep, rows) for sweep, rows in by_sweep], ignore_index=True)
    curves_figure(curves, args.out / "info_f1_over_time.png")
    costs_figure(costs, args.out / "cost_per_expert.png")
    print(args.out / "TABLE.md")


if __name__ == "__main__":
    main()
