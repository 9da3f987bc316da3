"""The core figures of one run: accuracy over simulated time and staleness of applied updates."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import seaborn as sns

from edgesim.plots.figure import integer_x_axis, png_figure, run_title
from edgesim.time_scale import time_scale


def accuracy_figure(metrics: pd.DataFrame, summary: dict, path: Path) -> Path:
    """Accuracy vs simulated time, with the target and the time it was reached; a dev-accuracy panel if present."""
    target = summary.get("target_accuracy")
    reached_s = summary.get("time_to_target_s")
    panels = [("accuracy", "test accuracy")]
    if "dev_accuracy" in metrics.columns and metrics["dev_accuracy"].notna().any():
        panels.append(("dev_accuracy", "dev accuracy"))
    end_s = max(metrics["sim_time_s"].max(skipna=True) if len(metrics) else 0.0, summary.get("sim_time_s") or 0.0)
    scale = time_scale(end_s)
    note = "target not reached" if target is not None and reached_s is None else ""
    size = (8.0, 3.0 + 2.5 * len(panels))
    with png_figure(path, size=size, nrows=len(panels), sharex=True, squeeze=False) as (figure, axes):
        for ax, (column, label) in zip(axes[:, 0], panels):
            rows = metrics.dropna(subset=[column])
            ax.plot(scale.convert(rows["sim_time_s"]), rows[column], marker="o", markersize=3, linewidth=1.5, label=label)
            ax.set_ylabel(label)
        top = axes[0, 0]
        if target is not None:
            top.axhline(target, linestyle="--", color="grey", linewidth=1, label=f"target {target:g}")
        if reached_s is not None:
            top.axvline(scale.convert(reached_s), linestyle=":", color="tab:red", linewidth=1.5,
                        label=f"target reached at {scale.format(reached_s)}")
        if target is not None or reached_s is not None:
            top.legend(loc="lower right")
        axes[-1, 0].set_xlabel(scale.label())
        axes[-1, 0].set_xlim(left=0)
        top.set_title(run_title("Accuracy over simulated time", summary, note))
    return path


def staleness_figure(events: pd.DataFrame, summary: dict, path: Path) -> Path:
    """Histogram (integer bins) of the staleness of every applied update."""
    applied = events.loc[events["kind"] == "update_applied", "staleness"].dropna().astype(int)
    discarded = int((events["kind"] == "update_discarded").sum())
    if applied.empty:
        note = "none applied"
    elif applied.max() == 0:
        note = "all 0: synchronous run"
    else:
        note = f"mean {applied.mean():.2f}, max {applied.max()}"
    with png_figure(path, size=(8.0, 4.2)) as (figure, ax):
        if applied.empty:
            ax.text(0.5, 0.5, "no update_applied events", transform=ax.transAxes, ha="center", va="center")
        else:
            sns.histplot(x=applied, discrete=True, ax=ax, color="tab:blue", edgecolor="white")
            integer_x_axis(ax, applied.min(), applied.max())
        ax.set_xlabel("staleness (model versions behind when applied)")
        ax.set_ylabel("applied updates")
        ax.set_title(run_title(f"Staleness of {len(applied)} applied updates, {discarded} discarded", summary, note))
    return path
