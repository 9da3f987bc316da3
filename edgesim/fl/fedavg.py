"""FedAvg (McMahan et al., 2017): local SGD, then the sample-weighted average of client models."""

from __future__ import annotations

from typing import Literal

from edgesim.fl.aggregate import weighted_average_states
from edgesim.fl.algorithm import Algorithm, AlgorithmSetup, LocalSGDConfig
from edgesim.fl.trainer import TrainJob, Update, clone_state, evaluate_classifier, uses_batch_statistics
from edgesim.fl.trainer_choice import make_trainer
from edgesim.fl.training_state import on_device
from edgesim.models import build_model
from edgesim.models.cost import measure_cost
from edgesim.models.kits import DENSE, LayerKit


class FedAvgConfig(LocalSGDConfig):
    name: Literal["fedavg"] = "fedavg"


def two_per_batch_for_binary_activations(config):
    """After-validator of configs whose ``variant: "1/1"`` puts BatchNorm into the model, which cannot train
    on a batch of one sample."""
    if config.variant == "1/1" and config.batch_size < 2:
        raise ValueError(f"batch_size {config.batch_size} cannot train variant 1/1, whose BatchNorm layers "
                         "need at least 2 samples per batch")
    return config


class FedAvg(Algorithm):
    metric_columns = ("train_loss",)

    def __init__(self, config: FedAvgConfig, setup: AlgorithmSetup):
        self.config = config
        self.setup = setup
        data = setup.dataset
        self.model = build_model(setup.model, data.input_shape, data.num_classes, setup.streams.seed("model-init"),
                                 self.layer_kit(), setup.compute.torch_device)
        self.cost = measure_cost(self.model, data.input_shape)
        self.optimizer = config.optimizer_settings()
        self.trainer = make_trainer(self.model, data.train_x, data.train_y, self.optimizer, setup.compute)
        self.state = clone_state(self.model)
        self.min_samples = 2 if uses_batch_statistics(self.model) else 1  # BatchNorm needs two per batch

    def layer_kit(self) -> LayerKit:
        """The layers the model is built from (dense for FedAvg)."""
        return DENSE

    def communicated(self, state: dict) -> dict:
        """The part of a client's state that travels and is averaged (all of it for FedAvg)."""
        return state

    def aggregate(self, updates: list[Update]) -> None:
        """Sample-weighted average of what the clients sent, folded into the global state."""
        averaged = weighted_average_states([self.communicated(u.state) for u in updates],
                                           [u.num_samples for u in updates])
        self.state = {**self.state, **averaged}

    def state_bytes(self) -> int:
        """Bytes of the floating-point state that travels, at its stored precision."""
        return sum(v.numel() * v.element_size() for v in self.communicated(self.state).values()
                   if v.is_floating_point())

    def download_bytes(self, round):
        return self.state_bytes()

    def upload_bytes(self, round):
        return self.state_bytes()

    def task_flops(self, client, round):
        samples = len(self.setup.client_indices[client])
        return self.cost.train_flops_per_sample * samples * self.config.local_epochs

    def footprint_bytes(self, round):
        return self.cost.footprint_bytes(self.config.batch_size, self.optimizer.state_slots)

    def has_work(self, client, round):
        return len(self.setup.client_indices[client]) >= self.min_samples

    def jobs(self, round: int, version: int, clients: list[int]) -> list[TrainJob]:
        streams = self.setup.streams
        return [
            TrainJob(client, version, self.setup.client_indices[client], self.config.local_epochs,
                     self.config.batch_size, streams.seed("train", round, client),
                     lr_scale=self.config.lr_schedule.factor(round))
            for client in clients
        ]

    def run_round(self, round, version, clients):
        updates = self.trainer.run(self.jobs(round, version, clients), {version: self.state})
        self.aggregate(updates)
        train_loss = sum(u.mean_loss * u.num_samples for u in updates) / sum(u.num_samples for u in updates)
        return {"train_loss": train_loss}

    def client_losses(self, clients: list[int]) -> list[float]:
        """The current global model's mean cross-entropy on each client's training data (for
        ``server.selection: power_of_choice``)."""
        data = self.setup.dataset
        return [self.evaluate(data.train_x[i], data.train_y[i])["loss"]
                for i in (self.setup.client_indices[c] for c in clients)]

    def evaluate(self, x, y):
        self.model.load_state_dict(self.state)
        return evaluate_classifier(self.model, x, y)

    def training_state(self):
        return {"state": self.state}

    def load_training_state(self, state):
        self.state = on_device(state["state"], self.setup.compute.torch_device)

    def describe(self):
        return {"parameters": self.cost.parameters, "model_bytes": self.cost.param_bytes,
                "train_flops_per_sample": self.cost.train_flops_per_sample}
