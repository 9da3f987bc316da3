"""The strategy protocol of K-asynchronous methods, and what they share.

Per iteration the K-async server hands over the arrivals it aggregates:
``(client, base_version, staleness)``. An arrival's contribution is computed
here, lazily, as a pure function of (the model version the client held, its
data, a seed): one mini-batch gradient (``unit: gradient``, the AKAFL-RJ
setting) or the pseudo-gradient of ``local_steps`` SGD steps,
``(w_base - w_after) / local_lr`` (``unit: local_steps``). Methods differ
only in ``combine``: how contributions become the next model. Every model
version a client may still hold is kept until the server says it is gone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from pydantic import Field

from edgesim.fl.algorithm import AlgorithmConfig, AlgorithmSetup, RoundKind
from edgesim.fl.trainer import OptimizerSettings, TrainJob, clone_state, evaluate_classifier
from edgesim.fl.trainer_choice import make_trainer
from edgesim.fl.training_state import Immutable, on_device
from edgesim.models import build_model
from edgesim.models.cost import measure_cost


class AsyncConfig(AlgorithmConfig):
    """Keys every K-async method has."""

    k: int = Field(10, ge=1, description="arrivals aggregated per iteration (K_0 for adaptive methods)")
    unit: Literal["gradient", "local_steps"] = "gradient"
    local_steps: int = Field(5, ge=1, description="SGD steps per task when unit is local_steps")
    local_lr: float = Field(0.01, gt=0, description="client learning rate when unit is local_steps")
    batch_size: int = Field(10, ge=1)
    lr: float = Field(0.005, gt=0, description="server learning rate eta_0")


@dataclass(frozen=True)
class Contribution:
    client: int
    base_version: int
    staleness: int
    """Server version at aggregation minus ``base_version`` (>= 0)."""


@dataclass(frozen=True)
class StepOutcome:
    metrics: dict
    next_k: int
    remodel_staleness: int | None = None


class AsyncAlgorithm(ABC):
    """A K-async FL method (one instance per simulation)."""

    protocol: ClassVar[str] = "kasync"
    needs_taxonomy: ClassVar[bool] = False
    metric_columns: ClassVar[tuple[str, ...]] = ("k", "lr", "mean_staleness", "train_loss")

    def __init__(self, config: AsyncConfig, setup: AlgorithmSetup):
        self.config = config
        self.setup = setup
        data = setup.dataset
        self.model = build_model(setup.model, data.input_shape, data.num_classes, setup.streams.seed("model-init"),
                                 device=setup.compute.torch_device)
        self.cost = measure_cost(self.model, data.input_shape)
        self.trainer = make_trainer(self.model, data.train_x, data.train_y, OptimizerSettings(config.local_lr),
                                    setup.compute)
        self.keys = [name for name, p in self.model.named_parameters() if p.requires_grad]
        self.versions = {0: clone_state(self.model)}
        self.version = 0

    # What a task costs -------------------------------------------------------------------------
    def samples_per_task(self) -> int:
        steps = 1 if self.config.unit == "gradient" else self.config.local_steps
        return steps * self.config.batch_size

    def task_cost(self, client: int) -> tuple[int, float, int]:
        """(download bytes, training FLOPs, upload bytes) of one unit of work."""
        flops = self.cost.train_flops_per_sample * min(self.samples_per_task(), self._samples_held(client))
        return self.cost.param_bytes, flops, self.cost.param_bytes

    def footprint_bytes(self, round: int = 1) -> int:
        return self.cost.footprint_bytes(self.config.batch_size, 0)

    def min_footprint_bytes(self) -> int:
        """Every task needs the same memory."""
        return self.footprint_bytes()

    def has_work(self, client: int) -> bool:
        return self._samples_held(client) > 0

    def round_kinds(self) -> list[RoundKind]:
        """Every task is alike."""
        return [RoundKind("tasks", self.footprint_bytes(), self.has_work)]

    def initial_k(self) -> int:
        return self.config.k

    def _samples_held(self, client: int) -> int:
        return len(self.setup.client_indices[client])

    # Flat parameter vectors ---------------------------------------------------------------------
    def flat(self, state: dict) -> torch.Tensor:
        return torch.cat([state[k].reshape(-1) for k in self.keys])

    def with_flat(self, state: dict, vector: torch.Tensor) -> dict:
        """A copy of ``state`` whose trainable entries are taken from ``vector``."""
        result, offset = dict(state), 0
        for key in self.keys:
            size = state[key].numel()
            result[key] = vector[offset:offset + size].reshape(state[key].shape).clone()
            offset += size
        return result

    # Contributions ------------------------------------------------------------------------------
    def contributions(self, items: list[Contribution]) -> list[tuple[torch.Tensor, float]]:
        """(gradient or pseudo-gradient, loss) of each arrival, from the version it was computed on. One
        trainer call for all of them, so a batched trainer computes them together."""
        c = self.config
        jobs = [TrainJob(item.client, item.base_version, self.setup.client_indices[item.client], 1, c.batch_size,
                         self.setup.streams.seed("async-work", item.client, item.base_version), steps=c.local_steps)
                for item in items]
        bases = {item.base_version: self.versions[item.base_version] for item in items}
        if c.unit == "gradient":
            return self.trainer.gradients(jobs, bases)
        return [((self.flat(bases[u.version]) - self.flat(u.state)) / c.local_lr, u.mean_loss)
                for u in self.trainer.run(jobs, bases)]

    def step(self, iteration: int, contributions: list[Contribution]) -> StepOutcome:
        """Aggregate one iteration's arrivals into the next model version."""
        computed = self.contributions(contributions)
        vectors = [vector for vector, _ in computed]
        losses = [loss for _, loss in computed]
        current = self.versions[self.version]
        new_vector, outcome = self.combine(iteration, contributions, vectors, losses, self.flat(current))
        self.version += 1
        self.versions[self.version] = self.with_flat(current, new_vector)
        staleness = [item.staleness for item in contributions]
        metrics = {"mean_staleness": sum(staleness) / len(staleness), "train_loss": sum(losses) / len(losses),
                   **outcome.metrics}
        return StepOutcome(metrics, outcome.next_k, outcome.remodel_staleness)

    @abstractmethod
    def combine(self, iteration: int, contributions: list[Contribution], vectors: list[torch.Tensor],
                losses: list[float], current: torch.Tensor) -> tuple[torch.Tensor, StepOutcome]:
        """The next model's flat parameters, and this iteration's outcome (metrics must include k and lr)."""

    def forget_versions_before(self, version: int) -> None:
        """Drop model versions no client holds any more."""
        for old in [v for v in self.versions if v < min(version, self.version)]:
            del self.versions[old]

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        self.model.load_state_dict(self.versions[self.version])
        return evaluate_classifier(self.model, x, y)

    def training_state(self) -> dict:
        """The current version and every version still kept; a model version never changes once made."""
        return {"version": self.version,
                "versions": {v: Immutable(f"version-{v}", state) for v, state in self.versions.items()}}

    def load_training_state(self, state: dict) -> None:
        device = self.setup.compute.torch_device
        self.version = state["version"]
        self.versions = {v: on_device(saved, device) for v, saved in state["versions"].items()}

    def describe(self) -> dict:
        return {"parameters": self.cost.parameters, "model_bytes": self.cost.param_bytes,
                "train_flops_per_sample": self.cost.train_flops_per_sample, "unit": self.config.unit}
