"""Connects the simulated protocols to an algorithm's real training.

The protocol servers (simulation layer) call in here when they need a
decision; here those become FLOPs, payloads and eligibility, then training
and aggregation, evaluation on the scenario's cadence, ``metrics.csv`` rows,
and the decision to stop (target reached, or the last round done).

- ``SyncCoordinator`` serves synchronous rounds: one metrics row per evaluation.
- ``AsyncCoordinator`` serves the K-async server: one metrics row per
  iteration (K, learning rate, staleness, ...), with test accuracy filled in
  on the evaluation cadence (``evaluation.every_rounds`` counts iterations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from edgesim.data import Dataset
from edgesim.fl.algorithm import Algorithm
from edgesim.fl.async_algorithm import AsyncAlgorithm, Contribution
from edgesim.contract import METRIC_COLUMNS
from edgesim.results.tables import CsvTable
from edgesim.scenario import Scenario
from edgesim.sim.device import Device
from edgesim.sim.kasync import AggregationOutcome, Arrival, TaskCost
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


class _Coordinator:
    """Evaluation cadence, metric rows, target tracking and stop rules, for any protocol."""

    def __init__(self, scenario: Scenario, algorithm, dataset: Dataset, metrics: CsvTable,
                 on_progress: Callable[[float, Progress], None] = lambda now, progress: None):
        self.scenario = scenario
        self.algorithm = algorithm
        self.metrics = metrics
        self.on_progress = on_progress
        self.eval_x = dataset.test_x[dataset.eval_idx]
        self.eval_y = dataset.test_y[dataset.eval_idx]
        self.progress = Progress()
        self._last_eval_time = 0.0

    def record(self, round: int, now: float, row: dict, write_every_round: bool) -> bool:
        """Evaluate if due, write the row, report progress; True when the run should stop."""
        progress = self.progress
        progress.rounds = round
        stop_rules = self.scenario.stop
        last_round = stop_rules.max_rounds is not None and round >= stop_rules.max_rounds
        due = self._evaluation_due(round, now) or last_round
        if due:
            self._evaluate(now, row)
        if due or write_every_round:
            self.metrics.append({"sim_time_s": now, "round": round, "model_version": progress.version, **row})
        self.on_progress(now, progress)
        if progress.time_to_target_s is not None and stop_rules.stop_at_target:
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
        self._last_eval_time = now
        accuracy = row["accuracy"]
        progress.evaluations += 1
        progress.last_accuracy = accuracy
        progress.best_accuracy = max(accuracy, progress.best_accuracy or 0.0)
        target = self.scenario.stop.target_accuracy
        if target is not None and progress.time_to_target_s is None and accuracy >= target:
            progress.time_to_target_s = now


class SyncCoordinator(_Coordinator):
    algorithm: Algorithm

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
        row = {"updates": len(accepted)}
        if accepted:
            row.update(self.algorithm.run_round(round, version, [r.device.index for r in accepted]))
            self.progress.version = version + 1
        return self.record(round, now, row, write_every_round=False)


class AsyncCoordinator(_Coordinator):
    algorithm: AsyncAlgorithm

    def __init__(self, *args, oldest_live_version: Callable[[], int] = lambda: 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.oldest_live_version = oldest_live_version

    def eligible(self, device: Device) -> bool:
        return device.memory_bytes >= self.algorithm.footprint_bytes(1) and self.algorithm.has_work(device.index)

    def plan_task(self, device: Device) -> TaskCost:
        return TaskCost(*self.algorithm.task_cost(device.index))

    def aggregate(self, iteration: int, version: int, arrivals: list[Arrival], now: float) -> AggregationOutcome:
        contributions = [Contribution(a.device.index, a.base_version, a.staleness) for a in arrivals]
        outcome = self.algorithm.step(iteration, contributions)
        self.progress.version = version + 1
        stop = self.record(iteration, now, {"updates": len(arrivals), **outcome.metrics}, write_every_round=True)
        self.algorithm.forget_versions_before(self.oldest_live_version())
        return AggregationOutcome(outcome.next_k, outcome.remodel_staleness, stop)


def metric_columns(algorithm) -> tuple[str, ...]:
    return METRIC_COLUMNS + ("updates",) + tuple(algorithm.metric_columns)


def ineligible(devices: list[Device], footprint: int) -> list[Device]:
    """Devices whose training memory cannot hold ``footprint`` bytes."""
    return [d for d in devices if d.memory_bytes < footprint]
