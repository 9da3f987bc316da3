"""Where a run's files go and how the resolved scenario and summary are written."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import yaml

from edgesim.scenario import Scenario


def default_run_dir(scenario: Scenario, root: Path = Path("runs")) -> Path:
    """``runs/<name>-<timestamp>``, made unique with a suffix if it exists."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = root / f"{scenario.name}-{stamp}"
    suffix = 1
    while candidate.exists():
        suffix += 1
        candidate = root / f"{scenario.name}-{stamp}-{suffix}"
    return candidate


def write_scenario(scenario: Scenario, run_dir: Path) -> None:
    """The resolved scenario, every default filled in; it re-runs to the same results."""
    data = scenario.model_dump(mode="json", by_alias=True, exclude={"sweep"})
    (run_dir / "scenario.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def write_summary(summary: dict, run_dir: Path) -> None:
    path = run_dir / "summary.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
