"""The strategy protocol every synchronous FL method implements.

An algorithm never sees the clock. The coordinator asks it, per round, what a
task costs (bytes down and up, FLOPs per client, memory) and who can take
part, then hands it the clients whose updates the simulated fleet delivered
in time, and asks it to evaluate its global model. Before the clock starts,
``round_kinds`` tells the pre-flight check which kinds of round it will run, so
a round that could never fill is an input error rather than a silent wait;
``training_state`` and ``load_training_state`` are what a checkpoint keeps.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, ClassVar

import torch
from pydantic import Field, model_validator

from edgesim.compute import Compute
from edgesim.config_model import ConfigModel
from edgesim.data import Dataset
from edgesim.fl.lr_schedule import ConstantLr, LrSchedule
from edgesim.fl.trainer import OptimizerKind, OptimizerSettings
from edgesim.models import ModelConfig
from edgesim.seeding import Streams
from edgesim.taxonomy import Taxonomy


class AlgorithmConfig(ConfigModel):
    """Base of every ``algorithm:`` block; subclasses add ``name: Literal[...]`` and hyper-parameters."""

    def caveats(self) -> list[str]:
        """What a reader of this run's results must know about these settings (printed as warnings)."""
        return []


class LocalSGDConfig(AlgorithmConfig):
    """Hyper-parameters of local training on the clients: a fresh optimiser every round, whose learning
    rate in round ``r`` is ``lr * lr_schedule.factor(r)``."""

    local_epochs: int = Field(default=1, ge=1)
    batch_size: int = Field(default=10, ge=1)
    lr: float = Field(default=0.05, gt=0)
    momentum: float = Field(default=0.0, ge=0, lt=1, description="SGD's momentum (a default is unused by Adam)")
    weight_decay: float = Field(default=0.0, ge=0)
    optimizer: OptimizerKind = "sgd"
    lr_schedule: LrSchedule = ConstantLr()

    @model_validator(mode="after")
    def _momentum_is_sgd_only(self):
        """Refuses a momentum other than the method's default beside Adam. The default itself passes: a run's
        resolved ``scenario.yaml`` writes every key, and must validate again on resume."""
        if self.optimizer == "adam" and self.momentum != type(self).model_fields["momentum"].default:
            raise ValueError("momentum is SGD's; Adam keeps its own moments (betas 0.9, 0.999): remove momentum "
                             "or use optimizer: sgd")
        return self

    def optimizer_settings(self) -> OptimizerSettings:
        return OptimizerSettings(self.lr, self.momentum, self.weight_decay, self.optimizer)


@dataclass(frozen=True)
class AlgorithmSetup:
    """Everything an algorithm is built from. The dataset's tensors are on ``compute``'s device (resolved);
    ``client_indices`` stay on the CPU."""

    dataset: Dataset
    client_indices: list[torch.Tensor]
    model: ModelConfig
    streams: Streams
    taxonomy: Taxonomy | None = None
    """The class taxonomy, for methods with ``needs_taxonomy``."""
    compute: Compute = Compute()
    """Where models train: build them on ``compute.torch_device`` and get trainers from ``make_trainer``."""

@dataclass(frozen=True)
class RoundKind:
    """One kind of task the method hands out: what it needs of a device and who holds data for it."""

    label: str
    """How messages name these tasks, e.g. ``"rounds"`` or ``"rounds of expert n02084071"``."""
    footprint_bytes: int
    has_work: Callable[[int], bool]
    """Client index -> whether that client holds data for such a task."""


class Algorithm(ABC):
    """A synchronous FL method (one instance per simulation)."""

    protocol: ClassVar[str] = "sync"

    needs_taxonomy: ClassVar[bool] = False
    """Whether the method works over the dataset's class taxonomy (``AlgorithmSetup.taxonomy``)."""

    metric_columns: ClassVar[tuple[str, ...]] = ()
    """Extra ``metrics.csv`` columns this method reports (from ``run_round`` and ``evaluate``)."""

    @abstractmethod
    def download_bytes(self, round: int) -> int:
        """Bytes the server sends each selected client."""

    @abstractmethod
    def upload_bytes(self, round: int) -> int:
        """Bytes each client sends back."""

    @abstractmethod
    def task_flops(self, client: int, round: int) -> float:
        """Training FLOPs of ``client``'s task."""

    @abstractmethod
    def footprint_bytes(self, round: int) -> int:
        """Device memory a task needs."""

    def min_footprint_bytes(self) -> int:
        """The smallest memory any round's task needs: devices below it can never take part."""
        return self.footprint_bytes(1)

    @abstractmethod
    def has_work(self, client: int, round: int) -> bool:
        """Whether ``client`` holds data for this round's task."""

    @abstractmethod
    def run_round(self, round: int, version: int, clients: list[int]) -> dict:
        """Train the delivered clients' updates and aggregate; returns round metrics."""

    @abstractmethod
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        """At least ``accuracy`` and ``loss`` of the global model on (x, y)."""

    def round_kinds(self) -> list[RoundKind]:
        """Every kind of round the method will run (one by default: every round asks the same)."""
        return [RoundKind("rounds", self.footprint_bytes(1), lambda client: self.has_work(client, 1))]

    @abstractmethod
    def training_state(self) -> dict:
        """Everything training has changed so far, as plain data and tensors (``edgesim.fl.training_state``)."""

    @abstractmethod
    def load_training_state(self, state: dict) -> None:
        """Continue from a ``training_state()`` (tensors on the CPU)."""

    def describe(self) -> dict:
        """Facts for ``summary.json`` (model size, payloads, reconstruction notes)."""
        return {}
