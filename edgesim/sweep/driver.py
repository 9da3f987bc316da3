"""The sweep driver: each variant's state, its jobs run on an executor, and ``sweep.csv``.

A sweep runs each variant in its own run directory (``<sweep dir>/run-<index>``)
and holds a lock on the sweep directory while it runs. ``--out`` must be new
or empty, unless the sweep is asked to ``resume`` (or ``overwrite``). Resuming
a directory that does not exist (or is empty) says so and starts the sweep;
resuming one that holds another sweep is refused: run directories of a scenario
of another name, or more variants (``sweep.csv`` rows, ``run-<index>``
folders) than the sweep has now, whose runs it would drop. When resuming,
each variant's directory is looked at (``variant_state``):

- a summary that belongs to the ``scenario.yaml`` beside it, for the same
  resolved scenario as the variant's now, with a status a re-run would
  reproduce (completed, stalled, diverged): the variant is skipped;
- the same scenario and a checkpoint: the run is resumed from it;
- anything else (another scenario, nothing yet): the variant runs afresh.

A sweep may be asked to run ``only`` some variants (``--only``, ``sweep/selection.py``): the others keep
the state their directories hold, so a sweep can be run part by part in one directory.

A variant that fails is recorded with its error in ``sweep.csv`` (``invalid``
when its scenario failed the pre-flight checks); the others still run.
``sweep.csv`` is rewritten whenever a variant ends (``pending`` marks those
not ended yet), and once more after an interruption, with the real state of
every variant that was under way read back from its directory (``interrupted``,
resumable from its checkpoint, or what its summary says), so an interrupted
sweep keeps its table.

An executor (``LocalExecutor``, ``RayExecutor``) only decides where the jobs
run: it is a context manager whose ``run(jobs)`` yields ``(job, summary)`` as
each job ends, every job having gone through ``run_variant`` (``sweep/job.py``); leaving the
context stops whatever still runs.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from edgesim import outcome
from edgesim.compute import Compute
from edgesim.contract import CHECKPOINT_DIR, LABELS_FILE, SCENARIO_FILE, SWEEP_FILE
from edgesim.errors import OutputError, brief
from edgesim.journal import CheckpointPolicy
from edgesim.results.checkpoint import STATE_FILE
from edgesim.results.run_dir import (DirectoryLock, clear_owned_files, other_entries, read_summary,
                                     summary_belongs)
from edgesim.scenario import Scenario, Variant, scenario_text
from edgesim.sweep.job import Job
from edgesim.sweep.local import LocalExecutor
from edgesim.sweep.table import write_labels, write_sweep_table

PENDING = "pending"


class Executor(Protocol):
    threads: int  # torch's thread count per job

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc_info) -> None: ...

    def run(self, jobs: list[Job]) -> Iterator[tuple[Job, dict]]: ...


def variant_state(scenario: Scenario, run_dir: Path) -> tuple[str, dict | None]:
    """``("finished", summary)``, ``("resumable", summary or None)`` or ``("fresh", summary or None)``: what
    ``run_dir`` holds for ``scenario`` (the summary, if any, belongs to the scenario.yaml beside it)."""
    summary = read_summary(run_dir)
    if summary is not None and not summary_belongs(run_dir, summary):
        summary = None
    if not _same_scenario(scenario, run_dir):
        return "fresh", None
    if summary is not None and summary.get("status") in outcome.FINISHED:
        return "finished", summary
    if (run_dir / CHECKPOINT_DIR / STATE_FILE).is_file():
        return "resumable", summary
    return "fresh", summary


def _same_scenario(scenario: Scenario, run_dir: Path) -> bool:
    """Whether the run directory's scenario.yaml, read through today's schema (so that keys added since, with
    their defaults, do not count as a change), is ``scenario``."""
    try:
        stored = Scenario.model_validate(yaml.safe_load((run_dir / SCENARIO_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, yaml.YAMLError):
        return False
    return scenario_text(stored) == scenario_text(scenario)


def run_sweep(variants: list[Variant], sweep_dir: Path, executor: Executor | None = None,
              console: Console | None = None, compute: Compute = Compute("auto"), mode: str = "new",
              checkpoints: CheckpointPolicy = CheckpointPolicy(), only: Collection[int] | None = None) -> list[dict]:
    """Run the variants into ``sweep_dir`` (``mode``: ``new``, ``resume`` or ``overwrite``) on ``executor``
    (default: one local worker), training where ``compute`` says (``auto`` is resolved by each worker).
    ``only``: the indexes of the variants to run (default all; ``sweep/selection.py``); the others are not
    run, and keep the state their directories hold (``pending`` when nothing of their scenario's).
    Returns every variant's summary, in variant order."""
    chosen = set(range(len(variants)) if only is None else only)
    if executor is None:
        executor = LocalExecutor()
    console = console or Console(stderr=True, emoji=False)
    with _sweep_directory(Path(sweep_dir), mode, partial=len(chosen) < len(variants)) as found:
        if mode == "resume" and not found:
            console.print(escape(f"nothing to resume in {sweep_dir}: starting the sweep"), highlight=False,
                          soft_wrap=True)
        elif mode == "resume":
            _check_same_sweep(Path(sweep_dir), variants)
        run_dirs = [f"run-{v.index:03d}" for v in variants]
        states = [variant_state(v.scenario, sweep_dir / d) if mode == "resume" else ("fresh", None)
                  for v, d in zip(variants, run_dirs)]
        summaries: list[dict | None] = [summary if state == "finished" else None for state, summary in states]
        outdated = [i for i, (state, _) in enumerate(states)  # a run of an earlier version of the scenario
                    if mode == "resume" and state == "fresh" and (sweep_dir / run_dirs[i] / SCENARIO_FILE).is_file()]
        for i in sorted(set(range(len(variants))) - chosen):
            if summaries[i] is None:
                summaries[i] = _not_chosen(*states[i], i in outdated)
        jobs = [Job(i, variants[i].scenario.model_dump(mode="json", by_alias=True), sweep_dir / run_dirs[i],
                    executor.threads, compute, "resume" if state == "resumable" else "overwrite", checkpoints)
                for i, (state, _) in enumerate(states) if state != "finished" and i in chosen]
        _say_what_runs(console, len(variants), chosen, jobs, [run_dirs[i] for i in outdated if i in chosen],
                       [run_dirs[i] for i in outdated if i not in chosen])
        table = Path(sweep_dir) / SWEEP_FILE
        write_sweep_table(table, variants, run_dirs, summaries)
        write_labels(Path(sweep_dir) / LABELS_FILE, variants)
        if not jobs:
            return summaries
        columns = (TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        try:
            with executor, Progress(*columns, console=console) as bar:
                task = bar.add_task("sweep", total=len(jobs))
                for job, summary in executor.run(jobs):
                    summaries[job.index] = summary
                    write_sweep_table(table, variants, run_dirs, summaries)
                    bar.advance(task)
        except KeyboardInterrupt:
            for job in jobs:  # the executor has stopped every worker: read what each left behind
                if summaries[job.index] is None:
                    summaries[job.index] = _left_behind(variants[job.index].scenario, job.run_dir)
            write_sweep_table(table, variants, run_dirs, summaries)
            raise
    return summaries


def _say_what_runs(console: Console, variants: int, chosen: set[int], jobs: list[Job], changed: list[str],
                   changed_left_out: list[str]) -> None:
    """Say which of the sweep's ``variants`` (a count) run: how many ``--only`` chose, how many of those
    are finished or resumed, and which run directories hold a run of an earlier version of their
    scenario (``changed`` run again, ``changed_left_out`` stay pending)."""
    if len(chosen) < variants:
        console.print(f"--only: {len(chosen)} of {variants} variants chosen; the others keep the state their "
                      "directories hold")
    done = len(chosen) - len(jobs)
    if done:
        console.print(f"{done} of {len(chosen)} {'chosen ' * (len(chosen) < variants)}variants already finished; "
                      "skipping them")
    for dirs, what in ((changed, "running {} again"), (changed_left_out, "left out by --only: pending")):
        if dirs:
            many = len(dirs) > 1
            listed = ", ".join(dirs[:8]) + (f" and {len(dirs) - 8} more" if len(dirs) > 8 else "")
            console.print(f"{len(dirs)} variant{'s' * many} changed since {'their' if many else 'its'} run "
                          f"({listed}): {what.format('them' if many else 'it')}", soft_wrap=True)
    resumed = sum(1 for job in jobs if job.mode == "resume")
    if resumed:
        console.print(f"resuming {resumed} interrupted variant{'s' * (resumed > 1)} from "
                      f"{'their checkpoints' if resumed > 1 else 'its checkpoint'}")


def _left_behind(scenario: Scenario, run_dir: Path) -> dict:
    """The state of a variant that had not ended when the sweep stopped, from its directory: ``pending``
    unless the directory holds this scenario's run (a summary of another scenario's is never reported)."""
    return _state_summary(*variant_state(scenario, run_dir))


def _state_summary(state: str, summary: dict | None) -> dict:
    """What ``sweep.csv`` records for a variant not run to its end, from ``variant_state``'s answer."""
    if state == "fresh" and summary is None:
        return {"status": PENDING}
    if summary is not None:
        return summary
    return {"status": outcome.INTERRUPTED, "reason": "the sweep stopped; --resume continues it"}


def _not_chosen(state: str, summary: dict | None, outdated: bool) -> dict:
    """The state of a variant ``--only`` left out that has not finished, from ``variant_state``'s answer
    (``fresh`` and no summary unless resuming); a ``pending`` one says why, and whether its directory
    holds a run of an earlier version of its scenario (``outdated``). (An ``invalid`` or ``failed``
    variant leaves no finished run: it is ``pending`` here, as a resume would run it again.)"""
    left = _state_summary(state, summary)
    if left["status"] != PENDING:
        return left
    reason = "not chosen by --only" + ("; its run is of an earlier version of the scenario" if outdated else "")
    return {"status": PENDING, "reason": reason}


def _check_same_sweep(path: Path, variants: list[Variant]) -> None:
    """``OutputError`` unless resuming ``variants`` in ``path`` keeps every run it holds: its run directories
    must be of a scenario of the same name, and the sweep must have at least as many variants as ``sweep.csv``
    has rows and as the directory has ``run-<index>`` folders (the others would be left out of the table)."""
    again = "; give --overwrite to replace it, or another --out"
    names = {v.scenario.name for v in variants}
    run_dirs = sorted(p for p in path.glob("run-[0-9][0-9][0-9]*") if p.name[4:].isdigit() and p.is_dir())
    for run_dir in run_dirs:
        stored = _stored_name(run_dir)
        if stored is not None and stored not in names:
            raise OutputError(f"{path}: holds a sweep of scenario {brief(stored)} ({run_dir.name}), not "
                              f"of {brief(variants[0].scenario.name)}{again}")
    rows = _table_rows(path / SWEEP_FILE)
    kept = max([rows, *(int(d.name[4:]) + 1 for d in run_dirs)])
    if kept > len(variants):
        raise OutputError(f"{path}: holds a sweep of {kept} variants and this one has {len(variants)}; "
                          f"resuming would drop the others' runs{again}")


def _stored_name(run_dir: Path) -> str | None:
    """The ``name`` in the run directory's scenario.yaml, or ``None`` without a readable one."""
    try:
        stored = yaml.safe_load((run_dir / SCENARIO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    name = stored.get("name") if isinstance(stored, dict) else None
    return None if name is None else str(name)


def _table_rows(table: Path) -> int:
    """How many variants ``sweep.csv`` lists (0 if it cannot be read)."""
    try:
        with open(table, encoding="utf-8", newline="") as handle:
            return max(0, sum(1 for row in csv.reader(handle) if row) - 1)
    except (OSError, ValueError, csv.Error):
        return 0


@contextmanager
def _sweep_directory(path: Path, mode: str, partial: bool = False):
    """Hold the sweep directory's lock; ``new`` must find it empty, ``resume`` a sweep or nothing, and
    ``overwrite`` clears edgesim's files from it, a sweep's or a run's (``owned_files``). Yields whether
    the directory held anything (besides the lock). ``partial``: only some variants are to run
    (``--only``), which ``overwrite`` cannot serve."""
    lock = DirectoryLock(path, "sweep directory")
    try:
        entries = other_entries(path)
        a_sweep = (path / SWEEP_FILE).is_file()
        a_run = not a_sweep and (path / SCENARIO_FILE).is_file()
        run_hint = f", but a run, which `edgesim run --resume {path}` continues" if a_run else ""
        if entries and mode == "new":
            replace = "" if partial else "--overwrite to replace it, "
            if a_run:
                advice = "the sweep another --out" if partial else "--overwrite to replace it, or another --out"
                raise OutputError(f"{path}: holds no sweep{run_hint}; give {advice}")
            held = "holds a sweep" if a_sweep else f"is not empty ({_entries(len(entries))})"
            raise OutputError(f"{path}: {held}; give --resume to continue it, {replace}or another --out")
        if entries and mode == "resume" and not a_sweep:
            raise OutputError(f"{path}: holds no sweep (no {SWEEP_FILE}) to resume{run_hint}")
        if mode == "overwrite":
            clear_owned_files(path, "sweep directory")
    except BaseException:
        lock.abandon()
        raise
    try:
        yield bool(entries)
    finally:
        lock.release()


def _entries(n: int) -> str:
    return f"{n} {'entry' if n == 1 else 'entries'}"

