"""The core figures of one run: accuracy over simulated time and staleness of applied updates."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from edgesim.plots.figure import integer_x_axis, png_figure, run_title
from edgesim.time_scale import time_scale


def accuracy_figure(metrics: pd.DataFrame | None, summary: dict, path: Path | None = None, note: str = "",
                    start_hour: float | None = None) -> Figure:
    """Accuracy vs simulated time, with the target and the time it was reached; a dev-accuracy panel if
    present. The x axis spans the evaluations: from 0 unless the first comes late, and a run that went on
    long after its last one says so. With ``start_hour`` (local time of day at simulated time 0) a top axis
    reads local clock time. A run without evaluations gets a figure that says why (its status and reason).
    Saved as a PNG at ``path`` when given."""
    metrics = metrics if metrics is not None else pd.DataFrame(columns=["sim_time_s", "accuracy"])
    evaluated = metrics.dropna(subset=["accuracy"])
    target = summary.get("target_accuracy")
    reached_s = summary.get("time_to_target_s")
    panels = [("accuracy", "test accuracy")]
    if "dev_accuracy" in metrics.columns and metrics["dev_accuracy"].notna().any():
        panels.append(("dev_accuracy", "dev accuracy"))
    run_end_s = max(metrics["sim_time_s"].max(skipna=True) if len(metrics) else 0.0, summary.get("sim_time_s") or 0.0)
    first_eval_s = float(evaluated["sim_time_s"].min()) if len(evaluated) else 0.0
    last_eval_s = float(evaluated["sim_time_s"].max()) if len(evaluated) else 0.0
    end_s = last_eval_s if len(evaluated) and last_eval_s < 0.8 * run_end_s else run_end_s
    start_s = first_eval_s - 0.05 * (end_s - first_eval_s) if first_eval_s > 0.2 * end_s else 0.0
    scale = time_scale(end_s)
    notes = [note] if note else []
    if target is not None and reached_s is None:
        notes.append("target not reached")
    if start_s > 0:
        notes.append(f"first evaluation at {scale.format(first_eval_s)}")
    if end_s < run_end_s:
        notes.append(f"no evaluation after {scale.format(last_eval_s)}; the run ended at {scale.format(run_end_s)}")
    size = (8.0, 3.0 + 2.5 * len(panels))
    with png_figure(path, size=size, nrows=len(panels), sharex=True, squeeze=False) as (figure, axes):
        for ax, (column, label) in zip(axes[:, 0], panels):
            rows = metrics.dropna(subset=[column])
            ax.plot(scale.convert(rows["sim_time_s"]), rows[column], marker="o", markersize=3, linewidth=1.5, label=label)
            ax.set_ylabel(label)
        top = axes[0, 0]
        if evaluated.empty:
            status = summary.get("status") or "no summary.json"
            reason = summary.get("reason") or "no evaluation row in metrics.csv"
            top.text(0.5, 0.5, f"no evaluation to draw\n{status}: {reason}", transform=top.transAxes,
                     ha="center", va="center", wrap=True)
        if target is not None:
            top.axhline(target, linestyle="--", color="grey", linewidth=1, label=f"target {target:g}")
        if reached_s is not None:
            top.axvline(scale.convert(reached_s), linestyle=":", color="tab:red", linewidth=1.5,
                        label=f"target reached at {scale.format(reached_s)}")
        if target is not None or reached_s is not None:
            top.legend(loc="lower right")
        axes[-1, 0].set_xlabel(scale.label())
        pad = 0.02 * (end_s - start_s)
        axes[-1, 0].set_xlim(scale.convert(start_s), scale.convert(end_s + pad) or 1)
        if start_hour:
            _local_time_axis(top, scale, start_hour, seconds=end_s - start_s < 3600)
        top.set_title(run_title("Accuracy over simulated time", summary, "; ".join(notes)))
    return figure


def _local_time_axis(ax, scale, start_hour: float, seconds: bool) -> None:
    """A top axis labelling the same ticks with local clock time, ``day N HH:MM`` (``:SS`` too with
    ``seconds``); day 1 is simulated time 0's."""
    def clock(value, _position) -> str:
        total = round((start_hour * 3600.0 + scale.convert_back(value)))
        day, rest = divmod(total, 86400)
        hour, rest = divmod(rest, 3600)
        text = f"day {int(day) + 1} {int(hour):02d}:{int(rest // 60):02d}"
        return text + f":{int(rest % 60):02d}" if seconds else text

    local = ax.secondary_xaxis("top")
    local.xaxis.set_major_formatter(FuncFormatter(clock))
    local.tick_params(labelsize=7)
    start = round(start_hour * 60)
    local.set_xlabel(f"local time (simulated time 0 = {start // 60:02d}:{start % 60:02d})", fontsize=8)


def staleness_figure(events: pd.DataFrame, summary: dict, path: Path | None = None) -> Figure:
    """Histogram (integer bins) of the staleness of every applied update; saved as a PNG at ``path`` when
    given."""
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
    return figure
