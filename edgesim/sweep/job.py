"""One variant's job and the worker entry point that runs it, shared by every executor.

A ``Job`` carries what a worker process needs (the scenario as JSON data, the run directory, threads,
where to train, how to open the directory); ``run_variant`` runs it quietly and turns any failure into
the summary ``sweep.csv`` records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgesim import outcome
from edgesim.compute import Compute
from edgesim.contract import CHECKPOINT_DIR, SCENARIO_FILE
from edgesim.errors import InputError, OutputError
from edgesim.journal import CheckpointPolicy
from edgesim.results.checkpoint import load_checkpoint
from edgesim.scenario import Scenario, load_scenario


@dataclass(frozen=True)
class Job:
    """One variant to run: its position in the sweep, its scenario as JSON data, where its results go,
    how to open that directory (``overwrite`` or ``resume``), and where it trains."""

    index: int
    scenario: dict
    run_dir: Path
    threads: int
    compute: Compute = Compute("auto")
    mode: str = "overwrite"
    checkpoints: CheckpointPolicy = CheckpointPolicy()


def failure(exc: BaseException) -> dict:
    """The summary recorded for a variant that raised: ``invalid`` for a scenario the pre-flight refused."""
    invalid = isinstance(exc, InputError) and not isinstance(exc, OutputError)
    return {"status": outcome.INVALID if invalid else outcome.FAILED, "reason": outcome.failure_reason(exc)}


def run_variant(job: Job) -> dict:
    """Worker entry point: run one variant quietly; failures come back as a summary."""
    import torch
    from rich.console import Console

    from edgesim.runner import run_scenario

    try:
        scenario = Scenario.model_validate(job.scenario)
        threads = job.threads
        if job.mode == "resume":  # the directory's own file (its checkpoint names that file's hash), and threads
            scenario = load_scenario(Path(job.run_dir) / SCENARIO_FILE)
            checkpoint = load_checkpoint(Path(job.run_dir) / CHECKPOINT_DIR)
            threads = checkpoint.torch_threads if checkpoint is not None else threads
        torch.set_num_threads(threads)
        return run_scenario(scenario, Path(job.run_dir), Console(quiet=True), show_progress=False,
                            compute=job.compute, mode=job.mode, checkpoints=job.checkpoints).summary
    except Exception as exc:  # recorded in sweep.csv; the sweep goes on
        return failure(exc)
