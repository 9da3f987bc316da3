"""``plot_any``: plot a sweep directory or a run directory, whichever ``path`` is, and write its report."""

from __future__ import annotations

from pathlib import Path

from edgesim.contract import EVENTS_FILE, SWEEP_FILE, SWEEP_SUMMARY_CSV, SWEEP_SUMMARY_MD
from edgesim.errors import InputError
from edgesim.plots.data import has_events, read_factor_labels, read_sweep
from edgesim.plots.report import write_run_report, write_sweep_report
from edgesim.plots.run import plot_run
from edgesim.plots.sweep_figures import plot_sweep
from edgesim.results.sweep_summary import write_sweep_summary


def plot_any(path: Path | str) -> list[Path]:
    """Plot ``path`` as a sweep (it holds ``sweep.csv``; its ``summary.csv``/``summary.md`` are written
    afresh too) or a run (it holds ``events.csv``), then write its ``report.html``; return the figures'
    paths, a sweep's summary tables', and the report's, last."""
    path = Path(path)
    if (path / SWEEP_FILE).is_file():
        sweep, custom = read_sweep(path), read_factor_labels(path)
        figures = plot_sweep(path, sweep, custom)
        summary = write_sweep_summary(path, sweep, custom)
        tables = [path / SWEEP_SUMMARY_CSV, path / SWEEP_SUMMARY_MD]
        return [*figures, *tables, write_sweep_report(path, figures, sweep, summary)]
    if has_events(path):
        figures = plot_run(path)
        return [*figures, write_run_report(path, figures)]
    if not path.exists():
        raise InputError(f"{path}: does not exist (expected a run or sweep directory)")
    if not path.is_dir():
        raise InputError(f"{path}: not a directory (expected a run or sweep directory)")
    raise InputError(f"{path}: neither a sweep directory (no {SWEEP_FILE}) nor a run directory (no {EVENTS_FILE})")
