"""MPT-FL's Fig. 1 (best accuracy against the pruning ratio) from a sweep of ``mpt_fl_sparsity.yaml``.

The sweep leaves keep 0.2 to Table 2's MPT-FL 1/32 row and FedAvg's line to Table 2's FedAvg row; both are
taken from the Table 2 runs only where those ran the Fig. 1 sweep's setting, and the section says why a run
was left out. Ratios are compared on the seeds they all ran; a ratio with more seeds also shows their mean ± std.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sweep_frames import markdown_table, mean_std, runs, stored_scenario


def differences(setting: dict, other: dict) -> list[str]:
    """The dotted keys at which two settings (``fig1_setting`` or ``baseline_setting``) differ, sorted."""
    setting, other = (pd.json_normalize(tree).iloc[0].to_dict() for tree in (setting, other))
    return sorted(key for key in setting.keys() | other.keys() if setting.get(key, "–") != other.get(key, "–"))


def fig1_setting(scenario) -> dict:
    """A run's resolved scenario without what Fig. 1's points may differ in: name, seed, pruning ratio."""
    setting = scenario.model_dump(mode="json", exclude={"sweep", "name", "seed"})
    setting["algorithm"].pop("keep")
    return setting


def baseline_setting(scenario) -> dict:
    """A run's resolved scenario without what FedAvg's line may differ in from Fig. 1's runs: name, seed and
    the algorithm (data, model, fleet, rounds and evaluation stay)."""
    return scenario.model_dump(mode="json", exclude={"sweep", "name", "seed", "algorithm"})


def fig1_inputs(finished: pd.DataFrame, ratios: set[float], reference, table2_runs: pd.DataFrame
                ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Fig. 1's points, FedAvg's runs and notes on what was left out.

    ``finished`` is the sweep's finished runs (``run_dir`` absolute), ``ratios`` every pruning ratio the sweep
    runs, finished or not, and ``reference`` the resolved scenario of one of its runs. Points: ``finished``
    and Table 2's finished runs of the same setting (``fig1_setting``) at a ratio the sweep does not run,
    i.e. the MPT-FL 1/32 row at keep 0.2 over all its seeds, which ``mpt_fl_sparsity.yaml`` leaves out rather
    than train again; ``source`` names each point's sweep. FedAvg: Table 2's finished FedAvg runs (``seed``,
    ``best_accuracy``) whose ``baseline_setting`` is the sweep's. A notes line names each left-out group and
    the keys it differs in."""
    setting, baseline = fig1_setting(reference), baseline_setting(reference)
    borrowed, left_out, fedavg_differ, notes = {}, {}, {}, []  # index in table2_runs -> ratio / differing keys
    for index, row in table2_runs[table2_runs["status"] == "completed"].iterrows():
        scenario = stored_scenario(Path(row["run_dir"]))
        keep = getattr(scenario.algorithm, "keep", None)
        if row["case"] == "fedavg":
            fedavg_differ[index] = differences(baseline, baseline_setting(scenario))
        elif keep is not None and keep not in ratios:
            differ = differences(setting, fig1_setting(scenario))
            if differ:
                left_out.setdefault(keep, set()).update(differ)
            else:
                borrowed[index] = keep
    for keep, differ in sorted(left_out.items()):
        if keep not in borrowed.values():
            notes.append(f"keep {keep:g}: Table 2's runs differ from the Fig. 1 sweep's setting in "
                         f"{', '.join(sorted(differ))}; not borrowed, so no point.")
    same = [index for index, differ in fedavg_differ.items() if not differ]
    if not fedavg_differ:
        notes.append("No finished FedAvg run in the Table 2 folders given: no FedAvg line.")
    elif not same:
        notes.append(f"FedAvg's Table 2 runs differ from the Fig. 1 sweep's setting in "
                     f"{', '.join(sorted(set().union(*fedavg_differ.values())))}: no FedAvg line.")
    table2 = table2_runs.loc[list(borrowed)].assign(**{"algorithm.keep": list(borrowed.values()), "source": "Table 2"})
    return (pd.concat([finished.assign(source="Fig. 1 sweep"), table2], ignore_index=True),
            table2_runs.loc[same, ["seed", "best_accuracy"]], notes)


def shared_seeds(points: pd.DataFrame) -> list[int]:
    """The seeds every pruning ratio of Fig. 1's points has a run on, sorted."""
    return sorted(set.intersection(*points.groupby("algorithm.keep")["seed"].agg(set))) if len(points) else []


def line_seeds(points: pd.DataFrame) -> list[int]:
    """The seeds Fig. 1's line is drawn on: ``shared_seeds``, so that keep 0.2 (Table 2's seeds) and the other
    ratios (the sweep's seed) compare like with like; where no seed is shared, the Fig. 1 sweep's own seeds."""
    return shared_seeds(points) or sorted(set(points.loc[points["source"] == "Fig. 1 sweep", "seed"]))


def _seeds_label(seeds: list[int]) -> str:
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(str(seed) for seed in seeds)


def fedavg_on_seeds(fedavg: pd.DataFrame, seeds: list[int]) -> pd.Series | None:
    """FedAvg's best accuracies on ``seeds`` when they are some but not all of its runs (Fig. 1's dotted line)."""
    shared = fedavg.loc[fedavg["seed"].isin(seeds), "best_accuracy"]
    return shared if 0 < len(shared) < len(fedavg) else None


def sparsity_figure(points: pd.DataFrame, seeds: list[int], fedavg: pd.DataFrame, rounds: int | None,
                    path: Path) -> pd.DataFrame:
    """Fig. 1's rows, one per pruning ratio: keep, pruned (%), best accuracy (%, mean ± std over its runs, with
    their count), best accuracy on ``seeds`` (``line_seeds``) and the sweep its runs come from. Draws the figure
    at ``path``: a line through the points on ``seeds``, each ratio with other runs as a mean ± std marker,
    FedAvg's best accuracy as a dashed line over all its seeds and a dotted one over the line's seeds."""
    on_seeds = points[points["seed"].isin(seeds)].groupby("algorithm.keep")["best_accuracy"]
    summary = (points.groupby("algorithm.keep").agg(mean=("best_accuracy", "mean"), std=("best_accuracy", "std"),
                                                    seeds=("seed", lambda s: sorted(set(s))),
                                                    source=("source", "first"),
                                                    best=("best_accuracy", lambda best: mean_std(best)))
               .reset_index().assign(pruned=lambda f: 100 * (1 - f["algorithm.keep"]),
                                     line=lambda f: f["algorithm.keep"].map(on_seeds.mean())))
    figure = Figure(figsize=(6.4, 4.2))
    ax = figure.subplots()
    on_line = summary.dropna(subset=["line"])
    ax.plot(on_line["pruned"], 100 * on_line["line"], marker="o", label=f"MPT-FL 1/32, {_seeds_label(seeds)}")
    for _, ratio in summary[summary["seeds"].map(lambda s: s != seeds)].iterrows():
        ax.errorbar(ratio["pruned"], 100 * ratio["mean"], yerr=100 * (0 if pd.isna(ratio["std"]) else ratio["std"]),
                    marker="s", ls="none", capsize=4, label=f"MPT-FL 1/32, {ratio['source']}, "
                    f"{_seeds_label(ratio['seeds'])}" + (" (mean ± std)" if len(ratio["seeds"]) > 1 else ""))
    if not fedavg.empty:
        ax.axhline(100 * fedavg["best_accuracy"].mean(), color="grey", ls="--",
                   label=f"FedAvg, {_seeds_label(sorted(set(fedavg['seed'])))} (mean)")
        fedavg_shared = fedavg_on_seeds(fedavg, seeds)
        if fedavg_shared is not None:
            ax.axhline(100 * fedavg_shared.mean(), color="grey", ls=":", label=f"FedAvg, {_seeds_label(seeds)}")
    ax.set(xlabel="pruned weights (%)", ylabel="best test accuracy (%)",
           title="Fig. 1: accuracy vs pruning ratio" + (f" ({rounds} rounds)" if rounds else ""))
    ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return pd.DataFrame({"keep": [f"{keep:g}" for keep in summary["algorithm.keep"]],
                         "pruned (%)": [f"{pruned:.0f}" for pruned in summary["pruned"]],
                         "best acc (%)": summary["best"],
                         f"best acc, {_seeds_label(seeds)} (%)": summary["algorithm.keep"].map(
                             on_seeds.agg(lambda best: mean_std(best, count=False))).fillna("–"),
                         "source": summary["source"]})


def fig1_section(sparsity_dir: Path, table2_runs: pd.DataFrame, out: Path) -> list[str]:
    """Fig. 1 as markdown lines from the sweep in ``sparsity_dir`` and Table 2's runs (``run_dir`` absolute);
    writes ``fig1_sparsity.png`` into ``out``."""
    sweep = runs(sparsity_dir).assign(run_dir=lambda f: [str(sparsity_dir.resolve() / r) for r in f["run_dir"]])
    finished = sweep[sweep["status"] == "completed"]
    if finished.empty:
        return ["## Fig. 1: accuracy vs pruning ratio", "", "No finished run in the Fig. 1 sweep yet.", ""]
    reference = stored_scenario(Path(finished["run_dir"].iloc[0]))
    points, fedavg, notes = fig1_inputs(finished, set(sweep["algorithm.keep"]), reference, table2_runs)
    rounds = reference.stop.max_rounds
    lines = ["## Fig. 1: accuracy vs pruning ratio" + (f" ({rounds} rounds)" if rounds else ""), ""]
    seeds = line_seeds(points)
    table = sparsity_figure(points, seeds, fedavg, rounds, out / "fig1_sparsity.png")
    fedavg_shared = fedavg_on_seeds(fedavg, seeds)
    lines += [markdown_table(table), "",
              f"FedAvg's best accuracy (the figure's dashed line): {mean_std(fedavg['best_accuracy'])}"
              + ("" if fedavg_shared is None
                 else f"; {_seeds_label(seeds)}: {mean_std(fedavg_shared, count=False)} (dotted)") + ".",
              f"The figure's line joins the ratios on {_seeds_label(seeds)}"
              + (", which every ratio ran" if shared_seeds(points)
                 else ", the Fig. 1 sweep's; a ratio without a run on it is a marker of its own and does not "
                      "compare like with like") + "; a ratio with other runs also shows their mean ± std.", ""]
    for note in notes:
        lines += [note, ""]
    unfinished = [f"{keep:g}" for keep in sweep.loc[sweep["status"] != "completed", "algorithm.keep"]]
    if unfinished:
        lines += [f"Not finished (no point): keep {', '.join(unfinished)}.", ""]
    return lines + ["![sparsity](fig1_sparsity.png)", ""]
