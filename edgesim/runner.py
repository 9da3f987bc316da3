"""Run one scenario end to end in its run directory, or resume one that stopped.

Order of work: open (and lock) the run directory; prepare everything the
clock needs and check it (``edgesim.preflight``, the checks ``validate``
makes); write the resolved scenario; build the fleet and the protocol; run
the SimPy clock until a stop rule or the horizon, checkpointing as it goes
(``edgesim.journal``); evaluate the final model on the full test set; write
``summary.json``. Whatever happens after the clock has started, the tables
are flushed and a summary with the run's status is written (``outcome``), so
nothing already computed is lost; a run stopped before its end keeps its
checkpoint for ``--resume``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from edgesim import outcome
from edgesim.compute import Compute
from edgesim.contract import SCENARIO_FILE
from edgesim.coordinator import Coordinator, metric_columns
from edgesim.errors import InputError, OutputError
from edgesim.journal import CheckpointPolicy, Journal
from edgesim.preflight import Prepared, prepare
from edgesim.progress import SimulatedTimeBar
from edgesim.results.checkpoint import remove_checkpoint
from edgesim.results.run_dir import RunDirectory, read_summary, sha256_text
from edgesim.results.tables import CsvTable
from edgesim.scenario import Scenario, scenario_text
from edgesim.seeding import Streams
from edgesim.signals import interruption_reason, signals_deferred
from edgesim.run_summary import ending_status, summary_fields
from edgesim.sim.energy import EnergyMeter
from edgesim.sim.engine import Engine, StopRules
from edgesim.sim.event_log import EventLog
from edgesim.sim.protocols import ProtocolContext, RoundRules


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    summary: dict


def run_scenario(scenario: Scenario, run_dir: Path, console: Console | None = None, show_progress: bool = True,
                 compute: Compute = Compute("auto"), mode: str = "new",
                 checkpoints: CheckpointPolicy = CheckpointPolicy(),
                 on_evaluation: Callable[[dict], None] = lambda row: None) -> RunResult:
    """Run ``scenario`` into ``run_dir`` (``mode``: ``new``, ``overwrite`` or ``resume``; see
    ``RunDirectory``), training where ``compute`` says (default: a GPU if there is one). ``on_evaluation``
    gets each evaluated ``metrics.csv`` row as a dict.

    Problems found before the clock starts raise ``InputError`` and leave no trace (nor does an interruption
    then); once it has started, the run ends with a summary whatever happens, and errors propagate after it.
    """
    console = console or Console(stderr=True, emoji=False)
    compute = compute.resolved()
    with RunDirectory.open(run_dir, mode) as directory:
        try:
            if mode == "resume":
                _check_resumable(directory, scenario)
            prepared = prepare(scenario, compute)
        except BaseException:
            directory.abandon()
            raise
        return _run(prepared, directory, console, show_progress, compute, mode == "resume", checkpoints,
                    on_evaluation)


def _check_resumable(directory: RunDirectory, scenario: Scenario) -> None:
    summary = read_summary(directory.path)
    if summary is not None and summary.get("status") in outcome.FINISHED:
        raise InputError(f"--resume {directory.path}: the run already ended ({summary['status']}); "
                         "there is nothing to resume")
    if scenario.output.events == "parquet":
        raise InputError(f"--resume {directory.path}: the run writes its events as Parquet (output.events), which "
                         "cannot be continued; run it again (--overwrite), or write events as CSV to resume runs")


def _run(prepared: Prepared, directory: RunDirectory, console: Console, show_progress: bool, compute: Compute,
         resuming: bool, checkpoints: CheckpointPolicy, on_evaluation: Callable[[dict], None]) -> RunResult:
    scenario, algorithm, plan = prepared.scenario, prepared.algorithm, prepared.fleet
    if resuming:
        sha256 = sha256_text((directory.path / SCENARIO_FILE).read_text(encoding="utf-8"))
    else:
        sha256 = directory.write_scenario(scenario_text(scenario))
    events_format = scenario.output.events
    if events_format == "parquet":  # a Parquet table is whole only once closed: nothing to continue from
        checkpoints = CheckpointPolicy(at_evaluations=False)
    log = EventLog(None, format=events_format)
    journal = Journal.for_run(directory, log, algorithm, checkpoints, sha256, resuming)
    directory.remove_summary()
    warnings = list(prepared.warnings)
    if resuming and journal.resume is None:
        warnings.append(f"{directory.path} has no checkpoint past the start: the run starts again from the "
                        "beginning")
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False, soft_wrap=True)
    columns = metric_columns(algorithm, subset=len(prepared.dataset.eval_idx) < len(prepared.dataset.test_y))

    def open_metrics(resume_at: int | None) -> CsvTable:
        return CsvTable(directory.metrics, columns, resume_at)

    rules = stop_rules(scenario)
    bar = SimulatedTimeBar(label_of(scenario, journal), rules.horizon_s, console, enabled=show_progress)
    coordinator, engine = None, None
    summary = {"scenario": scenario.name, "scenario_sha256": sha256, "algorithm": scenario.algorithm.name,
               "seed": scenario.seed, "status": outcome.RUNNING, "reason": None, **compute.describe()}
    try:
        journal.start()  # before any table exists: a run killed from here on resumes on its own thread count
        if journal.resume is None:
            log.attach(directory.events_in(events_format))
        for device in prepared.excluded:
            log.emit(0.0, device.id, "excluded", nbytes=prepared.footprint_bytes)
        meter = EnergyMeter()
        coordinator = Coordinator(scenario, algorithm, prepared.dataset, open_metrics, journal, rules, meter,
                                  on_progress=bar.update, on_evaluation=on_evaluation)
        engine = Engine(plan, log, scenario.server.protocol, coordinator, protocol_context(scenario, prepared.streams),
                        rules, meter)
        with bar:
            ending = engine.run()
        if journal.resume is not None:
            raise RuntimeError(f"the replayed clock ended at {ending.sim_time_s:.6f} s, before round "
                               f"{journal.resume.round} of the checkpoint")
        summary["status"], summary["reason"] = ending_status(coordinator.progress, ending)
        if summary["status"] != outcome.DIVERGED:  # a model with non-finite weights has no accuracy to report
            final = algorithm.evaluate(prepared.dataset.test_x, prepared.dataset.test_y)
            summary.update(final_accuracy=final["accuracy"], final_loss=final["loss"], final_metrics=final)
    except KeyboardInterrupt as exc:
        summary["status"] = outcome.INTERRUPTED
        summary["reason"] = interruption_reason(exc)
        raise
    except Exception as exc:
        summary["status"], summary["reason"] = outcome.FAILED, outcome.failure_reason(exc)
        raise
    finally:
        with signals_deferred():
            _finish(summary, directory, log, coordinator, journal, engine, prepared)
    return RunResult(directory.path, summary)


def stop_rules(scenario: Scenario) -> StopRules:
    stop = scenario.stop
    return StopRules(stop.horizon_s, stop.max_rounds, stop.stop_at_target, stop.patience, stop.energy_budget_j)


def protocol_context(scenario: Scenario, streams: Streams) -> ProtocolContext:
    """What the protocol server takes from the scenario besides its own block (its random stream is
    ``selection``)."""
    server = scenario.server
    rounds = RoundRules(server.clients_per_round, server.min_clients or server.clients_per_round,
                        server.over_selection, server.deadline_s, server.selection)
    return ProtocolContext(streams.rng("selection"), rounds, getattr(scenario.algorithm, "k", None))


def label_of(scenario: Scenario, journal: Journal) -> str:
    return f"{scenario.name} (replaying to round {journal.resume.round})" if journal.resume else scenario.name


def _finish(summary: dict, directory: RunDirectory, log: EventLog, coordinator: Coordinator | None,
            journal: Journal, engine: Engine | None, prepared: Prepared) -> None:
    """Close the tables and write the summary, whatever stopped the run (an output error is recorded)."""
    try:
        log.close()
        if coordinator is not None and coordinator.metrics is not None:
            coordinator.metrics.close()
    except OutputError as exc:
        if summary["status"] in (outcome.RUNNING, *outcome.FINISHED):
            summary["status"], summary["reason"] = outcome.FAILED, outcome.failure_reason(exc)
    for key in ("final_accuracy", "final_loss"):
        summary.setdefault(key, None)
    summary.update(summary_fields(summary["status"], coordinator, engine, prepared, log, journal))
    try:
        directory.write_summary(summary)
    except OutputError:
        if summary["status"] != outcome.FAILED:
            raise
    if summary["status"] in outcome.FINISHED:
        remove_checkpoint(directory.checkpoint)
