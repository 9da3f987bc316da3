"""Figures comparing the runs of a sweep directory, and ``plot_sweep`` which writes them all.

A *variant* is one combination of the parameter columns that vary across
``sweep.csv`` (``seed`` excluded); its runs differ only by seed. Every seed is
drawn separately (thin lines, individual points) rather than as a mean ± band:
evaluations of different seeds fall at different simulated times, and a sweep
has few seeds, so the spread is shown as it is.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import seaborn as sns

from edgesim.contract import EVENTS_FILE
from edgesim.plots.data import parameter_columns, read_events, read_metrics, read_sweep
from edgesim.plots.figure import integer_x_axis, png_figure
from edgesim.time_scale import time_scale

ALL_RUNS = "all runs"
NOT_REACHED = "tab:red"


def _ordered_values(sweep: pd.DataFrame, column: str) -> list[str]:
    """The distinct values of ``column`` as text, in the column's sort order."""
    return [str(value) for value in sweep[column].drop_duplicates().sort_values(na_position="last")]


def _variants(sweep: pd.DataFrame, params: list[str]) -> tuple[pd.Series, list[str]]:
    """Each run's variant label (``key=value, ...``) and the labels in parameter sort order."""
    if not params:
        return pd.Series(ALL_RUNS, index=sweep.index), [ALL_RUNS]
    labels = sweep[params].astype(str).apply(
        lambda row: ", ".join(f"{key}={value}" for key, value in row.items()), axis=1)
    order = labels.loc[sweep.sort_values(params, kind="stable", na_position="last").index].drop_duplicates()
    return labels, order.tolist()


def _common_target(sweep: pd.DataFrame) -> float | None:
    """The target accuracy when all runs share one, else None."""
    if "target_accuracy" not in sweep.columns:
        return None
    targets = sweep["target_accuracy"].dropna().unique()
    return float(targets[0]) if len(targets) == 1 else None


def sweep_accuracy_figure(sweep_dir: Path, sweep: pd.DataFrame, params: list[str], path: Path) -> Path | None:
    """Accuracy vs simulated time of every run: hue = first varying parameter, style = second, one thin line per seed."""
    hue, style = (params + [None, None])[:2]
    frames = []
    for index, run_dir in sweep["run_dir"].items():
        metrics = read_metrics(sweep_dir / str(run_dir))
        if metrics is None:
            continue
        frame = metrics[["sim_time_s", "accuracy"]].assign(run=str(run_dir))
        for column in filter(None, (hue, style)):
            frame[column] = str(sweep.at[index, column])
        frames.append(frame)
    if not frames:
        return None
    runs = pd.concat(frames, ignore_index=True)
    scale = time_scale(runs["sim_time_s"].max())
    runs["time"] = scale.convert(runs["sim_time_s"])
    target = _common_target(sweep)
    with png_figure(path, size=(10.0, 5.0)) as (figure, ax):
        sns.lineplot(
            data=runs, x="time", y="accuracy", units="run", estimator=None, ax=ax,
            hue=hue, hue_order=_ordered_values(sweep, hue) if hue else None,
            style=style, style_order=_ordered_values(sweep, style) if style else None,
            linewidth=1.0, alpha=0.85, color=None if hue else "tab:blue",
        )
        if target is not None:
            ax.axhline(target, linestyle="--", color="grey", linewidth=1)
            ax.annotate(f"target {target:g}", (0, target), xycoords=("axes fraction", "data"),
                        xytext=(4, 3), textcoords="offset points", fontsize=8, color="grey")
        legend = ax.get_legend()
        if legend is not None:
            handles, labels = legend.legend_handles, [text.get_text() for text in legend.get_texts()]
            legend.remove()
            figure.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)
        ax.set_xlim(left=0)
        ax.set_xlabel(scale.label())
        ax.set_ylabel("test accuracy")
        skipped = len(sweep) - len(frames)
        note = f"; {skipped} run(s) without metrics.csv left out" if skipped else ""
        ax.set_title(f"Accuracy of every run, one line per seed ({len(frames)} runs{note})")
    return path


def sweep_time_to_target_figure(sweep: pd.DataFrame, params: list[str], path: Path) -> Path:
    """Time to target per variant: bar = mean over seeds that reached it, dots = each such seed,
    red × = a seed that never did (placed at the end of its run), hatched bar = no seed did."""
    finished = sweep[sweep["sim_time_s"].notna()]
    labels, order = _variants(finished, params)
    order = order[::-1]  # first variant on top
    scale = time_scale(finished[["sim_time_s", "time_to_target_s"]].max().max())
    target = _common_target(sweep)
    with png_figure(path, size=(9.0, 1.8 + 0.5 * max(len(order), 1))) as (figure, ax):
        right = 0.0
        for y, label in enumerate(order):
            runs = finished[labels == label]
            reached = scale.convert(runs["time_to_target_s"].dropna())
            missed = scale.convert(runs.loc[runs["time_to_target_s"].isna(), "sim_time_s"])
            if len(reached):
                ax.barh(y, reached.mean(), height=0.6, color="tab:blue", alpha=0.6)
                ax.scatter(reached, [y] * len(reached), color="black", s=14, zorder=3)
            else:
                ax.barh(y, missed.max(), height=0.6, facecolor="none", edgecolor=NOT_REACHED, hatch="//")
            if len(missed):
                ax.scatter(missed, [y] * len(missed), marker="x", color=NOT_REACHED, s=30, zorder=3)
                end = max(missed.max(), reached.max() if len(reached) else 0.0)
                ax.annotate(f"{len(missed)}/{len(runs)} not reached", (end, y), xytext=(6, 0),
                            textcoords="offset points", va="center", fontsize=8, color=NOT_REACHED)
            right = max(right, reached.max() if len(reached) else 0.0, missed.max() if len(missed) else 0.0)
        ax.set_yticks(range(len(order)), order, fontsize=8)
        ax.set_xlim(0, (right or 1.0) * 1.25)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(scale.label("simulated time to target"))
        target_text = f"target {target:g}" if target is not None else "per-run target"
        omitted = len(sweep) - len(finished)
        note = f"; {omitted} run(s) without results omitted" if omitted else ""
        ax.set_title(f"Time to reach {target_text} (bar = mean of seeds that reached it{note})")
    return path


def sweep_staleness_figure(sweep_dir: Path, sweep: pd.DataFrame, params: list[str], path: Path) -> Path | None:
    """Staleness histograms of applied updates, one facet per variant (seeds pooled); None without events."""
    labels, order = _variants(sweep, params)
    pooled: dict[str, list[pd.Series]] = {label: [] for label in order}
    for index, run_dir in sweep["run_dir"].items():
        run_path = sweep_dir / str(run_dir)
        if not (run_path / EVENTS_FILE).is_file():
            continue
        events = read_events(run_path, columns=("kind", "staleness"))
        pooled[labels[index]].append(events.loc[events["kind"] == "update_applied", "staleness"].dropna())
    facets = [(label, pd.concat(series).astype(int)) for label, series in pooled.items() if series]
    if not facets:
        return None
    everything = pd.concat([staleness for _, staleness in facets])
    low, high = (everything.min(), everything.max()) if len(everything) else (0, 0)
    ncols = min(3, len(facets))
    nrows = math.ceil(len(facets) / ncols)
    with png_figure(path, size=(4.0 * ncols, 1.0 + 3.0 * nrows), nrows=nrows, ncols=ncols,
                    squeeze=False) as (figure, axes):
        for ax, (label, staleness) in zip(axes.flat, facets):
            if len(staleness):
                sns.histplot(x=staleness, discrete=True, ax=ax, color="tab:blue", edgecolor="white")
            integer_x_axis(ax, low, high)
            ax.set_title(f"{label}\n({len(staleness)} applied updates)", fontsize=9)
            ax.set_xlabel("staleness (model versions)")
            ax.set_ylabel("applied updates")
        for ax in axes.flat[len(facets):]:
            ax.set_visible(False)
        figure.suptitle("Staleness of applied updates per variant (seeds pooled)")
    return path


def plot_sweep(sweep_dir: Path) -> list[Path]:
    """Write the sweep figures into ``sweep_dir`` and return their paths.

    ``sweep_accuracy.png`` needs at least one run with ``metrics.csv`` and
    ``sweep_staleness.png`` one with ``events.csv``; ``sweep_time_to_target.png``
    is always written.
    """
    sweep_dir = Path(sweep_dir)
    sweep = read_sweep(sweep_dir)
    params = parameter_columns(sweep)
    written = [
        sweep_accuracy_figure(sweep_dir, sweep, params, sweep_dir / "sweep_accuracy.png"),
        sweep_time_to_target_figure(sweep, params, sweep_dir / "sweep_time_to_target.png"),
        sweep_staleness_figure(sweep_dir, sweep, params, sweep_dir / "sweep_staleness.png"),
    ]
    return [path for path in written if path is not None]
