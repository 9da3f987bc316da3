"""Aggregation math as pure functions over tensors and weights: weighted means of tensors and state dicts,
staleness weights of asynchronous methods, and MPT-FL's 1-bit uploads (scaled signs, masks)."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch

from edgesim.models.scored import top_k_mask


def normalised(weights: Sequence[float]) -> list[float]:
    total = float(sum(weights))
    if total <= 0:
        raise ValueError("aggregation weights must sum to a positive number")
    return [float(w) / total for w in weights]


def weighted_average(tensors: Sequence[torch.Tensor], weights: Sequence[float]) -> torch.Tensor:
    """``sum_i w_i t_i / sum_i w_i``, computed in float64 and returned in the inputs' dtype."""
    if len(tensors) != len(weights) or not tensors:
        raise ValueError("need one weight per tensor and at least one tensor")
    result = torch.zeros_like(tensors[0], dtype=torch.float64)
    for tensor, weight in zip(tensors, normalised(weights)):
        result += tensor.to(torch.float64) * weight
    return result.to(tensors[0].dtype)


def weighted_average_states(
    states: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]
) -> dict[str, torch.Tensor]:
    """Average every floating entry of several state dicts; integer entries (counters) take the max."""
    if len(states) != len(weights) or not states:
        raise ValueError("need one weight per state and at least one state")
    averaged = {}
    for key, first in states[0].items():
        column = [state[key] for state in states]
        if first.is_floating_point():
            averaged[key] = weighted_average(column, weights)
        else:
            averaged[key] = torch.stack(column).max(dim=0).values
    return averaged


def fedbuff_staleness_weight(staleness: int) -> float:
    """FedBuff's down-weighting of a stale update, ``1 / sqrt(1 + staleness)`` (Nguyen et al., AISTATS 2022,
    §3)."""
    return 1 / math.sqrt(1 + staleness)


def polynomial_staleness_weight(staleness: int, alpha: float, exponent: float) -> float:
    """FedAsync's mixing weight of a stale client model, ``alpha * (1 + staleness) ** -exponent`` (Xie et al.,
    2019, the polynomial staleness function ``s(t - tau) = (t - tau + 1) ** -a``)."""
    return alpha * (1 + staleness) ** -exponent


def scaled_sign(change: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """A change of ``base`` in one bit per entry and one scale: ``mean|change|`` times the direction of each
    entry's change, the bit saying whether ``|base|`` grew.

    The receiver knows ``base``, so the bit decodes to ``sign(change)`` for every nonzero change; a zero
    change, which one bit cannot carry, counts as a shrink (towards zero, as weight decay moves an unused
    score), so that it favours no sign of the score. signSGD's compression (Bernstein et al., ICML 2018)
    with the scale of scaled-sign compression (Karimireddy et al., ICML 2019, ``||g||_1 / d``); MPT-FL's
    ``upload: sign`` sends it in place of each scored layer's fp32 scores. ``change`` and ``base``: one
    shape; returns a tensor of that shape and ``change``'s dtype.
    """
    outward = torch.where(base < 0, -1.0, 1.0).to(change.dtype)  # a zero score grows towards positive
    grew = change * outward > 0
    return change.abs().mean() * torch.where(grew, outward, -outward)


def scores_from_masks(scores: torch.Tensor, masks: Sequence[torch.Tensor], weights: Sequence[float],
                      keep: float, server_lr: float) -> torch.Tensor:
    """The server's new scores from the clients' 1-bit top-k masks (``upload: mask``).

    ``scores``: the scores the clients started from (any shape); ``masks``: one 0/1 tensor of that
    shape per client, its top-k of ``|S|`` after local training; ``weights``: one per client (its
    sample count). The clients' mean mask change ``v - M`` (``v`` the weighted share of clients
    keeping a weight, ``M`` the server's own top-k) is a step on the magnitudes, on the scale of
    ``t``, the smallest magnitude the server keeps: ``|S| <- max(|S| + server_lr * t * (v - M), 0)``,
    signs kept (a zero score counts as positive). A weight pushed by the same minority round after round
    thus crosses ``t`` in the end, where averaging the masks alone would never move it. An edgesim rule; no paper here has mask
    upload. Returns a tensor of ``scores``' shape and dtype.
    """
    magnitude = scores.abs()
    kept = top_k_mask(magnitude, keep)
    threshold = magnitude[kept.bool()].min()
    step = server_lr * threshold * (weighted_average(masks, weights) - kept)
    return torch.where(scores < 0, -1.0, 1.0).to(scores.dtype) * (magnitude + step).clamp_min(0)
