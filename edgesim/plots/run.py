"""``plot_run``: every figure of one run directory, written next to its files."""

from __future__ import annotations

from pathlib import Path

import yaml

from edgesim.contract import SCENARIO_FILE
from edgesim.plots.async_figures import async_figures, constant_settings
from edgesim.plots.data import read_events, read_metrics, read_summary
from edgesim.plots.run_figures import accuracy_figure, staleness_figure
from edgesim.plots.timeline import timeline_figure


def plot_run(run_dir: Path) -> list[Path]:
    """Write the figures of ``run_dir`` into it and return their paths.

    ``events.csv`` is required. Without ``metrics.csv`` the asynchronous
    figures are skipped and the accuracy figure says why it is empty; without
    ``summary.json`` titles carry no run name and the accuracy figure no
    target. The scenario's ``start_hour``, when not 0, labels local time.
    """
    run_dir = Path(run_dir)
    events = read_events(run_dir)
    metrics = read_metrics(run_dir)
    summary = read_summary(run_dir)
    constants = constant_settings(metrics) if metrics is not None else ""
    written = [run_dir / "accuracy.png", run_dir / "staleness.png", run_dir / "timeline.png"]
    accuracy_figure(metrics, summary, written[0], constants, _start_hour(run_dir))
    staleness_figure(events, summary, written[1])
    timeline_figure(events, summary, written[2])
    if metrics is not None:
        written.extend(async_figures(metrics, summary, run_dir))
    return written


def _start_hour(run_dir: Path) -> float | None:
    """The run's ``start_hour`` from its ``scenario.yaml``, or None (absent, unreadable or 0)."""
    try:
        scenario = yaml.safe_load((run_dir / SCENARIO_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return None
    hour = scenario.get("start_hour") if isinstance(scenario, dict) else None
    return float(hour) if isinstance(hour, (int, float)) and 0 < hour < 24 else None
