"""Connects the simulated protocols to an algorithm's real training.

The protocol servers (simulation layer) call in here when they need a
decision; here those become FLOPs, payloads and eligibility, then training
and aggregation, evaluation on the scenario's cadence, ``metrics.csv`` rows,
and the decision to stop (target reached, the last round done, or training
diverged). After every round the journal may take a checkpoint; while a
resumed run replays its clock, the recorded decisions are returned and
nothing is trained (``edgesim.journal``).

- ``SyncCoordinator`` serves synchronous rounds: one metrics row per evaluation; the decisions it
  records are the client losses a loss-ranking selector asked for.
- ``AsyncCoordinator`` serves the K-async server: one metrics row per
  iteration (K, learning rate, staleness, ...), with test accuracy filled in
  on the evaluation cadence (``evaluation.every_rounds`` counts iterations).

The target accuracy counts as reached only on the full test set. With
``dataset.test_subset``, an evaluation on the subset that reaches the target
is checked at once on the full test set (its accuracy fills the row's
``full_test_accuracy``); if the full test set falls short, the run goes on
and the crossing is counted in ``unconfirmed_target_crossings``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable

from edgesim.contract import METRIC_COLUMNS
from edgesim.data import Dataset
from edgesim.fl.algorithm import Algorithm
from edgesim.fl.async_algorithm import AsyncAlgorithm, Contribution
from edgesim.journal import Journal
from edgesim.results.checkpoint import Checkpoint
from edgesim.results.tables import CsvTable
from edgesim.scenario import Scenario
from edgesim.sim.device import Device
from edgesim.sim.kasync import AggregationOutcome, Arrival, TaskCost
from edgesim.sim.sync_rounds import RoundPlan
from edgesim.sim.task import TaskResult

FULL_TEST_COLUMN = "full_test_accuracy"
DIVERGENCE_KEYS = ("train_loss", "loss")
"""Metrics whose non-finite value means training diverged."""


@dataclass
class Progress:
    """What the run has reached so far: the source of the summary, and what a checkpoint keeps."""

    rounds: int = 0
    version: int = 0
    evaluations: int = 0
    last_accuracy: float | None = None
    best_accuracy: float | None = None
    evaluations_since_best: int = 0
    """Evaluations after the one that set ``best_accuracy`` (the ``stop.patience`` rule counts them)."""
    time_to_target_s: float | None = None
    rounds_to_target: int | None = None
    """The round (or server iteration) whose evaluation reached the target."""
    target_evaluation_accuracy: float | None = None
    """The in-run evaluation's accuracy when the target was reached (on the subset, if there is one)."""
    target_full_test_accuracy: float | None = None
    unconfirmed_target_crossings: int = 0
    stop_reason: str = "horizon"
    diverged: str | None = None
    """Why training was found to diverge, or ``None``."""
    last_eval_time: float = 0.0


MetricsOpener = Callable[[int | None], CsvTable]
"""Opens ``metrics.csv``: afresh (``None``) or continued from a byte offset."""


class _Coordinator:
    """Evaluation cadence, metric rows, target tracking, stop rules and checkpoints, for any protocol."""

    def __init__(self, scenario: Scenario, algorithm, dataset: Dataset, open_metrics: MetricsOpener,
                 journal: Journal, on_progress: Callable[[float, Progress], None] = lambda now, progress: None,
                 on_evaluation: Callable[[dict], None] = lambda row: None):
        self.scenario = scenario
        self.on_evaluation = on_evaluation
        """Called with each evaluated ``metrics.csv`` row (as a dict) once it is written."""
        self.algorithm = algorithm
        self.journal = journal
        self.on_progress = on_progress
        self.open_metrics = open_metrics
        self.metrics = None if journal.resume is not None else open_metrics(None)
        self.eval_x = dataset.test_x[dataset.eval_idx]
        self.eval_y = dataset.test_y[dataset.eval_idx]
        self.test_x, self.test_y = dataset.test_x, dataset.test_y
        self.subset = len(dataset.eval_idx) < len(dataset.test_y)
        self.progress = Progress()
        self.decisions: list = list(journal.resume.decisions) if journal.resume is not None else []
        self._evaluated: tuple[int, dict] | None = None
        """(model version, its evaluation): rounds that change nothing (all closed empty) reuse it."""

    def record(self, round: int, now: float, row: dict, write_every_round: bool) -> bool:
        """Evaluate if due, write the row, checkpoint if due; True when the run should stop."""
        progress = self.progress
        progress.rounds = round
        stop_rules = self.scenario.stop
        last_round = stop_rules.max_rounds is not None and round >= stop_rules.max_rounds
        diverged = _non_finite(row)
        due = not diverged and (self._evaluation_due(round, now) or last_round)
        if due:
            self._evaluate(now, row)
            diverged = _non_finite(row)
        if due or write_every_round or diverged:
            row = {"sim_time_s": now, "round": round, "model_version": progress.version, **row}
            self.metrics.append(row)
            if due:
                self.on_evaluation(row)
        self.on_progress(now, progress)
        stop = True
        if diverged:
            progress.diverged = f"{diverged} after round {round}"
        elif progress.time_to_target_s is not None and stop_rules.stop_at_target:
            progress.stop_reason = "target"
        elif last_round:
            progress.stop_reason = "max_rounds"
        elif stop_rules.patience is not None and progress.evaluations_since_best >= stop_rules.patience:
            progress.stop_reason = "plateau"
        else:
            stop = False
        self.journal.round_done(round, now, due, stop, asdict(progress), self.metrics.size, self.decisions)
        return stop

    def replayed(self, round: int, version: int, now: float) -> None:
        """Bookkeeping of a round whose outcome a resumed run already has."""
        self.progress.rounds, self.progress.version = round, version
        self.on_progress(now, self.progress)

    def restore(self, round: int, now: float) -> Checkpoint:
        """At the checkpoint a resumed run replayed to: load it and go on live."""
        checkpoint = self.journal.restore(round, now)
        self.progress = Progress(**checkpoint.progress)
        self.metrics = self.open_metrics(checkpoint.metrics_bytes)
        return checkpoint

    def _evaluation_due(self, round: int, now: float) -> bool:
        cadence = self.scenario.evaluation
        by_time = cadence.every_s is not None and now - self.progress.last_eval_time >= cadence.every_s
        return round % cadence.every_rounds == 0 or by_time

    def _evaluate(self, now: float, row: dict) -> None:
        progress = self.progress
        if self._evaluated is None or self._evaluated[0] != progress.version:
            self._evaluated = (progress.version, self.algorithm.evaluate(self.eval_x, self.eval_y))
        row.update(self._evaluated[1])
        progress.last_eval_time = now
        accuracy = row["accuracy"]
        progress.evaluations += 1
        progress.last_accuracy = accuracy
        improved = progress.best_accuracy is None or accuracy > progress.best_accuracy
        progress.evaluations_since_best = 0 if improved else progress.evaluations_since_best + 1
        progress.best_accuracy = max(accuracy, progress.best_accuracy or 0.0)
        target = self.scenario.stop.target_accuracy
        if target is None or progress.time_to_target_s is not None or not accuracy >= target:
            return
        full = accuracy
        if self.subset:
            full = row[FULL_TEST_COLUMN] = self.algorithm.evaluate(self.test_x, self.test_y)["accuracy"]
        if full >= target:
            progress.time_to_target_s = now
            progress.rounds_to_target = progress.rounds
            progress.target_evaluation_accuracy = accuracy
            progress.target_full_test_accuracy = full
        else:
            progress.unconfirmed_target_crossings += 1


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
            client_losses=(lambda devices: self._client_losses(round, devices))
            if hasattr(algorithm, "client_losses") else None,
        )

    def _client_losses(self, round: int, devices) -> list[float]:
        """The losses a loss-ranking selector asks for, recorded as the round's decision: a resumed run
        replays its selections with them before the checkpoint's model is loaded."""
        recorded = next((losses for r, losses in self.decisions if r == round), None)
        if recorded is not None:
            return recorded
        losses = self.algorithm.client_losses([device.index for device in devices])
        self.decisions.append([round, losses])
        return losses

    def close_round(self, round: int, version: int, accepted: list[TaskResult], now: float) -> bool:
        if self.journal.replaying(round):
            self.replayed(round, version + bool(accepted), now)
            return False
        if self.journal.resumes_at(round):
            return self.restore(round, now).stop
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
        if self.journal.replaying(iteration):
            self.replayed(iteration, version + 1, now)
            return self._recorded(iteration, stop=False)
        if self.journal.resumes_at(iteration):
            return self._recorded(iteration, stop=self.restore(iteration, now).stop)
        contributions = [Contribution(a.device.index, a.base_version, a.staleness) for a in arrivals]
        outcome = self.algorithm.step(iteration, contributions)
        self.progress.version = version + 1
        remodel = outcome.remodel_staleness
        self.decisions.append([outcome.next_k, -1 if remodel is None else remodel])
        stop = self.record(iteration, now, {"updates": len(arrivals), **outcome.metrics}, write_every_round=True)
        self.algorithm.forget_versions_before(self.oldest_live_version())
        return AggregationOutcome(outcome.next_k, remodel, stop)

    def _recorded(self, iteration: int, stop: bool) -> AggregationOutcome:
        next_k, remodel = self.decisions[iteration - 1]
        return AggregationOutcome(next_k, None if remodel < 0 else remodel, stop)


def metric_columns(algorithm, subset: bool = False) -> tuple[str, ...]:
    """``metrics.csv``'s columns; ``subset``: in-run evaluations use ``dataset.test_subset``."""
    return METRIC_COLUMNS + ("updates",) + tuple(algorithm.metric_columns) + ((FULL_TEST_COLUMN,) if subset else ())


def _non_finite(row: dict) -> str | None:
    """``"<metric> = nan"`` for the first divergence metric in ``row`` that is not finite, else ``None``."""
    for key in DIVERGENCE_KEYS:
        value = row.get(key)
        if isinstance(value, float) and not math.isfinite(value):
            return f"{key} = {value}"
    return None
