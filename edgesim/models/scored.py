"""Score-over-frozen-weights layers of MPT-FL (biprop, Diffenderfer & Kailkhura 2021).

Each layer holds frozen random weights ``W`` (a buffer: regenerated from the
seed, never trained or sent) and learnable scores ``S`` of the same shape.
With ``keep`` the fraction of weights kept:

- mask ``M = TopK(|S|, keep)``: 1 for the ``ceil(keep * n)`` largest ``|S|``;
- gain ``alpha = ||M * W||_1 / ||M||_1`` (a constant in the backward pass);
- effective weight ``W_eff = alpha * M * sign(W)``: 1-bit weights;
- backward, straight through the mask: ``dL/d|S| = dL/dW_eff * W`` (so
  ``dL/dS = dL/dW_eff * W * sign(S)``).

The k-th largest score is found by selection (NumPy's ``partition`` on the CPU,
``kthvalue`` elsewhere), never by sorting.
Weight init: ``scaled_kaiming`` — N(0, 2 / (fan_in * keep)) — or
``signed_constant`` — ``sign(N(0,1)) * sqrt(2 / fan_in)``. Score init:
``kaiming_uniform`` — U(±1/sqrt(fan_in)) — or ``kaiming_normal`` — N(0, 2 / fan_in).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

WEIGHT_INITS = ("scaled_kaiming", "signed_constant")
SCORE_INITS = ("kaiming_uniform", "kaiming_normal")


def kept_count(numel: int, keep: float) -> int:
    return max(1, min(numel, math.ceil(keep * numel)))


def top_k_mask(magnitudes: torch.Tensor, keep: float) -> torch.Tensor:
    """1.0 where ``magnitudes`` is among the ``ceil(keep * n)`` largest, else 0.0 (ties kept together)."""
    flat = magnitudes.reshape(-1)
    count = kept_count(flat.numel(), keep)
    if count == flat.numel():
        return torch.ones_like(magnitudes)
    position = flat.numel() - count  # the k-th largest is the (n - k)-th smallest, 0-based
    if flat.device.type == "cpu":  # NumPy's introselect is ~30x faster than torch.kthvalue on a CPU
        values = flat.detach().numpy()
        threshold = torch.as_tensor(np.partition(values, position)[position])
    else:
        threshold = flat.kthvalue(position + 1).values
    return (magnitudes >= threshold).to(magnitudes.dtype)


class _MaskedSignWeight(torch.autograd.Function):
    @staticmethod
    def forward(ctx, magnitudes, weight, keep):
        mask = top_k_mask(magnitudes, keep)
        alpha = (weight.abs() * mask).sum() / mask.sum()
        ctx.save_for_backward(weight)
        return alpha * mask * torch.sign(weight)

    @staticmethod
    def backward(ctx, grad_output):
        (weight,) = ctx.saved_tensors
        return grad_output * weight, None, None


def masked_sign_weight(scores: torch.Tensor, weight: torch.Tensor, keep: float) -> torch.Tensor:
    """``alpha * TopK(|S|) * sign(W)`` with the straight-through gradient ``dL/d|S| = dL/dW_eff * W``
    (autograd adds the ``sign(S)`` of the absolute value)."""
    return _MaskedSignWeight.apply(scores.abs(), weight, keep)


class _ScoredLayer(nn.Module):
    def __init__(self, shape: tuple[int, ...], fan_in: int, keep: float, weight_init: str, score_init: str):
        super().__init__()
        if not 0 < keep <= 1:
            raise ValueError(f"keep must lie in (0, 1], got {keep}")
        if weight_init not in WEIGHT_INITS or score_init not in SCORE_INITS:
            raise ValueError(f"unknown init {weight_init!r}/{score_init!r}")
        self.keep, self.fan_in = keep, fan_in
        self.weight_init, self.score_init = weight_init, score_init
        self.register_buffer("weight", torch.empty(shape))
        self.scores = nn.Parameter(torch.empty(shape))

    def reset_parameters_from(self, generator: torch.Generator) -> None:
        with torch.no_grad():
            normal = torch.randn(self.weight.shape, generator=generator)
            if self.weight_init == "scaled_kaiming":
                self.weight.copy_(normal * math.sqrt(2.0 / (self.fan_in * self.keep)))
            else:
                self.weight.copy_(torch.sign(normal) * math.sqrt(2.0 / self.fan_in))
            if self.score_init == "kaiming_uniform":
                bound = 1.0 / math.sqrt(self.fan_in)
                self.scores.copy_(torch.rand(self.scores.shape, generator=generator) * 2 * bound - bound)
            else:
                self.scores.copy_(torch.randn(self.scores.shape, generator=generator) * math.sqrt(2.0 / self.fan_in))

    def effective_weight(self) -> torch.Tensor:
        return masked_sign_weight(self.scores, self.weight, self.keep)

    def mask(self) -> torch.Tensor:
        return top_k_mask(self.scores.detach().abs(), self.keep)


class ScoredConv2d(_ScoredLayer):
    def __init__(self, cin, cout, kernel, padding, keep, weight_init, score_init):
        super().__init__((cout, cin, kernel, kernel), cin * kernel * kernel, keep, weight_init, score_init)
        self.padding = padding

    def forward(self, x):
        return F.conv2d(x, self.effective_weight(), None, padding=self.padding)


class ScoredLinear(_ScoredLayer):
    def __init__(self, fin, fout, keep, weight_init, score_init):
        super().__init__((fout, fin), fin, keep, weight_init, score_init)

    def forward(self, x):
        return F.linear(x, self.effective_weight())
