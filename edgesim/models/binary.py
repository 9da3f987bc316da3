"""Binary layers for the BNN-FL baselines and binary activations for the 1/1 variants.

- ``BinaryConv2d`` / ``BinaryLinear``: latent fp32 weights ``W`` (trained and
  averaged), forward ``alpha * sign(W)`` with ``alpha = mean |W|`` per layer
  (a constant in the backward pass); straight-through gradient clipped to
  ``|W| <= 1``. No bias.
- ``SignActivation``: ``sign(x)`` forward; the Bi-Real approximation
  ``2 * (1 - |clamp(x, -1, 1)|)`` as its derivative.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class _BinaryWeight(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weight):
        ctx.save_for_backward(weight)
        return weight.abs().mean() * torch.sign(weight)

    @staticmethod
    def backward(ctx, grad_output):
        (weight,) = ctx.saved_tensors
        # the 0/1 clip mask written straight as floats (a bool mask and its conversion cost 4x more)
        inside = torch.le(weight.abs(), 1, out=torch.empty_like(weight, dtype=grad_output.dtype))
        return grad_output * inside


class _SignBiReal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 2 * (1 - x.clamp(-1, 1).abs())


def binary_weight(weight: torch.Tensor) -> torch.Tensor:
    return _BinaryWeight.apply(weight)


class SignActivation(nn.Module):
    def forward(self, x):
        return _SignBiReal.apply(x)


class _BinaryLayer(nn.Module):
    def __init__(self, shape: tuple[int, ...], fan_in: int):
        super().__init__()
        self.fan_in = fan_in
        self.weight = nn.Parameter(torch.empty(shape))

    def reset_parameters_from(self, generator: torch.Generator) -> None:
        bound = 1.0 / math.sqrt(self.fan_in)  # PyTorch's default for conv/linear weights
        with torch.no_grad():
            self.weight.copy_(torch.rand(self.weight.shape, generator=generator) * 2 * bound - bound)


class BinaryConv2d(_BinaryLayer):
    def __init__(self, cin, cout, kernel, padding=0):
        super().__init__((cout, cin, kernel, kernel), cin * kernel * kernel)
        self.padding = padding

    def forward(self, x):
        return F.conv2d(x, binary_weight(self.weight), None, padding=self.padding)


class BinaryLinear(_BinaryLayer):
    def __init__(self, fin, fout):
        super().__init__((fout, fin), fin)

    def forward(self, x):
        return F.linear(x, binary_weight(self.weight))
