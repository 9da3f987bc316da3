"""The coordinator's decisions: a target reached on an evaluation subset counts only once the full test set
confirms it; a non-finite loss stops the run as diverged; a plateau stops it under ``stop.patience``; rows and
progress on the evaluation cadence."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import torch

from edgesim.coordinator import Coordinator, decisions_from, metric_columns
from edgesim.journal import CheckpointPolicy, Journal
from edgesim.results.run_dir import RunDirectory
from edgesim.results.tables import CsvTable
from edgesim.runner import stop_rules
from edgesim.scenario import validate
from edgesim.sim.energy import EnergyMeter
from edgesim.sim.event_log import EventLog
from edgesim.work import Arrival, Decision


class Scripted:
    """A strategy whose accuracy on the subset (10 samples) and on the full test set (100) is set by hand."""

    metric_columns = ("train_loss",)
    metrics_every_round = False
    costs_by_round = False

    def __init__(self):
        self.subset_accuracy, self.full_accuracy, self.train_loss = 0.0, 0.0, 1.0
        self.aggregated = []

    def evaluate(self, x, y):
        return {"accuracy": self.subset_accuracy if len(x) == 10 else self.full_accuracy, "loss": 0.5}

    def aggregate(self, aggregation):
        self.aggregated.append(aggregation)
        return Decision({"train_loss": self.train_loss})

    def training_state(self):
        return {}


def coordinator(tmp_path, subset: bool = True, stop: dict | None = None):
    scenario = validate({"name": "c", "fleet": {"groups": [{"name": "a", "profile": "laptop", "count": 2,
                                                           "network": "wifi5"}]},
                         "dataset": {"name": "synthetic"}, "server": {"clients_per_round": 1},
                         "stop": stop or {"target_accuracy": 0.9}})
    dataset = SimpleNamespace(test_x=torch.zeros(100, 1), test_y=torch.zeros(100, dtype=torch.long),
                              eval_idx=np.arange(10 if subset else 100))
    algorithm = Scripted()
    directory = RunDirectory.open(tmp_path / "run")
    columns = metric_columns(algorithm, subset)
    journal = Journal(directory, EventLog(None), algorithm, CheckpointPolicy(at_evaluations=False), "sha")
    c = Coordinator(scenario, algorithm, dataset, lambda at: CsvTable(directory.metrics, columns, at), journal,
                    stop_rules(scenario), EnergyMeter())
    return c, algorithm, directory


def close(c, round, accepted=True):
    """Round ``round`` closes at time ``round`` with one update (or none); the version is the number of rounds
    before it that had one."""
    version = len(c.strategy.aggregated)
    arrivals = [Arrival(0, version, 0)] if accepted else []
    return c.aggregate(round, version, arrivals, version, float(round)).stop


def test_a_target_reached_on_the_subset_waits_for_the_full_test_set(tmp_path):
    c, algorithm, directory = coordinator(tmp_path)
    algorithm.subset_accuracy, algorithm.full_accuracy = 0.95, 0.80
    assert close(c, 1) is False
    assert c.progress.time_to_target_s is None and c.progress.unconfirmed_target_crossings == 1
    algorithm.full_accuracy = 0.93
    assert close(c, 2) is True and c.progress.stop_reason == "target"
    assert (c.progress.time_to_target_s, c.progress.target_evaluation_accuracy,
            c.progress.target_full_test_accuracy) == (2.0, 0.95, 0.93)
    assert c.progress.rounds_to_target == 2
    c.metrics.close()
    rows = directory.metrics.read_text().splitlines()
    assert rows[0].endswith(",train_loss,full_test_accuracy") and rows[1].endswith(",0.800000")
    assert rows[2].endswith(",0.930000")


def test_without_a_subset_the_in_run_evaluation_is_the_full_test_set(tmp_path):
    c, algorithm, _ = coordinator(tmp_path, subset=False)
    algorithm.full_accuracy = 0.91
    assert close(c, 1) is True
    assert c.progress.target_full_test_accuracy == c.progress.target_evaluation_accuracy == 0.91


def test_a_non_finite_training_loss_stops_the_run_as_diverged(tmp_path):
    c, algorithm, _ = coordinator(tmp_path)
    algorithm.train_loss = math.nan
    assert close(c, 1) is True
    assert c.progress.diverged == "train_loss = nan after round 1" and c.progress.evaluations == 0
    c.metrics.close()
    assert (tmp_path / "run" / "metrics.csv").read_text().splitlines()[1] == "1.000000,1,1,,,1,0.000000,nan,"  # kept


def test_rounds_that_change_nothing_reuse_the_last_evaluation(tmp_path):
    c, algorithm, directory = coordinator(tmp_path, subset=False)
    calls = []
    evaluate = algorithm.evaluate
    algorithm.evaluate = lambda x, y: calls.append(len(x)) or evaluate(x, y)
    close(c, 1)
    for round in range(2, 6):  # empty rounds: the model is the one already evaluated
        close(c, round, accepted=False)
    assert calls == [100]
    close(c, 6)
    assert calls == [100, 100]
    c.metrics.close()
    assert len(directory.metrics.read_text().splitlines()) == 7  # every round still has its row


def test_patience_stops_the_run_once_that_many_evaluations_have_not_raised_the_best(tmp_path):
    c, algorithm, _ = coordinator(tmp_path, subset=False, stop={"patience": 2})
    stops = []
    for round, accuracy in enumerate([0.5, 0.6, 0.6, 0.7, 0.65, 0.69, 0.9], start=1):
        algorithm.full_accuracy = accuracy
        stops.append(close(c, round))
        if stops[-1]:
            break
    assert stops == [False, False, False, False, False, True]  # 0.6 again is no rise; 0.65, 0.69 < 0.7
    assert c.progress.stop_reason == "plateau" and c.progress.best_accuracy == 0.7


def test_the_strategy_gets_the_arrivals_and_an_empty_round_trains_nothing(tmp_path):
    c, algorithm, _ = coordinator(tmp_path, subset=False, stop={"max_rounds": 10})
    close(c, 1)
    close(c, 2, accepted=False)
    close(c, 3)
    assert [(a.round, a.version, a.arrivals) for a in algorithm.aggregated] == [
        (1, 0, (Arrival(0, 0, 0),)), (3, 1, (Arrival(0, 1, 0),))]


def test_decisions_read_from_every_checkpoint_format():
    assert decisions_from([[3, {"next_k": 4, "remodel_staleness": None}]]) == {
        3: {"next_k": 4, "remodel_staleness": None}}
    assert decisions_from([(2, [0.5, 0.25])]) == {2: {"losses": [0.5, 0.25]}}  # synchronous, before
    assert decisions_from([[5, -1], [4, 2]]) == {  # K-async, before: one per iteration from 1
        1: {"next_k": 5, "remodel_staleness": None}, 2: {"next_k": 4, "remodel_staleness": 2}}


def test_an_unchanged_model_does_not_count_towards_patience(tmp_path):
    c, algorithm, _ = coordinator(tmp_path, subset=False, stop={"patience": 2})
    algorithm.full_accuracy = 0.5
    assert close(c, 1) is False
    assert [close(c, round, accepted=False) for round in range(2, 12)] == [False] * 10  # no new model: no verdict
    algorithm.full_accuracy = 0.4
    assert [close(c, 12), close(c, 13)] == [False, True]
    assert c.progress.stop_reason == "plateau"
