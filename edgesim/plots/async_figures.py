"""Figures of asynchronous runs, each drawn only when ``metrics.csv`` has the column it needs.

Iterations are the ``round`` column. ``k`` gives ``k.png`` and, since a
K-driven run advances by iterations, ``iteration_time.png``; ``lr`` gives
``lr.png``; ``max_weight`` gives ``dominance.png``. Values come from the
evaluation rows, so an iteration without an evaluation row is not shown. A
``k`` or ``lr`` that never changes gets no figure: ``constant_settings``
states it instead (the accuracy figure's title carries it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from edgesim.plots.figure import png_figure, run_title
from edgesim.time_scale import time_scale

DOMINANCE_THRESHOLD = 0.5


def _k(rows: pd.DataFrame, summary: dict, path: Path) -> None:
    with png_figure(path, size=(8.0, 4.2)) as (figure, ax):
        ax.step(rows["round"], rows["k"], where="post", marker="o", markersize=3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("iteration")
        ax.set_ylabel("K (updates aggregated per iteration)")
        ax.set_title(run_title("K over iterations", summary))


def _lr(rows: pd.DataFrame, summary: dict, path: Path) -> None:
    lr = rows["lr"]
    log_scale = bool(lr.min() > 0 and lr.max() >= 100 * lr.min())
    with png_figure(path, size=(7.0, 4.2)) as (figure, ax):
        sns.histplot(x=lr, log_scale=log_scale, ax=ax, color="tab:purple", edgecolor="white")
        ax.set_xlabel("learning rate" + (" (log scale)" if log_scale else ""))
        ax.set_ylabel("iterations")
        ax.set_title(run_title("Learning rate distribution", summary, f"median {lr.median():.3g}"))


def _iteration_time(rows: pd.DataFrame, summary: dict, path: Path) -> None:
    per_round = rows.drop_duplicates("round", keep="last")
    steps = per_round["round"].diff()
    seconds = (per_round["sim_time_s"].diff() / steps)[steps > 0]
    iterations = per_round["round"][steps > 0]
    every_iteration = bool(len(seconds)) and bool((steps[steps > 0] == 1).all())
    window = max(5, len(seconds) // 20)
    scale = time_scale(seconds.max() if len(seconds) else 0.0)
    with png_figure(path, size=(8.0, 4.2)) as (figure, ax):
        ax.plot(iterations, scale.convert(seconds), marker="o", markersize=2, linewidth=0.6, color="tab:brown",
                alpha=0.6, label="each iteration" if every_iteration else "between consecutive rows")
        if len(seconds) >= 2 * window:
            ax.plot(iterations, scale.convert(seconds.rolling(window, center=True, min_periods=1).mean()),
                    color="black", linewidth=1.5, label=f"rolling mean ({window} points)")
            ax.legend(loc="upper right", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("iteration")
        ax.set_ylabel(scale.label("simulated time per iteration"))
        ax.set_ylim(bottom=0)
        note = f"median {scale.format(seconds.median())}" if len(seconds) else "fewer than two iterations"
        what = "Time per iteration" if every_iteration else "Time per iteration, averaged between logged rows"
        ax.set_title(run_title(what, summary, note))


def _dominance(rows: pd.DataFrame, summary: dict, path: Path) -> None:
    dominant = (rows["max_weight"] > DOMINANCE_THRESHOLD).astype(float)
    window = max(5, len(rows) // 20)
    rolling = dominant.rolling(window, min_periods=1).mean()
    with png_figure(path, size=(8.0, 6.0), nrows=2, sharex=True) as (figure, (weights, share)):
        weights.scatter(rows["round"], rows["max_weight"], s=8, color="tab:blue")
        weights.axhline(DOMINANCE_THRESHOLD, linestyle="--", color="tab:red", linewidth=1,
                        label=f"threshold {DOMINANCE_THRESHOLD:g}")
        weights.set_ylim(0, 1.2)
        weights.set_ylabel("largest update weight")
        weights.legend(loc="upper right")
        share.plot(rows["round"], rolling, color="tab:red", linewidth=1.5, label=f"rolling share ({window} iterations)")
        share.axhline(dominant.mean(), linestyle=":", color="grey", linewidth=1, label=f"overall {dominant.mean():.0%}")
        share.set_ylim(-0.02, 1.3)
        share.set_ylabel("share dominated")
        share.set_xlabel("iteration")
        share.xaxis.set_major_locator(MaxNLocator(integer=True))
        share.legend(loc="upper right", ncols=2)
        weights.set_title(run_title(f"Dominance: one update weighs > {DOMINANCE_THRESHOLD:g}", summary,
                                    f"{dominant.mean():.0%} of iterations"))


# (file name, metrics column that must have values, drawing function)
ASYNC_FIGURES = (
    ("k.png", "k", _k),
    ("lr.png", "lr", _lr),
    ("iteration_time.png", "k", _iteration_time),
    ("dominance.png", "max_weight", _dominance),
)


CONSTANT_WHEN_FIXED = {"k.png": "K", "lr.png": "lr"}
"""Figures of a setting that is drawn only when it changes, and the setting's name."""


def _values(metrics: pd.DataFrame, column: str) -> pd.Series:
    return metrics[column].dropna() if column in metrics.columns else pd.Series(dtype=float)


def constant_settings(metrics: pd.DataFrame) -> str:
    """``"K = 10 and lr = 0.05 throughout"`` for the settings that never changed, else ``""``."""
    fixed = []
    for name, column, _ in ASYNC_FIGURES:
        values = _values(metrics, column)
        if name in CONSTANT_WHEN_FIXED and len(values) and values.nunique() == 1:
            fixed.append(f"{CONSTANT_WHEN_FIXED[name]} = {values.iloc[0]:g}")
    return f"{' and '.join(fixed)} throughout" if fixed else ""


def async_figures(metrics: pd.DataFrame, summary: dict, out_dir: Path) -> list[Path]:
    """Draw each figure whose column is present with values (a constant K or lr is not drawn, see
    ``constant_settings``); return the files written."""
    written = []
    for name, column, draw in ASYNC_FIGURES:
        values = _values(metrics, column)
        if name in CONSTANT_WHEN_FIXED and values.nunique() == 1:
            continue
        if len(values):
            rows = metrics.dropna(subset=[column]).sort_values("round", kind="stable").reset_index(drop=True)
            draw(rows, summary, out_dir / name)
            written.append(out_dir / name)
    return written
