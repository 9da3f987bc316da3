"""Shared figure plumbing: seaborn styling without global state, PNG output, run titles, integer axes.

Figures are ``matplotlib.figure.Figure`` objects that pyplot never sees, so no
backend is selected globally and nothing has to be closed; saving a PNG uses
the Agg renderer. Seaborn's style applies only inside ``png_figure``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

DPI = 120


@contextmanager
def png_figure(path: Path | None, *, size: tuple[float, float] = (8.0, 4.5),
               **subplots: Any) -> Iterator[tuple[Figure, Any]]:
    """Yield ``(figure, axes)`` (``Figure.subplots(**subplots)``) and save the figure to ``path`` (unless
    ``None``)."""
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.9):
        figure = Figure(figsize=size, layout="constrained")
        axes = figure.subplots(**subplots)
        yield figure, axes
        if path is not None:
            figure.savefig(path, dpi=DPI, format="png")


def run_title(what: str, summary: dict, note: str = "") -> str:
    """``what`` (plus a parenthesised note), over a line naming the run from its summary."""
    first = f"{what} ({note})" if note else what
    parts = [str(summary[key]) for key in ("algorithm", "scenario") if summary.get(key) is not None]
    if summary.get("seed") is not None:
        parts.append(f"seed {summary['seed']}")
    return f"{first}\n{' · '.join(parts)}" if parts else first


def integer_x_axis(ax: Axes, low: int, high: int) -> None:
    """Show ``low``..``high`` on the x axis with integer ticks only (for integer-binned histograms)."""
    ax.set_xlim(low - 0.75, high + 0.75)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
