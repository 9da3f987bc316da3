"""``plot_run``: every figure of one run directory, written next to its files."""

from __future__ import annotations

from pathlib import Path

from edgesim.plots.async_figures import async_figures
from edgesim.plots.data import read_events, read_metrics, read_summary
from edgesim.plots.run_figures import accuracy_figure, staleness_figure
from edgesim.plots.timeline import timeline_figure


def plot_run(run_dir: Path) -> list[Path]:
    """Write the figures of ``run_dir`` into it and return their paths.

    ``events.csv`` is required. Without ``metrics.csv`` the accuracy and
    asynchronous figures are skipped; without ``summary.json`` titles carry
    no run name and the accuracy figure no target.
    """
    run_dir = Path(run_dir)
    events = read_events(run_dir)
    metrics = read_metrics(run_dir)
    summary = read_summary(run_dir)
    written = []
    if metrics is not None:
        written.append(accuracy_figure(metrics, summary, run_dir / "accuracy.png"))
    written.append(staleness_figure(events, summary, run_dir / "staleness.png"))
    written.append(timeline_figure(events, summary, run_dir / "timeline.png"))
    if metrics is not None:
        written.extend(async_figures(metrics, summary, run_dir))
    return written
