"""FedAvg (McMahan et al., 2017): local SGD, then the sample-weighted average of client models.

``fedavg_round`` is FedAvg's round as a function (train the clients' jobs from one base state, average
the updates), which HMoE reuses for its experts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Literal

import torch

from edgesim.fl.aggregate import weighted_average_states
from edgesim.fl.config import LocalSGDConfig
from edgesim.fl.local_model import local_model
from edgesim.fl.strategy import AlgorithmSetup, Strategy
from edgesim.fl.trainer import Trainer, TrainJob, Update, clone_state, evaluate_classifier, uses_batch_statistics
from edgesim.fl.training_state import on_device
from edgesim.models.kits import DENSE, LayerKit
from edgesim.work import Aggregation, Decision, Task, TaskCost, TaskKind

State = Mapping[str, torch.Tensor]


class FedAvgConfig(LocalSGDConfig):
    name: Literal["fedavg"] = "fedavg"


def two_per_batch_for_binary_activations(config):
    """After-validator of configs whose ``variant: "1/1"`` puts BatchNorm into the model, which cannot train
    on a batch of one sample."""
    if config.variant == "1/1" and config.batch_size < 2:
        raise ValueError(f"batch_size {config.batch_size} cannot train variant 1/1, whose BatchNorm layers "
                         "need at least 2 samples per batch")
    return config


def federated_average(base: State, updates: Sequence[Update], communicated: Callable[[State], State] = dict) -> dict:
    """``base`` with the entries that travel (``communicated``: all by default) replaced by the sample-weighted
    average of the clients' (FedAvg's server step)."""
    averaged = weighted_average_states([communicated(u.state) for u in updates], [u.num_samples for u in updates])
    return {**base, **averaged}


def fedavg_round(trainer: Trainer, jobs: Sequence[TrainJob], base: State,
                 fold: Callable[[State, Sequence[Update]], dict] = federated_average) -> tuple[dict, float]:
    """Train ``jobs`` (all from version ``jobs[0].version``, whose state is ``base``) and ``fold`` their updates
    into ``base``; returns the new state and the sample-weighted mean training loss."""
    updates = trainer.run(jobs, {jobs[0].version: base})
    train_loss = sum(u.mean_loss * u.num_samples for u in updates) / sum(u.num_samples for u in updates)
    return fold(base, updates), train_loss


class FedAvg(Strategy):
    metric_columns = ("train_loss",)

    def __init__(self, config: FedAvgConfig, setup: AlgorithmSetup):
        self.config = config
        self.setup = setup
        self.optimizer = config.optimizer_settings()
        built = local_model(setup, setup.model, setup.dataset.num_classes, setup.streams.seed("model-init"),
                            self.optimizer, self.layer_kit())
        self.model, self.model_cost, self.trainer = built.model, built.cost, built.trainer
        self.state = clone_state(self.model)
        self.min_samples = 2 if uses_batch_statistics(self.model) else 1  # BatchNorm needs two per batch
        self.footprint_bytes = self.model_cost.footprint_bytes(config.batch_size, self.optimizer.state_slots)

    # --- what the model is, and what travels

    def layer_kit(self) -> LayerKit:
        """The layers the model is built from (dense for FedAvg)."""
        return DENSE

    def communicated(self, state: State) -> State:
        """The part of a client's state that travels and is averaged (all of it for FedAvg)."""
        return state

    @cached_property
    def download_bytes(self) -> int:
        """Bytes of the floating-point state that travels, at its stored precision."""
        return sum(v.numel() * v.element_size() for v in self.communicated(self.state).values()
                   if v.is_floating_point())

    @cached_property
    def upload_bytes(self) -> int:
        """What a client sends back: the same state (FedAvg)."""
        return self.download_bytes

    def fold(self, base: State, updates: Sequence[Update]) -> dict:
        """The server's new state from the clients' updates (FedAvg's sample-weighted average)."""
        return federated_average(base, updates, self.communicated)

    # --- the strategy protocol

    def task_kinds(self):
        return [TaskKind("rounds", self.footprint_bytes, self._has_data)]

    def cost(self, task: Task) -> TaskCost | None:
        samples = len(self.setup.client_indices[task.client])
        if samples < self.min_samples:
            return None
        flops = self.model_cost.train_flops_per_sample * samples * self.config.local_epochs
        return TaskCost(self.download_bytes, flops, self.upload_bytes, self.footprint_bytes)

    def aggregate(self, aggregation: Aggregation) -> Decision:
        jobs = self.jobs(aggregation.round, aggregation.version, [a.client for a in aggregation.arrivals])
        self.state, train_loss = fedavg_round(self.trainer, jobs, self.state, self.fold)
        return Decision({"train_loss": train_loss})

    def evaluate(self, x, y):
        self.model.load_state_dict(self.state)
        return evaluate_classifier(self.model, x, y)

    def training_state(self):
        return {"state": self.state}

    def load_training_state(self, state):
        self.state = on_device(state["state"], self.setup.compute.torch_device)

    def describe(self):
        return {"parameters": self.model_cost.parameters, "model_bytes": self.model_cost.param_bytes,
                "train_flops_per_sample": self.model_cost.train_flops_per_sample}

    # --- helpers

    def _has_data(self, client: int) -> bool:
        return len(self.setup.client_indices[client]) >= self.min_samples

    def jobs(self, round: int, version: int, clients: list[int]) -> list[TrainJob]:
        streams = self.setup.streams
        return [
            TrainJob(client, version, self.setup.client_indices[client], self.config.local_epochs,
                     self.config.batch_size, streams.seed("train", round, client),
                     lr_scale=self.config.lr_schedule.factor(round))
            for client in clients
        ]

    def client_losses(self, clients: list[int]) -> list[float]:
        """The current global model's mean cross-entropy on each client's training data (the capability
        ``server.selection: power_of_choice`` needs)."""
        data = self.setup.dataset
        return [self.evaluate(data.train_x[i], data.train_y[i])["loss"]
                for i in (self.setup.client_indices[c] for c in clients)]
