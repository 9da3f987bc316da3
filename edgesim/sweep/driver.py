"""What every executor shares: which variants still need running, the worker entry point, ``sweep.csv``.

A sweep runs each variant in its own run directory (``<sweep dir>/run-<index>``).
A variant whose directory already holds a completed summary for the same
resolved scenario is skipped, so re-running an interrupted sweep only runs
what is missing. A variant that fails is recorded with its error in
``sweep.csv``; the others still run. ``sweep.csv`` is rewritten whenever a
variant ends (``pending`` marks those still to come), so an interrupted sweep
keeps its table.

An executor (``LocalExecutor``, ``RayExecutor``) only decides where the jobs
run: it is a context manager whose ``run(jobs)`` yields ``(job, summary)`` as
each job ends, every job having gone through ``run_variant``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from edgesim.compute import Compute
from edgesim.scenario import Scenario, Variant
from edgesim.sweep.table import write_sweep_table


@dataclass(frozen=True)
class Job:
    """One variant to run: its position in the sweep, its scenario as JSON data, where its results go, and
    where it trains (torch threads, device and trainer)."""

    index: int
    scenario: dict
    run_dir: Path
    threads: int
    compute: Compute = Compute("auto")


class Executor(Protocol):
    threads: int  # torch's thread count per job

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc_info) -> None: ...

    def run(self, jobs: list[Job]) -> Iterator[tuple[Job, dict]]: ...


def failure(exc: BaseException) -> dict:
    """The summary recorded for a variant that raised."""
    return {"status": f"failed: {type(exc).__name__}: {exc}"}


def _completed_summary(scenario: Scenario, run_dir: Path) -> dict | None:
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        resolved = yaml.safe_load((run_dir / "scenario.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    try:  # through today's schema, so that keys added since (with their defaults) do not count as a change
        stored = Scenario.model_validate(resolved)
    except ValueError:
        return None
    same = _comparable(stored) == _comparable(scenario)
    return summary if same and summary.get("status") == "completed" else None


def _comparable(scenario: Scenario) -> dict:
    return scenario.model_dump(mode="json", by_alias=True, exclude={"sweep"})


def run_variant(scenario_data: dict, run_dir: str, torch_threads: int, compute: Compute = Compute("auto")) -> dict:
    """Worker entry point: run one variant quietly; failures come back as a summary."""
    import torch
    from rich.console import Console

    from edgesim.runner import run_scenario

    torch.set_num_threads(torch_threads)
    try:
        scenario = Scenario.model_validate(scenario_data)
        return run_scenario(scenario, Path(run_dir), Console(quiet=True), show_progress=False,
                            compute=compute).summary
    except Exception as exc:  # recorded in sweep.csv; the sweep goes on
        return failure(exc)


def run_sweep(variants: list[Variant], sweep_dir: Path, executor: Executor | None = None,
              console: Console | None = None, compute: Compute = Compute("auto")) -> Path:
    """Run the variants not yet complete in ``sweep_dir`` on ``executor`` (default: one local worker),
    training where ``compute`` says (``auto`` is resolved by each worker)."""
    if executor is None:
        from edgesim.sweep.local import LocalExecutor

        executor = LocalExecutor()
    console = console or Console(stderr=True)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    table = sweep_dir / "sweep.csv"
    run_dirs = [f"run-{v.index:03d}" for v in variants]
    summaries: list[dict | None] = [_completed_summary(v.scenario, sweep_dir / d) for v, d in zip(variants, run_dirs)]
    jobs = [Job(i, variants[i].scenario.model_dump(mode="json", by_alias=True), sweep_dir / run_dirs[i],
                executor.threads, compute)
            for i, summary in enumerate(summaries) if summary is None]
    if len(jobs) < len(variants):
        console.print(f"{len(variants) - len(jobs)} of {len(variants)} variants already complete; skipping them")
    write_sweep_table(table, variants, run_dirs, summaries)
    if not jobs:
        return sweep_dir
    columns = (TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with executor, Progress(*columns, console=console) as bar:
        task = bar.add_task("sweep", total=len(jobs))
        for job, summary in executor.run(jobs):
            summaries[job.index] = summary
            write_sweep_table(table, variants, run_dirs, summaries)
            bar.advance(task)
    return sweep_dir
