"""What the asynchronous methods share: stale arrivals, contributions computed from the version each client
held, and every model version a client may still deliver from.

Per aggregation the server hands over the arrivals it aggregates:
``(client, base_version, staleness)``. An arrival's contribution is computed
here, lazily, as a pure function of (the model version the client held, its
data, a seed): one mini-batch gradient (``unit: gradient``, the AKAFL-RJ
setting) or the pseudo-gradient of ``local_steps`` SGD steps,
``(w_base - w_after) / local_lr`` (``unit: local_steps``). Methods differ
only in ``combine``: how contributions become the next model. A version is
kept until the server says no client can deliver from it any more
(``Aggregation.oldest_held_version``).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Literal, Sequence

import torch
from pydantic import Field

from edgesim.fl.config import AlgorithmConfig
from edgesim.fl.local_model import local_model
from edgesim.fl.strategy import AlgorithmSetup, Strategy
from edgesim.fl.trainer import OptimizerSettings, TrainJob, clone_state, evaluate_classifier
from edgesim.fl.training_state import Immutable, on_device
from edgesim.work import Aggregation, Arrival, Decision, Task, TaskCost, TaskKind


class AsyncConfig(AlgorithmConfig):
    """Keys every K-async method has."""

    k: int = Field(10, ge=1, description="arrivals aggregated per iteration (K_0 for adaptive methods)")
    unit: Literal["gradient", "local_steps"] = "gradient"
    local_steps: int = Field(5, ge=1, description="SGD steps per task when unit is local_steps")
    local_lr: float = Field(0.01, gt=0, description="client learning rate when unit is local_steps")
    batch_size: int = Field(10, ge=1)
    lr: float = Field(0.005, gt=0, description="server learning rate eta_0")


class AsyncAlgorithm(Strategy):
    """An asynchronous FL method (one instance per simulation): K-async by default, buffered or periodic on
    request."""

    protocols = ("kasync", "buffered", "periodic")
    metric_columns = ("k", "lr", "mean_staleness", "train_loss")
    metrics_every_round = True

    def __init__(self, config: AsyncConfig, setup: AlgorithmSetup):
        self.config = config
        self.setup = setup
        built = local_model(setup, setup.model, setup.dataset.num_classes, setup.streams.seed("model-init"),
                            OptimizerSettings(config.local_lr))
        self.model, self.model_cost, self.trainer = built.model, built.cost, built.trainer
        self.keys = [name for name, p in self.model.named_parameters() if p.requires_grad]
        self.versions = {0: clone_state(self.model)}
        """Model version -> its state, for every version a client may still deliver from, and the newest."""
        self.footprint_bytes = self.model_cost.footprint_bytes(config.batch_size, 0)

    # The strategy protocol ------------------------------------------------------------------------
    def task_kinds(self):
        """Every task is alike."""
        return [TaskKind("tasks", self.footprint_bytes, lambda client: self._samples_held(client) > 0)]

    def cost(self, task: Task) -> TaskCost | None:
        """One unit of work: the model down, ``samples_per_task`` samples (at most the client's) trained, an
        update of the model's size up."""
        held = self._samples_held(task.client)
        if held == 0:
            return None
        flops = self.model_cost.train_flops_per_sample * min(self.samples_per_task(), held)
        return TaskCost(self.model_cost.param_bytes, flops, self.model_cost.param_bytes, self.footprint_bytes)

    def aggregate(self, aggregation: Aggregation) -> Decision:
        """Compute the arrivals' contributions and ``combine`` them into the next version."""
        arrivals = list(aggregation.arrivals)
        computed = self.contributions(arrivals)
        vectors = [vector for vector, _ in computed]
        losses = [loss for _, loss in computed]
        current = self.versions[aggregation.version]
        new_vector, decision = self.combine(aggregation.round, arrivals, vectors, losses, self.flat(current))
        self.versions[aggregation.version + 1] = self.with_flat(current, new_vector)
        for old in [v for v in self.versions if v < min(aggregation.oldest_held_version, aggregation.version + 1)]:
            del self.versions[old]
        staleness = [item.staleness for item in arrivals]
        metrics = {"mean_staleness": sum(staleness) / len(staleness), "train_loss": sum(losses) / len(losses),
                   **decision.metrics}
        return Decision(metrics, decision.next_k, decision.remodel_staleness)

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        self.model.load_state_dict(self.newest)
        return evaluate_classifier(self.model, x, y)

    def training_state(self) -> dict:
        """Every version still kept; a model version never changes once made."""
        return {"versions": {v: Immutable(f"version-{v}", state) for v, state in self.versions.items()}}

    def load_training_state(self, state: dict) -> None:
        device = self.setup.compute.torch_device
        self.versions = {v: on_device(saved, device) for v, saved in state["versions"].items()}

    def describe(self) -> dict:
        return {"parameters": self.model_cost.parameters, "model_bytes": self.model_cost.param_bytes,
                "train_flops_per_sample": self.model_cost.train_flops_per_sample, "unit": self.config.unit}

    # What a task trains on ------------------------------------------------------------------------
    @property
    def newest(self) -> dict:
        """The state of the newest model version."""
        return self.versions[max(self.versions)]

    def samples_per_task(self) -> int:
        steps = 1 if self.config.unit == "gradient" else self.config.local_steps
        return steps * self.config.batch_size

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
    def contributions(self, items: Sequence[Arrival]) -> list[tuple[torch.Tensor, float]]:
        """(gradient or pseudo-gradient, loss) of each arrival, from the version it was computed on. One
        trainer call for all of them, so a batched trainer computes them together."""
        c = self.config
        jobs = [TrainJob(item.client, item.base_version, self.setup.client_indices[item.client], 1, c.batch_size,
                         self._seed(item), steps=c.local_steps) for item in items]
        bases = {item.base_version: self.versions[item.base_version] for item in items}
        if c.unit == "gradient":
            return self.trainer.gradients(jobs, bases)
        return [((self.flat(bases[u.version]) - self.flat(u.state)) / c.local_lr, u.mean_loss)
                for u in self.trainer.run(jobs, bases)]

    def _seed(self, item: Arrival) -> int:
        """An arrival's training seed: from its client and base version, and its repeat when it has one."""
        key = (item.client, item.base_version) + ((item.repeat,) if item.repeat else ())
        return self.setup.streams.seed("async-work", *key)

    @abstractmethod
    def combine(self, iteration: int, arrivals: list[Arrival], vectors: list[torch.Tensor],
                losses: list[float], current: torch.Tensor) -> tuple[torch.Tensor, Decision]:
        """The next model's flat parameters, and this aggregation's decision (metrics must include k and lr)."""
