"""The one protocol every FL method implements, and what a method is built from.

A strategy never sees the clock. Through the frozen types of ``edgesim.work``
the server asks it what a task costs (``cost``), hands it the updates the
simulated fleet delivered (``aggregate``) and asks it to ``evaluate`` its
global model; before the clock starts, ``task_kinds`` tells the pre-flight
check which kinds of task it hands out, so that a task no device could ever
take is an input error rather than a silent wait; ``training_state`` and
``load_training_state`` are what a checkpoint keeps. Those six are the whole
protocol. ``describe`` (facts for ``summary.json``) has a default, and a
method may add the capability ``client_losses(clients) -> losses`` that
loss-ranking selectors need.

A strategy also says, as class attributes, which protocols run it (``protocols``,
the first being the default when ``server.protocol`` is not given), whether it
needs the class taxonomy, and which ``metrics.csv`` columns it adds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch

from edgesim.compute import Compute
from edgesim.data import Dataset
from edgesim.models import ModelConfig
from edgesim.seeding import Streams
from edgesim.taxonomy import Taxonomy
from edgesim.work import Aggregation, Decision, Task, TaskCost, TaskKind


@dataclass(frozen=True)
class AlgorithmSetup:
    """Everything a strategy is built from. The dataset's tensors are on ``compute``'s device (resolved);
    ``client_indices`` stay on the CPU."""

    dataset: Dataset
    client_indices: list[torch.Tensor]
    model: ModelConfig
    streams: Streams
    taxonomy: Taxonomy | None = None
    """The class taxonomy, for methods with ``needs_taxonomy``."""
    compute: Compute = Compute()
    """Where models train: build them on ``compute.torch_device`` and get trainers from ``make_trainer``."""


class Strategy(ABC):
    """An FL method (one instance per simulation)."""

    protocols: ClassVar[tuple[str, ...]] = ("sync",)
    """The ``server.protocol`` kinds that can run this method; the first is its default."""

    needs_taxonomy: ClassVar[bool] = False
    """Whether the method works over the dataset's class taxonomy (``AlgorithmSetup.taxonomy``)."""

    metric_columns: ClassVar[tuple[str, ...]] = ()
    """Extra ``metrics.csv`` columns this method reports (from ``aggregate`` and ``evaluate``)."""

    costs_by_round: ClassVar[bool] = False
    """Whether a task's cost depends on its round (HMoE: each round's expert); otherwise the server may ask
    once per client and reuse the answer."""

    metrics_every_round: ClassVar[bool] = False
    """Write a ``metrics.csv`` row after every aggregation (asynchronous methods: K, learning rate,
    staleness), not only at evaluations."""

    @abstractmethod
    def task_kinds(self) -> list[TaskKind]:
        """Every kind of task the method will hand out (one for most methods; HMoE: one per expert)."""

    @abstractmethod
    def cost(self, task: Task) -> TaskCost | None:
        """What ``task`` asks of a device, or ``None`` when its client holds no data for it."""

    @abstractmethod
    def aggregate(self, aggregation: Aggregation) -> Decision:
        """Train the arrivals' updates (each from the version it was computed on) and fold them into model
        ``aggregation.version``, making version ``+ 1``; returns this aggregation's metrics and decisions."""

    @abstractmethod
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> dict:
        """At least ``accuracy`` and ``loss`` of the newest global model on (x, y)."""

    @abstractmethod
    def training_state(self) -> dict:
        """Everything training has changed so far, as plain data and tensors (``edgesim.fl.training_state``)."""

    @abstractmethod
    def load_training_state(self, state: dict) -> None:
        """Continue from a ``training_state()`` (tensors on the CPU)."""

    def describe(self) -> dict:
        """Facts for ``summary.json`` (model size, payloads, reconstruction notes)."""
        return {}
