"""The strategy protocol every synchronous FL method implements.

An algorithm never sees the clock. The coordinator asks it, per round, what a
task costs (bytes down and up, FLOPs per client, memory) and who can take
part, then hands it the clients whose updates the simulated fleet delivered
in time, and asks it to evaluate its global model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from pydantic import BaseModel, ConfigDict, Field

from edgesim.compute import Compute
from edgesim.data import Dataset
from edgesim.models import ModelConfig
from edgesim.seeding import Streams
from edgesim.taxonomy import Taxonomy


class AlgorithmConfig(BaseModel):
    """Base of every ``algorithm:`` block; subclasses add ``name: Literal[...]`` and hyper-parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalSGDConfig(AlgorithmConfig):
    """Hyper-parameters of local SGD on the clients."""

    local_epochs: int = Field(default=1, ge=1)
    batch_size: int = Field(default=10, ge=1)
    lr: float = Field(default=0.05, gt=0)
    momentum: float = Field(default=0.0, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)


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

    def describe(self) -> dict:
        """Facts for ``summary.json`` (model size, payloads, reconstruction notes)."""
        return {}
