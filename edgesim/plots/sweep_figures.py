"""Figures comparing the runs of a sweep directory, and ``plot_sweep`` which writes them all.

The swept keys that vary (``seed`` excluded) are the sweep's *factors*. The
``case`` factor (else the second factor) is the colour; the others make the
x axis or the facets. Every factor is shown by its readable label
(``pareto α=1.5``), in the order the sweep defines its values. Seeds are the
statistical unit: intervals are the summary's 95% t-intervals over seeds
(``edgesim.results.sweep_summary.t_interval``, handed to seaborn), and bands
over simulated time span the seeds' range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from edgesim import outcome
from edgesim.plots.data import has_events, read_events, read_factor_labels, read_metrics, read_sweep
from edgesim.plots.figure import png_figure
from edgesim.results.factor_labels import factor_columns, factor_labels, factor_names
from edgesim.results.sweep_summary import t_interval
from edgesim.time_scale import time_scale
from edgesim.units import byte_unit, energy_unit

ALL_RUNS = "all runs"
GRID_POINTS = 200
"""Even steps of the common simulated-time grid the accuracy bands are drawn on."""
MAX_GRID = 5000
"""At most this many evaluation times join the grid; beyond, only each run's first and last do."""
MAX_LISTED = 4


@dataclass(frozen=True)
class Layout:
    """How a sweep's factors map onto a figure: ``group`` (x axis or facets) and ``hue`` label columns."""

    group: str
    group_order: list[str]
    hue: str | None
    hue_order: list[str] | None
    group_title: str
    hue_title: str | None


def labelled_runs(sweep: pd.DataFrame, custom: dict[str, dict[str, str]] | None = None
                  ) -> tuple[pd.DataFrame, Layout]:
    """``sweep`` with two label columns, ``_group`` and ``_hue``, and the layout naming them; ``custom``:
    the labels of ``labels.json``."""
    factors = factor_columns(sweep)
    hue_column = "case" if "case" in factors else (factors[1] if len(factors) > 1 else None)
    group_columns = [f for f in factors if f != hue_column]
    frame = sweep.copy()
    labels = factor_labels(sweep, factors, custom)
    names = factor_names(factors)
    frame["_group"] = labels[group_columns].apply(", ".join, axis=1) if group_columns else ALL_RUNS
    if hue_column is not None:
        frame["_hue"] = labels[hue_column]
    layout = Layout("_group", list(dict.fromkeys(frame["_group"])), "_hue" if hue_column else None,
                    list(dict.fromkeys(frame["_hue"])) if hue_column else None,
                    ", ".join(names[c] for c in group_columns), names[hue_column] if hue_column else None)
    return frame, layout


def _finished(frame: pd.DataFrame) -> pd.DataFrame:
    if "status" not in frame:
        return frame[frame["sim_time_s"].notna()]
    return frame[frame["status"].isin(outcome.FINISHED) & frame["sim_time_s"].notna()]


def _listing(items: list[str]) -> str:
    shown = "; ".join(items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def _variant_name(row, layout: Layout) -> str:
    return " / ".join(str(row[c]) for c in (layout.hue, layout.group) if c is not None and row[c] != ALL_RUNS)


def _target(sweep: pd.DataFrame) -> float | None:
    """The target accuracy when all runs share one, else None."""
    if "target_accuracy" not in sweep.columns:
        return None
    targets = sweep["target_accuracy"].dropna().unique()
    return float(targets[0]) if len(targets) == 1 else None


def _legend_outside(figure, ax, title: str | None) -> None:
    legend = ax.get_legend()
    if legend is not None:
        handles, labels = legend.legend_handles, [text.get_text() for text in legend.get_texts()]
        legend.remove()
        figure.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False, title=title)


def _grid(count: int) -> tuple[int, int]:
    ncols = min(3, max(count, 1))
    return math.ceil(max(count, 1) / ncols), ncols


def sweep_time_to_target_figure(sweep: pd.DataFrame, path: Path, custom: dict | None = None) -> Path:
    """Time to target per variant: bar = mean over the seeds that reached it, whisker = 95% t-interval
    over those seeds, dots = each seed; the runs that never reached it are named in the title."""
    frame, layout = labelled_runs(_finished(sweep), custom)
    reached = frame[frame["time_to_target_s"].notna()].copy()
    scale = time_scale(reached["time_to_target_s"].max() if len(reached) else math.nan)
    reached["time"] = scale.convert(reached["time_to_target_s"])
    missed = []
    for _, runs in frame.groupby([c for c in ("_hue", "_group") if c in frame], sort=False):
        misses = int(runs["time_to_target_s"].isna().sum())
        if misses:
            missed.append(f"{_variant_name(runs.iloc[0], layout)}: {misses}/{len(runs)}")
    target = _target(sweep)
    width = max(8.0, 1.2 + 0.9 * len(layout.group_order) * max(1, len(layout.hue_order or [1])) ** 0.5)
    with png_figure(path, size=(min(width, 16.0), 5.0)) as (figure, ax):
        if len(reached):
            common = dict(data=reached, x=layout.group, y="time", order=layout.group_order, hue=layout.hue,
                          hue_order=layout.hue_order, ax=ax)
            sns.barplot(**common, errorbar=t_interval, capsize=0.15, err_kws={"linewidth": 1.2}, alpha=0.65)
            dots = {"palette": "dark:black"} if layout.hue else {"color": "black"}
            # no jitter: seaborn would draw it from numpy's global generator, and the figure would change run to run
            sns.stripplot(**common, dodge=layout.hue is not None, jitter=False, size=3.5, legend=False, **dots)
            _legend_outside(figure, ax, layout.hue_title)
        else:
            why = "no run reached the target" if len(frame) else "no run has finished"
            ax.text(0.5, 0.5, why, transform=ax.transAxes, ha="center", va="center")
            ax.set_xticks([])
        ax.set_xlabel(layout.group_title)
        ax.set_ylabel(scale.label("simulated time to target"))
        ax.tick_params(axis="x", labelrotation=20 if len(layout.group_order) > 3 else 0)
        target_text = f"target {target:g}" if target is not None else "per-run target"
        title = f"Time to reach {target_text}: mean of the seeds that reached it, 95% t-interval, one dot per seed"
        if missed:
            title += f"\nnot reached (runs): {_listing(missed)}"
        ax.set_title(title, fontsize=10)
    return path


def _applied_staleness(sweep_dir: Path, frame: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for index, run_dir in frame["run_dir"].items():
        run_path = sweep_dir / str(run_dir)
        if not has_events(run_path):
            continue
        events = read_events(run_path, columns=("kind", "staleness"))
        staleness = events.loc[events["kind"] == "update_applied", "staleness"].dropna()
        parts.append(pd.DataFrame({"staleness": staleness.to_numpy(), "_run": str(run_dir),
                                   **{c: frame.at[index, c] for c in ("_group", "_hue") if c in frame}}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def sweep_staleness_figure(sweep_dir: Path, sweep: pd.DataFrame, path: Path,
                           custom: dict | None = None) -> Path | None:
    """ECDFs of the staleness of applied updates (seeds pooled), one facet per group on one shared scale,
    one line per colour; variants whose updates are never stale (synchronous rounds) are left out and
    named. None without any stale update."""
    frame, layout = labelled_runs(_finished(sweep), custom)
    updates = _applied_staleness(sweep_dir, frame)
    if updates.empty:
        return None
    keys = [c for c in ("_hue", "_group") if c in updates]
    stale = updates.groupby(keys, sort=False)["staleness"].transform("max") > 0
    never = [_variant_name(g.iloc[0], layout) for _, g in updates[~stale].groupby(keys, sort=False)]
    updates = updates[stale]
    if updates.empty:
        return None
    groups = [g for g in layout.group_order if g in set(updates["_group"])]
    hue_order = layout.hue_order  # every case keeps its colour, drawn or not
    nrows, ncols = _grid(len(groups))
    with png_figure(path, size=(4.2 * ncols + 1.8, 0.8 + 3.0 * nrows), nrows=nrows, ncols=ncols, squeeze=False,
                    sharex=True, sharey=True) as (figure, axes):
        for ax, group in zip(axes.flat, groups):
            sns.ecdfplot(data=updates[updates["_group"] == group], x="staleness", hue=layout.hue,
                         hue_order=hue_order, ax=ax, legend=ax is axes.flat[0])
            ax.set_title(group if group != ALL_RUNS else "", fontsize=9)
            ax.set_xscale("symlog", linthresh=1)  # the tail of a few very stale updates stays readable
            ax.set_xlabel("staleness (model versions, symmetric log)")
            ax.set_ylabel("share of applied updates")
        _legend_outside(figure, axes.flat[0], layout.hue_title)
        for ax in axes.flat[len(groups):]:
            ax.set_visible(False)
        title = "Staleness of applied updates (ECDF, seeds pooled)"
        if never:
            title += f"\nnever stale, not drawn: {_listing(never)}"
        figure.suptitle(title, fontsize=10)
    return path


def _evaluations(sweep_dir: Path, frame: pd.DataFrame) -> dict:
    """Each run's evaluations (``sim_time_s``, ``accuracy``), by row index; runs without any are left out."""
    found = {}
    for index, run_dir in frame["run_dir"].items():
        metrics = read_metrics(sweep_dir / str(run_dir))
        if metrics is not None:
            evaluated = metrics[["sim_time_s", "accuracy"]].dropna()
            if not evaluated.empty:
                found[index] = evaluated
    return found


def _accuracy_on_grid(frame: pd.DataFrame, evaluations: dict, grid: np.ndarray) -> pd.DataFrame:
    """Each run's last evaluated accuracy at every grid time from its first evaluation on, its final one held
    to the end of the grid (a run that stopped, at its target or its last round, keeps what it reached)."""
    parts = []
    for index, evaluated in evaluations.items():
        times = grid[grid >= evaluated["sim_time_s"].iloc[0]]
        positions = np.searchsorted(evaluated["sim_time_s"].to_numpy(), times, side="right") - 1
        parts.append(pd.DataFrame({"sim_time_s": times, "accuracy": evaluated["accuracy"].to_numpy()[positions],
                                   "_run": str(frame.at[index, "run_dir"]),
                                   **{c: frame.at[index, c] for c in ("_group", "_hue") if c in frame}}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def sweep_accuracy_figure(sweep_dir: Path, sweep: pd.DataFrame, path: Path,
                          custom: dict | None = None) -> Path | None:
    """Test accuracy over simulated time, one facet per group: line = mean over seeds, band = the seeds'
    range. A run counts from its first evaluation and keeps its final one to the axis end; the time grid
    holds every evaluation time (up to ``MAX_GRID`` of them, else ``GRID_POINTS`` even steps plus each run's
    first and last). None without any metrics.csv."""
    frame, layout = labelled_runs(_finished(sweep), custom)
    if frame.empty:
        return None
    evaluations = _evaluations(sweep_dir, frame)
    if not evaluations:
        return None
    end_s = max(float(frame["sim_time_s"].max()), max(float(e["sim_time_s"].iloc[-1]) for e in evaluations.values()))
    times = np.concatenate([e["sim_time_s"].to_numpy() for e in evaluations.values()])
    if len(times) > MAX_GRID:
        times = np.concatenate([[e["sim_time_s"].iloc[0], e["sim_time_s"].iloc[-1]] for e in evaluations.values()])
    grid = np.unique(np.concatenate([np.linspace(0.0, end_s, GRID_POINTS), times]))
    curves = _accuracy_on_grid(frame, evaluations, grid)
    scale = time_scale(end_s)
    curves["time"] = scale.convert(curves["sim_time_s"])
    groups = [g for g in layout.group_order if g in set(curves["_group"])]
    target = _target(sweep)
    nrows, ncols = _grid(len(groups))
    low = max(0.0, float(curves["accuracy"].quantile(0.02)) - 0.05)
    high = min(1.0, float(curves["accuracy"].max()) + 0.03)
    if target is not None:
        low, high = min(low, max(0.0, target - 0.03)), max(high, min(1.0, target + 0.03))
    with png_figure(path, size=(4.2 * ncols + 1.8, 0.8 + 3.0 * nrows), nrows=nrows, ncols=ncols, squeeze=False,
                    sharex=True, sharey=True) as (figure, axes):
        for ax, group in zip(axes.flat, groups):
            sns.lineplot(data=curves[curves["_group"] == group], x="time", y="accuracy", hue=layout.hue,
                         hue_order=layout.hue_order, errorbar=("pi", 100), ax=ax, linewidth=1.2,
                         legend=ax is axes.flat[0], drawstyle="steps-post")
            if target is not None:
                ax.axhline(target, linestyle="--", color="grey", linewidth=1)
            ax.set_title(group if group != ALL_RUNS else "", fontsize=9)
            ax.set_xlabel(scale.label())
            ax.set_ylabel("test accuracy")
            ax.set_ylim(low, high)
            ax.set_xlim(0, scale.convert(end_s))
        _legend_outside(figure, axes.flat[0], layout.hue_title)
        for ax in axes.flat[len(groups):]:
            ax.set_visible(False)
        dashed = f"; dashed: target {target:g}" if target is not None else ""
        wrap = "\n" if ncols < 3 else " "  # one or two facets are too narrow for the title on one line
        figure.suptitle("Accuracy over simulated time: mean over seeds, band = the seeds' range;" + wrap
                        + f"a run counts from its first evaluation and keeps its last{dashed}", fontsize=10)
    return path


def _reached_target(sweep: pd.DataFrame, custom: dict | None) -> tuple[pd.DataFrame, pd.DataFrame, Layout]:
    """The finished runs, those of them that reached the target, and the sweep's layout."""
    frame, layout = labelled_runs(_finished(sweep), custom)
    return frame, frame[frame["time_to_target_s"].notna()].copy(), layout


def _cost_against_time(frame: pd.DataFrame, reached: pd.DataFrame, layout: Layout, cost: pd.Series,
                       unit: tuple[str, float], ylabel: str, title: str, path: Path) -> Path:
    """Scatter ``cost`` (in ``unit``: its name and size) of each run in ``reached`` against its time to
    target, with the runs of ``frame`` that never reached it counted in the title."""
    scale = time_scale(reached["time_to_target_s"].max())
    reached = reached.assign(time=scale.convert(reached["time_to_target_s"]), cost=cost / unit[1])
    many_groups = len(layout.group_order) > 1
    with png_figure(path, size=(9.0, 5.0)) as (figure, ax):
        sns.scatterplot(data=reached, x="time", y="cost", hue=layout.hue, hue_order=layout.hue_order,
                        style=layout.group if many_groups else None,
                        style_order=layout.group_order if many_groups else None, s=45, ax=ax)
        _legend_outside(figure, ax, None)
        ax.set_xlabel(scale.label("simulated time to target"))
        spread = cost.max() / cost.min() if cost.min() > 0 else 0.0
        if spread > 30:  # runs an order of magnitude apart: a linear axis would squash the small ones
            ax.set_yscale("log")
        ax.set_ylabel(f"{unit[0]} {ylabel}{', log scale' if spread > 30 else ''}")
        omitted = len(frame) - len(reached)
        note = f"; {omitted} run(s) that never reached it left out" if omitted else ""
        ax.set_title(f"{title}{note}", fontsize=10)
    return path


def sweep_bytes_time_figure(sweep: pd.DataFrame, path: Path, custom: dict | None = None) -> Path | None:
    """Bytes the run moved (up + down, the whole run: with ``stop_at_target: false`` also after the target)
    against its time to target, one point per run that reached it. None if none did."""
    frame, reached, layout = _reached_target(sweep, custom)
    if reached.empty:
        return None
    moved = reached["bytes_up"] + reached["bytes_down"]
    return _cost_against_time(frame, reached, layout, moved, byte_unit(moved.max()),
                              "moved in the run (up + down, whole fleet)",
                              "Communication of each run against its time to target", path)


def sweep_energy_time_figure(sweep: pd.DataFrame, path: Path, custom: dict | None = None) -> Path | None:
    """The fleet's training and transfer energy until the target (``energy_to_target_j``, J; idle draw
    excluded) against the time to target, one point per run that reached it. None if none did, or if the
    sweep recorded no energy (profiles without power figures, or runs saved before energy was counted)."""
    if "energy_to_target_j" not in sweep.columns:
        return None
    frame, reached, layout = _reached_target(sweep, custom)
    energy = reached["energy_to_target_j"]
    if reached.empty or not (energy > 0).any():
        return None
    return _cost_against_time(frame, reached, layout, energy, energy_unit(energy.max()),
                              "spent until the target (training + transfers, whole fleet)",
                              "Energy of each run against its time to target", path)


def plot_sweep(sweep_dir: Path, sweep: pd.DataFrame | None = None,
               custom: dict[str, dict[str, str]] | None = None) -> list[Path]:
    """Write the sweep figures into ``sweep_dir`` and return their paths.

    ``sweep_time_to_target.png`` is always written; ``sweep_accuracy.png`` needs a run with
    ``metrics.csv``, ``sweep_staleness.png`` a run with stale applied updates in ``events.csv``, and
    ``sweep_bytes_time.png`` a run that reached the target, ``sweep_energy_time.png`` one that reached it
    having spent energy. ``sweep`` and ``custom`` (``read_sweep``,
    ``read_factor_labels``) are read from ``sweep_dir`` unless the caller has them already.
    """
    sweep_dir = Path(sweep_dir)
    if sweep is None:
        sweep, custom = read_sweep(sweep_dir), read_factor_labels(sweep_dir)
    written = [
        sweep_accuracy_figure(sweep_dir, sweep, sweep_dir / "sweep_accuracy.png", custom),
        sweep_time_to_target_figure(sweep, sweep_dir / "sweep_time_to_target.png", custom),
        sweep_staleness_figure(sweep_dir, sweep, sweep_dir / "sweep_staleness.png", custom),
        sweep_bytes_time_figure(sweep, sweep_dir / "sweep_bytes_time.png", custom),
        sweep_energy_time_figure(sweep, sweep_dir / "sweep_energy_time.png", custom),
    ]
    return [path for path in written if path is not None]
