"""Which trainer a ``Compute`` gets: the sequential one, or the vmapped one that batches client jobs."""

from __future__ import annotations

import torch
from torch import nn

from edgesim.compute import Compute
from edgesim.fl.batched import BatchedTrainer
from edgesim.fl.trainer import LocalTrainer, OptimizerSettings, Trainer


def make_trainer(model: nn.Module, train_x: torch.Tensor, train_y: torch.Tensor, optimizer: OptimizerSettings,
                 compute: Compute = Compute()) -> Trainer:
    """The trainer ``compute`` asks for: the vmapped ``BatchedTrainer`` when it batches (by default on a
    GPU), else the sequential ``LocalTrainer`` (the faster one on a CPU)."""
    if compute.batched:
        return BatchedTrainer(model, train_x, train_y, optimizer)
    return LocalTrainer(model, train_x, train_y, optimizer)
