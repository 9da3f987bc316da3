"""Connects synchronous rounds in simulated time to an algorithm's real training.

The sync server (simulation layer) calls ``plan_round`` before selecting
devices and ``close_round`` with the updates that arrived in time. Here those
become FLOPs, payloads and eligibility, then training, aggregation,
evaluation on the cadence of the scenario, a ``metrics.csv`` row, and the
decision to stop (target reached, or the last round done).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from edgesim.data import Dataset
from edgesim.fl.algorithm import Algorithm
from edgesim.results.run_dir import METRIC_COLUMNS
from edgesim.results.tables import CsvTable
from edgesim.scenario import Scenario
from edgesim.sim.device import Device
from edgesim.sim.sync_rounds import RoundPlan
from edgesim.sim.task import TaskResult


@dataclass
class Progress:
    """What the run has reached so far (also the source of the summary)."""

    rounds: int = 0
    version: int = 0
    evaluations: int = 0
    last_accuracy: float | None = None
    best_accuracy: float | None = None
    time_to_target_s: float | None = None
    stop_reason: str = "horizon"
    history: list[tuple[float, float]] = field(default_factory=list)


class SyncCoordinator:
    def __init__(self, scenario: Scenario, algorithm: Algorithm, dataset: Dataset, metrics: CsvTable,
                 on_progress: Callable[[float, Progress], None] = lambda now, progress: None):
        self.scenario = scenario
        self.algorithm = algorithm
        self.metrics = metrics
        self.on_progress = on_progress
        self.eval_x = dataset.test_x[dataset.eval_idx]
        self.eval_y = dataset.test_y[dataset.eval_idx]
        self.progress = Progress()
        self._last_eval_time = 0.0

    def plan_round(self, round: int) -> RoundPlan:
        algorithm = self.algorithm
        footprint = algorithm.footprint_bytes(round)
        return RoundPlan(
            download_bytes=algorithm.download_bytes(round),
            upload_bytes=algorithm.upload_bytes(round),
            flops=lambda device: algorithm.task_flops(device.index, round),
            eligible=lambda device: device.memory_bytes >= footprint and algorithm.has_work(device.index, round),
        )

    def close_round(self, round: int, version: int, accepted: list[TaskResult], now: float) -> bool:
        progress = self.progress
        progress.rounds = round
        row = {"sim_time_s": now, "round": round, "updates": len(accepted)}
        if accepted:
            row.update(self.algorithm.run_round(round, version, [r.device.index for r in accepted]))
            progress.version = version + 1
        row["model_version"] = progress.version
        stop_rules = self.scenario.stop
        last_round = stop_rules.max_rounds is not None and round >= stop_rules.max_rounds
        if self._evaluation_due(round, now) or last_round:
            self._evaluate(now, row)
        reached = progress.time_to_target_s is not None
        self.on_progress(now, progress)
        if reached and stop_rules.stop_at_target:
            progress.stop_reason = "target"
            return True
        if last_round:
            progress.stop_reason = "max_rounds"
            return True
        return False

    def _evaluation_due(self, round: int, now: float) -> bool:
        cadence = self.scenario.evaluation
        by_time = cadence.every_s is not None and now - self._last_eval_time >= cadence.every_s
        return round % cadence.every_rounds == 0 or by_time

    def _evaluate(self, now: float, row: dict) -> None:
        progress = self.progress
        row.update(self.algorithm.evaluate(self.eval_x, self.eval_y))
        self.metrics.append(row)
        self._last_eval_time = now
        accuracy = row["accuracy"]
        progress.evaluations += 1
        progress.last_accuracy = accuracy
        progress.best_accuracy = max(accuracy, progress.best_accuracy or 0.0)
        progress.history.append((now, accuracy))
        target = self.scenario.stop.target_accuracy
        if target is not None and progress.time_to_target_s is None and accuracy >= target:
            progress.time_to_target_s = now


def metric_columns(algorithm: Algorithm) -> tuple[str, ...]:
    return METRIC_COLUMNS + ("updates",) + tuple(algorithm.metric_columns)


def ineligible(devices: list[Device], footprint: int) -> list[Device]:
    """Devices whose training memory cannot hold ``footprint`` bytes."""
    return [d for d in devices if d.memory_bytes < footprint]
