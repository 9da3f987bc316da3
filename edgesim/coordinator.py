"""Connects the simulated protocols to a strategy's real training: the protocols' ``Owner``.

The protocol servers (simulation layer) call in here when they need a task's
cost or an aggregation; here those become strategy calls, evaluation on the
scenario's cadence, ``metrics.csv`` rows, and the stop rules' verdict
(``edgesim.sim.engine.StopRules``). After every round the journal may take a
checkpoint; while a resumed run replays its clock, the recorded decisions
are returned and nothing is trained (``edgesim.journal``).

Rows: one per evaluation, or one per aggregation for strategies with
``metrics_every_round``; each carries ``energy_j``, the energy the fleet's
phases have spent so far (asynchronous methods: K, learning rate, staleness,
with test accuracy filled in on the evaluation cadence;
``evaluation.every_rounds`` then counts aggregations). The decisions a
replay needs are what the clock depends on: the next K and the remodel
threshold of each aggregation, and the client losses a loss-ranking selector
asked for.

The target accuracy counts as reached only on the full test set. With
``dataset.test_subset``, an evaluation on the subset that reaches the target
is checked at once on the full test set (its accuracy fills the row's
``full_test_accuracy``); if the full test set falls short, the run goes on
and the crossing is counted in ``unconfirmed_target_crossings``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Callable

from edgesim.contract import METRIC_COLUMNS
from edgesim.data import Dataset
from edgesim.fl.strategy import Strategy
from edgesim.journal import Journal
from edgesim.results.checkpoint import Checkpoint
from edgesim.results.tables import CsvTable
from edgesim.scenario import Scenario
from edgesim.sim.energy import EnergyMeter
from edgesim.sim.engine import StopRules
from edgesim.work import Aggregation, Arrival, Decision, Outcome, Task, TaskCost

FULL_TEST_COLUMN = "full_test_accuracy"
DIVERGENCE_KEYS = ("train_loss", "loss")
"""Metrics whose non-finite value means training diverged."""


@dataclass
class Progress:
    """What the run has reached so far: the source of the summary, and what a checkpoint keeps."""

    rounds: int = 0
    evaluations: int = 0
    last_accuracy: float | None = None
    best_accuracy: float | None = None
    evaluations_since_best: int = 0
    """Evaluations after the one that set ``best_accuracy`` (the ``stop.patience`` rule counts them)."""
    time_to_target_s: float | None = None
    energy_to_target_j: float | None = None
    """The fleet's phases' energy when the target was reached, J."""
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

    @classmethod
    def restored(cls, saved: dict) -> Progress:
        """From a checkpoint's ``asdict(progress)`` (keys of older versions that are gone are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in saved.items() if key in known})


MetricsOpener = Callable[[int | None], CsvTable]
"""Opens ``metrics.csv``: afresh (``None``) or continued from a byte offset."""


class Coordinator:
    """Evaluation cadence, metric rows, target tracking, stop rules and checkpoints, for any protocol."""

    def __init__(self, scenario: Scenario, strategy: Strategy, dataset: Dataset, open_metrics: MetricsOpener,
                 journal: Journal, rules: StopRules, meter: EnergyMeter,
                 on_progress: Callable[[float, Progress], None] = lambda now, progress: None,
                 on_evaluation: Callable[[dict], None] = lambda row: None):
        self.scenario = scenario
        self.strategy = strategy
        self.costs_by_round = strategy.costs_by_round
        """Whether a task's cost depends on its round (the servers may reuse a client's cost otherwise)."""
        self.rules = rules
        self.meter = meter
        self.journal = journal
        self.on_progress = on_progress
        self.on_evaluation = on_evaluation
        """Called with each evaluated ``metrics.csv`` row (as a dict) once it is written."""
        self.open_metrics = open_metrics
        self.metrics = None if journal.resume is not None else open_metrics(None)
        self.eval_x = dataset.test_x[dataset.eval_idx]
        self.eval_y = dataset.test_y[dataset.eval_idx]
        self.test_x, self.test_y = dataset.test_x, dataset.test_y
        self.subset = len(dataset.eval_idx) < len(dataset.test_y)
        self.progress = Progress()
        self.decisions: dict[int, dict] = decisions_from(journal.resume.decisions) if journal.resume else {}
        """Round -> what the clock depended on in it (``next_k``, ``remodel_staleness``, ``losses``)."""
        self._evaluated: tuple[int, dict] | None = None
        """(model version, its evaluation): rounds that change nothing (all closed empty) reuse it."""

    # --- the protocols' Owner

    def cost(self, task: Task) -> TaskCost | None:
        return self.strategy.cost(task)

    def client_losses(self, round: int, clients: Sequence[int]) -> list[float]:
        """The strategy's losses for a loss-ranking selector, recorded as the round's decision: a resumed run
        replays its selections with them before the checkpoint's model is loaded."""
        recorded = self.decisions.get(round, {}).get("losses")
        if recorded is not None:
            return recorded
        losses = self.strategy.client_losses(list(clients))
        self.decisions.setdefault(round, {})["losses"] = losses
        return losses

    def aggregate(self, round: int, version: int, arrivals: Sequence[Arrival], oldest_held_version: int,
                  now: float) -> Outcome:
        if self.journal.replaying(round):
            self.progress.rounds = round
            self.on_progress(now, self.progress)
            return self._recorded(round, stop=False)
        if self.journal.resumes_at(round):
            return self._recorded(round, stop=self.restore(round, now).stop)
        decision = Decision()
        if arrivals:
            decision = self.strategy.aggregate(Aggregation(round, version, tuple(arrivals), oldest_held_version))
            if decision.next_k is not None or decision.remodel_staleness is not None:
                self.decisions.setdefault(round, {}).update(next_k=decision.next_k,
                                                            remodel_staleness=decision.remodel_staleness)
        row = {"updates": len(arrivals), "energy_j": self.meter.total_j, **decision.metrics}
        stop = self.record(round, now, row, version + bool(arrivals))
        return Outcome(decision.next_k, decision.remodel_staleness, stop)

    def _recorded(self, round: int, stop: bool) -> Outcome:
        recorded = self.decisions.get(round, {})
        return Outcome(recorded.get("next_k"), recorded.get("remodel_staleness"), stop)

    # --- rows, evaluations and stop rules

    def record(self, round: int, now: float, row: dict, version: int) -> bool:
        """Evaluate model ``version`` if due, write the row, checkpoint if due; True when the run should stop."""
        progress = self.progress
        progress.rounds = round
        last_round = self.rules.is_last_round(round)
        diverged = _non_finite(row)
        due = not diverged and (self._evaluation_due(round, now) or last_round)
        if due:
            self._evaluate(now, row, version)
            diverged = _non_finite(row)
        if due or self.strategy.metrics_every_round or diverged:
            row = {"sim_time_s": now, "round": round, "model_version": version, **row}
            self.metrics.append(row)
            if due:
                self.on_evaluation(row)
        self.on_progress(now, progress)
        if diverged:
            progress.diverged = f"{diverged} after round {round}"
        reason = self.rules.after_round(round, diverged is not None, progress.time_to_target_s is not None,
                                        progress.evaluations_since_best, self.meter.total_j)
        if reason not in (None, "diverged"):
            progress.stop_reason = reason
        self.journal.round_done(round, now, due, reason is not None, asdict(progress), self.metrics.size,
                                self.decisions)
        return reason is not None

    def restore(self, round: int, now: float) -> Checkpoint:
        """At the checkpoint a resumed run replayed to: load it and go on live."""
        checkpoint = self.journal.restore(round, now)
        self.progress = Progress.restored(checkpoint.progress)
        self.metrics = self.open_metrics(checkpoint.metrics_bytes)
        return checkpoint

    def _evaluation_due(self, round: int, now: float) -> bool:
        cadence = self.scenario.evaluation
        by_time = cadence.every_s is not None and now - self.progress.last_eval_time >= cadence.every_s
        return round % cadence.every_rounds == 0 or by_time

    def _evaluate(self, now: float, row: dict, version: int) -> None:
        """Evaluate model ``version`` (an unchanged model's evaluation is reused, and does not count towards
        ``stop.patience``: only a new model can fail to improve)."""
        progress = self.progress
        unchanged = self._evaluated is not None and self._evaluated[0] == version
        if not unchanged:
            self._evaluated = (version, self.strategy.evaluate(self.eval_x, self.eval_y))
        row.update(self._evaluated[1])
        progress.last_eval_time = now
        accuracy = row["accuracy"]
        progress.evaluations += 1
        progress.last_accuracy = accuracy
        improved = progress.best_accuracy is None or accuracy > progress.best_accuracy
        if not unchanged:
            progress.evaluations_since_best = 0 if improved else progress.evaluations_since_best + 1
        progress.best_accuracy = max(accuracy, progress.best_accuracy or 0.0)
        target = self.scenario.stop.target_accuracy
        if target is None or progress.time_to_target_s is not None or not accuracy >= target:
            return
        full = accuracy
        if self.subset:
            full = row[FULL_TEST_COLUMN] = self.strategy.evaluate(self.test_x, self.test_y)["accuracy"]
        if full >= target:
            progress.time_to_target_s = now
            progress.energy_to_target_j = self.meter.total_j
            progress.rounds_to_target = progress.rounds
            progress.target_evaluation_accuracy = accuracy
            progress.target_full_test_accuracy = full
        else:
            progress.unconfirmed_target_crossings += 1


def decisions_from(saved: list) -> dict[int, dict]:
    """A checkpoint's recorded decisions by round: ``[[round, {...}], ...]``, or the formats before one
    record served every protocol (synchronous ``[[round, losses], ...]``; K-async
    ``[[next_k, remodel or -1], ...]``, one per iteration from 1)."""
    decisions: dict[int, dict] = {}
    for i, (first, second) in enumerate(saved):
        if isinstance(second, dict):
            decisions[first] = second
        elif isinstance(second, list):
            decisions[first] = {"losses": second}
        else:
            decisions[i + 1] = {"next_k": first, "remodel_staleness": None if second < 0 else second}
    return decisions


def metric_columns(strategy: Strategy, subset: bool = False) -> tuple[str, ...]:
    """``metrics.csv``'s columns; ``subset``: in-run evaluations use ``dataset.test_subset``."""
    return (METRIC_COLUMNS + ("updates", "energy_j") + tuple(strategy.metric_columns)
            + ((FULL_TEST_COLUMN,) if subset else ()))


def _non_finite(row: dict) -> str | None:
    """``"<metric> = nan"`` for the first divergence metric in ``row`` that is not finite, else ``None``."""
    for key in DIVERGENCE_KEYS:
        value = row.get(key)
        if isinstance(value, float) and not math.isfinite(value):
            return f"{key} = {value}"
    return None
