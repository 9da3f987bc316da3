"""Adapted-K of AKAFL-RJ [R] (spec: ALGORITHMS.md §2.3): how many gradients the server waits for.

While the mean loss ``Lbar_t`` of an iteration stays above ``eps_k`` the
server waits for ``K_0`` gradients. From the first iteration with
``Lbar_t <= eps_k`` on, a real-valued ``K~`` (starting at ``K_0``) decays by
one step per iteration, ``K~ <- max(K_min, K~ * exp(-decay))``, and
``K_t = floor(K~ + 0.5)`` (round half up, written out because Python's
``round`` rounds halves to even). The decay is one-way: once started it
continues even if the loss goes back above ``eps_k``, and K never rises.

Keeping ``K~`` real matters: rounding K itself every iteration would stall
as soon as ``K * exp(-decay) >= K - 0.5`` (e.g. K_0 = 10, K_min = 1 with the
default decay never leaves 10).

The default ``decay = ln(K_0 / K_min) / 1000`` (:func:`default_decay`)
brings K from K_0 to K_min in 1000 iterations. A NaN loss does not count as
below ``eps_k``.
"""

from __future__ import annotations

import math
from typing import Optional


def default_decay(k0: int, k_min: int, iterations: int = 1000) -> float:
    """``ln(k0 / k_min) / iterations``: K~ reaches k_min after ``iterations`` decay steps."""
    if not 1 <= k_min <= k0:
        raise ValueError("need 1 <= k_min <= k0")
    if iterations < 1:
        raise ValueError("iterations must be >= 1")
    return math.log(k0 / k_min) / iterations


def round_half_up(x: float) -> int:
    """``floor(x + 0.5)``: 2.5 -> 3 (Python's ``round`` gives 2)."""
    return math.floor(x + 0.5)


class AdaptiveK:
    """State of Adapted-K; call :meth:`update` once per server iteration."""

    def __init__(self, k0: int, k_min: int, eps_k: float, decay: Optional[float] = None):
        if not 1 <= k_min <= k0:
            raise ValueError("need 1 <= k_min <= k0")
        self.k0, self.k_min, self.eps_k = int(k0), int(k_min), float(eps_k)
        self.decay = default_decay(k0, k_min) if decay is None else float(decay)
        if self.decay < 0:
            raise ValueError("decay must be >= 0")
        self.k_real = float(k0)  # K~
        self.decaying = False

    @property
    def k(self) -> int:
        """K for the next iteration."""
        return round_half_up(self.k_real)

    def update(self, mean_loss: float) -> int:
        """Feed this iteration's mean loss; return K for the next iteration."""
        if not self.decaying and mean_loss <= self.eps_k:  # False for NaN
            self.decaying = True
        if self.decaying:
            self.k_real = max(float(self.k_min), self.k_real * math.exp(-self.decay))
        return self.k
