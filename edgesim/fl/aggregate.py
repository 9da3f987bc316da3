"""Aggregation math as pure functions over tensors and weights."""

from __future__ import annotations

from typing import Mapping, Sequence

import torch


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
