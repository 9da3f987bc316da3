"""A strategy's model with what it costs and the trainer that trains it, built in one step."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from edgesim.fl.strategy import AlgorithmSetup
from edgesim.fl.trainer import OptimizerSettings, Trainer
from edgesim.fl.trainer_choice import make_trainer
from edgesim.models import ModelConfig, build_model
from edgesim.models.cost import ModelCost, measure_cost
from edgesim.models.kits import DENSE, LayerKit


@dataclass(frozen=True)
class LocalModel:
    """A model (on the setup's device), its counted cost, and a trainer over the setup's training set."""

    model: nn.Module
    cost: ModelCost
    trainer: Trainer


def local_model(setup: AlgorithmSetup, config: ModelConfig, num_classes: int, seed: int,
                optimizer: OptimizerSettings, kit: LayerKit = DENSE, train_y: torch.Tensor | None = None) -> LocalModel:
    """Build ``config`` with ``num_classes`` outputs from ``kit``'s layers and weights drawn from ``seed``, count
    its cost, and make its trainer over the setup's training images with labels ``train_y`` (default the
    dataset's; HMoE's experts train on relabelled targets)."""
    data = setup.dataset
    model = build_model(config, data.input_shape, num_classes, seed, kit, setup.compute.torch_device)
    trainer = make_trainer(model, data.train_x, data.train_y if train_y is None else train_y, optimizer,
                           setup.compute)
    return LocalModel(model, measure_cost(model, data.input_shape), trainer)
