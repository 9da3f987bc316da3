"""Run sweep variants in a local process pool.

Each variant runs in its own process with its own run directory
(``<sweep dir>/run-<index>``). A variant whose directory already holds a
completed summary for the same resolved scenario is skipped, so re-running
an interrupted sweep only runs what is missing. A variant that fails is
recorded with its error in ``sweep.csv``; the others still run. ``sweep.csv``
is rewritten whenever a variant ends (``pending`` marks those still to come),
so an interrupted sweep keeps its table.
"""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from edgesim.scenario import Scenario, Variant
from edgesim.sweep.table import write_sweep_table


def _completed_summary(scenario: Scenario, run_dir: Path) -> dict | None:
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        resolved = yaml.safe_load((run_dir / "scenario.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    same = resolved == scenario.model_dump(mode="json", by_alias=True, exclude={"sweep"})
    return summary if same and summary.get("status") == "completed" else None


def run_variant(scenario_data: dict, run_dir: str, torch_threads: int) -> dict:
    """Worker entry point: run one variant quietly; failures come back as a summary."""
    import torch
    from rich.console import Console

    from edgesim.runner import run_scenario

    torch.set_num_threads(torch_threads)
    try:
        scenario = Scenario.model_validate(scenario_data)
        return run_scenario(scenario, Path(run_dir), Console(quiet=True), show_progress=False).summary
    except Exception as exc:  # recorded in sweep.csv; the sweep goes on
        return {"status": f"failed: {type(exc).__name__}: {exc}"}


def run_sweep(variants: list[Variant], sweep_dir: Path, workers: int = 1, console: Console | None = None,
              threads: int | None = None) -> Path:
    """Run the variants not yet complete in ``sweep_dir``; ``threads`` is torch's count per worker."""
    console = console or Console(stderr=True)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    table = sweep_dir / "sweep.csv"
    run_dirs = [f"run-{v.index:03d}" for v in variants]
    summaries: list[dict | None] = [_completed_summary(v.scenario, sweep_dir / d) for v, d in zip(variants, run_dirs)]
    todo = [i for i, s in enumerate(summaries) if s is None]
    if len(todo) < len(variants):
        console.print(f"{len(variants) - len(todo)} of {len(variants)} variants already complete; skipping them")
    threads = threads or max(1, (multiprocessing.cpu_count() or 1) // max(1, workers))
    columns = (TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar, ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        task = bar.add_task("sweep", total=len(todo))
        futures = {
            pool.submit(run_variant, variants[i].scenario.model_dump(mode="json", by_alias=True),
                        str(sweep_dir / run_dirs[i]), threads): i
            for i in todo
        }
        write_sweep_table(table, variants, run_dirs, summaries)
        for future in as_completed(futures):
            summaries[futures[future]] = future.result()
            write_sweep_table(table, variants, run_dirs, summaries)
            bar.advance(task)
    return sweep_dir
