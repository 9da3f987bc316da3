"""Load a sweep directory into tidy pandas frames (shared by the reproduction reports)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from edgesim.plots.data import read_metrics
from edgesim.contract import SCENARIO_FILE, SWEEP_FILE
from edgesim.errors import InputError
from edgesim.scenario import Scenario, load_scenario
from edgesim.yaml_file import read_yaml_mapping


def check_sweep(sweep_dir: Path, *scenarios: str) -> None:
    """Raise ``ValueError`` unless ``sweep_dir`` is an ``edgesim sweep`` folder (it holds ``sweep.csv``) whose
    runs ran a scenario named one of ``scenarios`` (its ``name:``); runs not started yet (no ``scenario.yaml``)
    are not checked, so a sweep just begun passes."""
    if not (sweep_dir / SWEEP_FILE).is_file():
        raise ValueError(f"{sweep_dir} is not a sweep folder (it has no {SWEEP_FILE}): give the --out folder of "
                         f"`edgesim sweep`")
    other = sorted(scenario_names(sweep_dir) - set(scenarios))
    if other:
        raise ValueError(f"{sweep_dir} holds runs of scenario {', '.join(other)}, not of {' or '.join(scenarios)}: "
                         f"give the sweep of scenarios/paper/{scenarios[0]}.yaml")


def scenario_names(sweep_dir: Path) -> set[str]:
    """The ``name:`` of every scenario the runs in ``sweep_dir`` ran (their ``scenario.yaml``; none for a run not
    started); ``ValueError`` where one cannot be read."""
    try:
        return {str(read_yaml_mapping(path, "run's scenario").get("name"))
                for path in sorted(sweep_dir.glob(f"*/{SCENARIO_FILE}"))}
    except InputError as error:
        raise ValueError(str(error)) from None


def require_sweeps(parser: argparse.ArgumentParser, given: list[tuple[Path | None, tuple[str, ...]]]) -> None:
    """``check_sweep(folder, *scenarios)`` for each given ``(folder, scenarios)`` (a folder of None, an option
    left out, is skipped); the first failure ends the script with its message, through ``parser.error``."""
    for sweep_dir, scenarios in given:
        if sweep_dir is not None:
            try:
                check_sweep(sweep_dir, *scenarios)
            except ValueError as error:
                parser.error(str(error))


def runs(sweep_dir: Path) -> pd.DataFrame:
    """``sweep.csv`` with each run's ``summary.json`` model facts merged in (prefixed ``model.``)."""
    table = pd.read_csv(sweep_dir / SWEEP_FILE)
    facts = []
    for run_dir in table["run_dir"]:
        path = sweep_dir / run_dir / "summary.json"
        summary = json.loads(path.read_text()) if path.is_file() else {}
        facts.append({f"model.{k}": v for k, v in (summary.get("model") or {}).items()})
    return pd.concat([table, pd.DataFrame(facts)], axis=1)


def stored_scenario(run_dir: Path) -> Scenario:
    """The resolved scenario a run wrote (its ``scenario.yaml``), read through today's schema: a sweep
    case's settings that ``sweep.csv`` names only by the case."""
    return load_scenario(run_dir / SCENARIO_FILE)


def metrics(sweep_dir: Path, table: pd.DataFrame) -> pd.DataFrame:
    """Every run's ``metrics.csv`` (or ``metrics.csv.gz``) stacked, with its ``run_dir`` and parameters as
    columns."""
    frames = []
    for _, row in table.iterrows():
        frame = read_metrics(sweep_dir / row["run_dir"])
        if frame is not None:
            frame = frame.assign(run_dir=row["run_dir"])
            for column in table.columns:
                if column in ("case", "seed", "variant") or column.startswith(("algorithm.", "fleet.")):
                    frame[column] = row[column]
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def mean_std(values: pd.Series, scale: float = 100.0, digits: int = 2, count: bool = True) -> str:
    """``mean ± std (n)`` of ``values`` times ``scale`` (percent by default) with ``digits`` decimals; std
    needs two values, ``(n)`` is left out when ``count`` is false; ``–`` when there is none."""
    values = values.dropna() * scale
    n = f" (n={len(values)})" if count else ""
    if values.empty:
        return "–"
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f}{n}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}{n}"


def markdown_table(frame: pd.DataFrame, floatfmt: str = ".4f") -> str:
    """A GitHub-flavoured markdown table of ``frame``."""
    def cell(value):
        return format(value, floatfmt) if isinstance(value, float) else str(value)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])
