"""What ``summary.json`` says of a run: its status and reason once the clock has ended, and the figures the
run reached (README, "Output files")."""

from __future__ import annotations

import torch

from edgesim import outcome
from edgesim.coordinator import Coordinator, Progress
from edgesim.journal import Journal
from edgesim.preflight import Prepared
from edgesim.results.staleness import staleness_statistics
from edgesim.sim.engine import Ending, Engine
from edgesim.sim.event_log import EventLog


def ending_status(progress: Progress, ending: Ending) -> tuple[str, str | None]:
    """The status and reason of a run whose clock has ended."""
    if progress.diverged:
        return outcome.DIVERGED, f"training diverged: {progress.diverged}"
    if ending.no_progress:
        return outcome.STALLED, f"the clock cannot progress: {ending.no_progress} ({ending.waiting_for})"
    if ending.version == 0 and progress.stop_reason != "target":
        return outcome.STALLED, f"no update was applied{'' if ending.stopped else ' before the horizon'}: " \
                                f"{ending.waiting_for}"
    return outcome.COMPLETED, None


def energy_fields(engine: Engine | None, prepared: Prepared, progress: Progress, log: EventLog) -> dict:
    """Energy in joules (``edgesim.sim.energy``): what the fleet's phases spent (``energy_j``, split into
    compute and transfer), the idle baseline beside it, the phases' energy when the target was reached, the
    energy of work that was lost and its share, how many devices' batteries ran low while the clock ran and
    how many started below their threshold to leave (``None`` in a fleet without batteries)."""
    meter = engine.meter if engine else None
    batteries = sum(1 for spec in prepared.fleet.device_battery if spec is not None)
    total = meter.total_j if meter else 0.0
    lost = meter.wasted_j if meter else 0.0
    return {
        "energy_j": total,
        "energy_compute_j": meter.compute_j if meter else 0.0,
        "energy_transfer_j": meter.transfer_j if meter else 0.0,
        "energy_idle_j": meter.idle_j((d.power for d in prepared.fleet.devices), engine.now) if meter else 0.0,
        "energy_to_target_j": progress.energy_to_target_j,
        "energy_lost_j": lost,
        "energy_lost_share": lost / total if total else None,
        "battery_devices": batteries,
        "battery_dropouts": (engine.fleet.battery_dropouts if engine else 0) if batteries else None,
        "battery_low_at_start": (engine.fleet.battery_low_at_start if engine else 0) if batteries else None,
    }


def summary_fields(status: str, coordinator: Coordinator | None, engine: Engine | None, prepared: Prepared,
                   log: EventLog, journal: Journal) -> dict:
    """Everything ``summary.json`` holds besides the run's identity, status, reason and final evaluation, from
    wherever the run stopped (before the clock started, ``coordinator`` and ``engine`` are ``None``)."""
    progress = coordinator.progress if coordinator is not None else Progress()
    return {
        "stop_reason": progress.stop_reason if status == outcome.COMPLETED else None,
        "sim_time_s": engine.now if engine else 0.0,
        "rounds": progress.rounds,
        "model_version": engine.server.version if engine else 0,
        "best_accuracy": progress.best_accuracy,
        "target_accuracy": prepared.scenario.stop.target_accuracy,
        "time_to_target_s": progress.time_to_target_s,
        "rounds_to_target": progress.rounds_to_target,
        "accuracy_at_target": None if progress.time_to_target_s is None else {
            "full_test": progress.target_full_test_accuracy,
            "subset": progress.target_evaluation_accuracy if coordinator.subset else None},
        "unconfirmed_target_crossings": progress.unconfirmed_target_crossings,
        **energy_fields(engine, prepared, progress, log),
        "evaluation_samples": len(prepared.dataset.eval_idx),
        "bytes_up": log.bytes["upload_end"],
        "bytes_down": log.bytes["download_end"],
        "updates_applied": log.counts["update_applied"],
        "updates_discarded": log.counts["update_discarded"],
        **staleness_statistics(log.staleness),
        "failures": log.counts["failure"],
        "devices": len(prepared.fleet.devices),
        "devices_excluded": len(prepared.excluded),
        "model": prepared.algorithm.describe(),
        "wall_time_s": round(journal.wall_time_s(), 3),
        "torch_threads": torch.get_num_threads(),
        "checkpoints": {"taken": journal.checkpoints, "write_s": round(journal.checkpoint_seconds, 3),
                        "replay_s": round(journal.replay_seconds, 3)},
    }
