"""The Python API: run a scenario from a script or notebook and get its tables back as pandas DataFrames.

``simulate`` takes a scenario file, a mapping shaped like one, or a ``Scenario``, applies edits given as
dotted keys (the command line's ``--set``), runs it as ``edgesim run`` does, and returns a ``Result``: the
summary (``summary.json``'s fields), ``metrics.csv`` and ``events.csv`` as DataFrames, and the run's core
figures as matplotlib ``Figure`` objects. The run directory is kept only when ``out`` is given; otherwise
the run writes into a temporary folder that is removed once its tables are read back.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from rich.console import Console

from edgesim.compute import Compute
from edgesim.plots.async_figures import constant_settings
from edgesim.plots.data import read_events, read_metrics, read_summary
from edgesim.plots.run_figures import accuracy_figure, staleness_figure
from edgesim.plots.timeline import timeline_figure
from edgesim.runner import run_scenario
from edgesim.scenario import Scenario, read_raw, validate
from edgesim.scenario.overrides import set_dotted


@dataclass(frozen=True)
class Result:
    """What one run produced. ``metrics`` has one row per evaluation (and, for asynchronous methods, per
    server iteration), times in simulated seconds; ``events`` one row per simulation event. Their columns
    are those of ``metrics.csv`` and ``events.csv`` (README, "Output files")."""

    scenario: Scenario
    summary: dict
    metrics: pd.DataFrame
    events: pd.DataFrame
    run_dir: Path | None
    """The run directory, when ``simulate`` was given ``out``."""

    @property
    def status(self) -> str:
        """``completed``, ``stalled`` or ``diverged`` (README, "Reliability")."""
        return self.summary["status"]

    def accuracy_figure(self) -> Figure:
        """Test accuracy over simulated time, with the target and when it was reached."""
        return accuracy_figure(self.metrics, self.summary, None, constant_settings(self.metrics),
                               self.scenario.start_hour or None)

    def staleness_figure(self) -> Figure:
        """Histogram of the staleness of the applied updates."""
        return staleness_figure(self.events, self.summary)

    def timeline_figure(self) -> Figure:
        """What every device did over simulated time."""
        return timeline_figure(self.events, self.summary)


def simulate(scenario: str | Path | Mapping[str, Any] | Scenario, *, overrides: Mapping[str, Any] | None = None,
             seed: int | None = None, out: str | Path | None = None,
             on_evaluation: Callable[[dict], None] | None = None, device: str = "auto",
             progress: bool = False) -> Result:
    """Run ``scenario`` once and return its ``Result``.

    ``scenario``: a YAML file's path (relative paths inside it start from its folder), a mapping shaped like
    the file (relative paths start from the current folder), or a ``Scenario``. ``overrides`` maps dotted
    keys to values, applied in order before validation, like ``--set`` (``{"stop.max_rounds": 5}``);
    ``seed`` replaces the root seed. ``out``: a new run directory to keep (``edgesim plot`` reads it), or
    ``None``. ``on_evaluation`` is called with each evaluated ``metrics.csv`` row as a dict while the run
    goes on. ``device``: ``auto`` (a GPU if there is one), ``cpu``, ``cuda`` or ``cuda:N``.

    A scenario's ``sweep`` block is ignored (sweeps run with ``edgesim sweep``). The same scenario, seed and
    torch thread count give the same tables. Raises ``edgesim.errors.InputError`` (its ``problems`` name
    each YAML path) for a bad scenario or an ``out`` that is not empty, before anything runs; an error once
    the run has started propagates after its summary is written to ``out``.
    """
    if isinstance(scenario, Scenario):
        data, base_dir = scenario.model_dump(mode="json", by_alias=True), None
    elif isinstance(scenario, Mapping):
        data, base_dir = dict(scenario), None
    else:
        data, base_dir = read_raw(scenario), Path(scenario).parent
    for key, value in (overrides or {}).items():
        data = set_dotted(data, key, value)
    if seed is not None:
        data = set_dotted(data, "seed", seed)
    data.pop("sweep", None)
    validated = validate(data, base_dir=base_dir)
    console = Console(stderr=True, emoji=False)
    compute = Compute(device)
    evaluated = on_evaluation or (lambda row: None)
    if out is not None:
        return _read_back(validated, run_scenario(validated, Path(out), console, progress, compute,
                                                  on_evaluation=evaluated).run_dir, keep=True)
    with tempfile.TemporaryDirectory(prefix="edgesim-") as folder:
        run_dir = run_scenario(validated, Path(folder) / "run", console, progress, compute,
                               on_evaluation=evaluated).run_dir
        return _read_back(validated, run_dir, keep=False)


def _read_back(scenario: Scenario, run_dir: Path, keep: bool) -> Result:
    metrics = read_metrics(run_dir)
    return Result(scenario, read_summary(run_dir), metrics if metrics is not None else pd.DataFrame(),
                  read_events(run_dir), run_dir if keep else None)
