"""Run one scenario end to end and write its run directory.

Order of work: write the resolved scenario; load data and partition it over
the devices; move the data to the training device (``Compute``); build the algorithm, the fleet and the protocol; run the SimPy
clock until the stop rule or the horizon; evaluate the final model on the
full test set; write ``summary.json``. The tables are flushed as the run
goes and the summary is written even when the run fails or is interrupted
(with its ``status``), so nothing already computed is lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import simpy
import torch
from rich.console import Console

from edgesim.compute import Compute
from edgesim.coordinator import AsyncCoordinator, SyncCoordinator, ineligible, metric_columns
from edgesim.data import load_dataset, partition
from edgesim.errors import InputError
from edgesim.fl.algorithm import AlgorithmSetup
from edgesim.fl.registry import algorithm_class, build_algorithm
from edgesim.progress import SimulatedTimeBar
from edgesim.results.run_dir import write_scenario, write_summary
from edgesim.results.tables import CsvTable
from edgesim.scenario import Scenario
from edgesim.seeding import Streams
from edgesim.sim.build import build_fleet
from edgesim.sim.clock import run_clock
from edgesim.sim.event_log import EventLog
from edgesim.sim.fleet import Fleet
from edgesim.sim.kasync import AsyncSettings, KAsyncServer
from edgesim.sim.links import FlowScheduler
from edgesim.sim.sync_rounds import SyncServer, SyncSettings
from edgesim.sim.task import TaskRunner
from edgesim.taxonomy.for_dataset import dataset_taxonomy


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    summary: dict


def _sync_settings(scenario: Scenario) -> SyncSettings:
    server = scenario.server
    return SyncSettings(server.clients_per_round, server.min_clients or server.clients_per_round,
                        server.over_selection, server.deadline_s)


def run_scenario(scenario: Scenario, run_dir: Path, console: Console | None = None,
                 show_progress: bool = True, compute: Compute = Compute("auto")) -> RunResult:
    """Run ``scenario`` into ``run_dir``, training where ``compute`` says (default: a GPU if there is one)."""
    console = console or Console(stderr=True)
    started = time.perf_counter()
    compute = compute.resolved()
    run_dir.mkdir(parents=True, exist_ok=True)
    write_scenario(scenario, run_dir)
    streams = Streams(scenario.seed)
    summary = {"scenario": scenario.name, "algorithm": scenario.algorithm.name, "seed": scenario.seed,
               "status": "running", **compute.describe()}

    dataset = load_dataset(scenario.dataset, streams.rng("data"))
    parts = partition(dataset.train_y.numpy(), scenario.device_count, scenario.dataset.partition,
                      streams.rng("partition"))
    taxonomy = (dataset_taxonomy(scenario.dataset, dataset.class_names)
                if algorithm_class(scenario.algorithm.name).needs_taxonomy else None)
    dataset = dataset.to(compute.torch_device)
    setup = AlgorithmSetup(dataset, [torch.from_numpy(p) for p in parts], scenario.model, streams, taxonomy, compute)
    algorithm = build_algorithm(scenario.algorithm, setup)

    env = simpy.Environment()
    log = EventLog(run_dir / "events.csv")
    metrics = CsvTable(run_dir / "metrics.csv", metric_columns(algorithm))
    fleet_plan = build_fleet(scenario, streams)
    footprint = algorithm.min_footprint_bytes()
    excluded = ineligible(fleet_plan.devices, footprint)
    for device in excluded:
        log.emit(0.0, device.id, "excluded", nbytes=footprint)
    _report_exclusions(console, excluded, len(fleet_plan.devices), footprint)
    settings = _sync_settings(scenario)
    needed = settings.min_clients if algorithm.protocol == "sync" else 1
    if len(fleet_plan.devices) - len(excluded) < needed:
        log.close()
        metrics.close()
        raise InputError("fleet: too few devices can hold the training footprint to fill a round "
                         "(raise fleet.memory_fraction, use a smaller model, or add devices)")

    fleet = Fleet(env, fleet_plan.devices, log)
    fleet.start(fleet_plan.availability, fleet_plan.outages)
    bar = SimulatedTimeBar(scenario.name, scenario.stop.horizon_s, console, enabled=show_progress)
    tasks = TaskRunner(env, FlowScheduler(env), log)
    if algorithm.protocol == "sync":
        coordinator = SyncCoordinator(scenario, algorithm, dataset, metrics, on_progress=bar.update)
        server = SyncServer(env, fleet, tasks, log, coordinator, settings, streams.rng("selection"))
    else:
        coordinator = AsyncCoordinator(scenario, algorithm, dataset, metrics, on_progress=bar.update,
                                       oldest_live_version=lambda: min(server.model_version_of.values(),
                                                                       default=server.version))
        server = KAsyncServer(env, fleet, tasks, log, coordinator, AsyncSettings(algorithm.initial_k()))
    env.process(server.process())

    progress = coordinator.progress
    try:
        with bar:
            run_clock(env, server.stopped | env.timeout(scenario.stop.horizon_s))
        final = algorithm.evaluate(dataset.test_x, dataset.test_y)
        summary["status"] = "completed"
        summary["final_accuracy"] = final["accuracy"]
        summary["final_loss"] = final["loss"]
        summary["final_metrics"] = final
    except KeyboardInterrupt:
        summary["status"] = "interrupted"
        raise
    except Exception as exc:
        summary["status"] = f"failed: {type(exc).__name__}: {exc}"
        raise
    finally:
        log.close()
        metrics.close()
        summary.update({
            "stop_reason": progress.stop_reason if summary["status"] == "completed" else None,
            "sim_time_s": env.now,
            "rounds": progress.rounds,
            "model_version": progress.version,
            "best_accuracy": progress.best_accuracy,
            "target_accuracy": scenario.stop.target_accuracy,
            "time_to_target_s": progress.time_to_target_s,
            "bytes_up": log.bytes["upload_end"],
            "bytes_down": log.bytes["download_end"],
            "updates_applied": log.counts["update_applied"],
            "updates_discarded": log.counts["update_discarded"],
            "failures": log.counts["failure"],
            "devices": len(fleet_plan.devices),
            "devices_excluded": len(excluded),
            "model": algorithm.describe(),
            "wall_time_s": round(time.perf_counter() - started, 3),
            "torch_threads": torch.get_num_threads(),
        })
        summary.setdefault("final_accuracy", None)
        write_summary(summary, run_dir)
    return RunResult(run_dir, summary)


def _report_exclusions(console: Console, excluded, total: int, footprint: int) -> None:
    if not excluded:
        return
    groups = sorted({d.group for d in excluded})
    console.print(
        f"[yellow]{len(excluded)} of {total} devices cannot hold the training footprint "
        f"({footprint / 1e6:.1f} MB) and will not take part: groups {', '.join(groups)}[/yellow]"
    )
