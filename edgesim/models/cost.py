"""What one training sample costs: counted FLOPs and the memory footprint.

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` over one
forward and backward pass (per sample) (convolutions and matrix
products; element-wise work is ignored, as is usual). The training
footprint is an estimate:

    parameters x 4 B x (weights + gradients + optimiser slots)
    + buffers (frozen weights, batch-norm statistics)
    + activations saved for backward x batch size x 4 B

where the activations are the outputs of every leaf module for one sample.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


@dataclass(frozen=True)
class ModelCost:
    parameters: int
    train_flops_per_sample: float
    activation_bytes_per_sample: int
    buffer_bytes: int = 0
    """Non-trained state held in memory (frozen weights, batch-norm statistics)."""

    @property
    def param_bytes(self) -> int:
        return self.parameters * 4

    def footprint_bytes(self, batch_size: int, optimizer_slots: int = 1) -> int:
        """Memory to train with ``batch_size`` and an optimiser keeping ``optimizer_slots`` tensors per parameter."""
        return (self.param_bytes * (2 + optimizer_slots) + self.buffer_bytes
                + self.activation_bytes_per_sample * batch_size)


def measure_cost(model: nn.Module, input_shape) -> ModelCost:
    """Count parameters, training FLOPs per sample and activation bytes per sample.

    Works on a CPU copy, so the model's weights, gradients and running statistics stay as they were.
    """
    model = copy.deepcopy(model).cpu()
    activation_elements = 0

    def count(_module, _inputs, output):
        nonlocal activation_elements
        if isinstance(output, torch.Tensor):
            activation_elements += output.numel()

    leaves = [m for m in model.modules() if not list(m.children())]
    for module in leaves:
        module.register_forward_hook(count)
    model.train()
    sample = torch.zeros((2, *input_shape))  # two samples: batch-norm layers need more than one
    with FlopCounterMode(display=False) as counter:
        model(sample).sum().backward()
    return ModelCost(
        parameters=sum(p.numel() for p in model.parameters()),
        train_flops_per_sample=float(counter.get_total_flops()) / 2,
        activation_bytes_per_sample=activation_elements * 4 // 2,
        buffer_bytes=sum(b.numel() * b.element_size() for b in model.buffers()),
    )
