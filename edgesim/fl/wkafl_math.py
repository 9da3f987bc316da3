"""One server iteration of WKAFL aggregation as AKAFL-RJ uses it (spec: ALGORITHMS.md §2.2).

Pure math over flat 1-D gradients (a model's gradient flattened); no clock, no
RNG. The caller collects the K gradients of an iteration with their
staleness and losses and calls :func:`wkafl_step`.

Order of operations (each step a :class:`WkaflOptions` option; the defaults
are strict AKAFL-RJ, :meth:`WkaflOptions.wkafl_baseline` switches the WKAFL
extras on):

0. WKAFL extras, before everything: clip every ``g_k`` to ``||g_k|| <=
   clip_norm``, then add momentum ``g_k += momentum * g_prev``, where
   ``g_prev`` is the previous iteration's returned ``direction`` (the caller
   keeps it and passes it back).
1. staleness-weighted estimate: ``w_k = base^-tau_k / sum_j base^-tau_j``
   (base ``e/2``), computed as ``base^-(tau_k - min tau)`` so that large
   staleness does not underflow; ``g_hat = sum_k w_k g_k``.
2. consistency selection: ``s_k = cos(g_k, g_hat)`` (0 where either norm is
   0); keep ``k`` with ``s_k >= s_min``, weight ``omega_k = exp(beta s_k)``
   normalised over the kept (``exp(beta (s_k - max s))``, same ratios); with
   ``staleness_in_omega`` (WKAFL's code, ALGORITHMS.md §2.7)
   ``omega_k ∝ exp(beta s_k) w_k``.
   None kept: the direction is ``g_hat`` (``fallback``).
3. from iteration ``second_clip_from`` on (WKAFL's T2, default never): clip
   each kept ``g_k`` to ``second_clip_factor * ||g_hat||``.
4. ``g_t = sum_k omega_k g_k``.
5. learning rate [R], always from ``eta0`` (never compounded), with
   ``tau_min = min tau``: ``"power"``: ``eta0 * tau_min^-gamma``;
   ``"wkafl"``: ``eta0 / (1 + c * tau_min)``.

Staleness ``tau_k`` is taken as given and must be >= 1: the simulator reports
``server version - base version`` (>= 0) and the algorithm adds 1 before
calling this. Sums are accumulated in float64; tensors come back in the
gradients' dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, Optional, Sequence

import torch

from edgesim.fl.aggregate import normalised, weighted_average

LrRule = Literal["power", "wkafl"]
LR_RULES = ("power", "wkafl")


@dataclass(frozen=True)
class WkaflOptions:
    base: float = math.e / 2  # staleness base: w_k ∝ base^-tau_k
    s_min: float = 0.3  # consistency threshold on cos(g_k, g_hat)
    beta: float = 10.0  # omega_k ∝ exp(beta s_k)
    lr_rule: LrRule = "power"  # [R]
    eta0: float = 0.01  # [R] base learning rate; callers normally pass their config's lr
    gamma: float = 1.0  # "power": eta0 * tau_min^-gamma
    c: float = 0.1  # "wkafl": eta0 / (1 + c tau_min); 0.1 in WKAFL's code
    staleness_in_omega: bool = False  # omega_k ∝ exp(beta s_k) w_k (WKAFL's code) instead of exp(beta s_k)
    momentum: float = 0.0  # WKAFL extra: g_k += momentum * g_prev
    clip_norm: Optional[float] = None  # WKAFL extra: ||g_k|| <= clip_norm, before everything
    second_clip_from: Optional[int] = None  # WKAFL's T2; None = never
    second_clip_factor: float = 10.0  # kept g_k clipped to factor * ||g_hat|| from T2 on

    def __post_init__(self):
        if not self.base > 1:
            raise ValueError("base must be > 1 (older gradients weigh less)")
        if not -1 <= self.s_min <= 1:
            raise ValueError("s_min is a cosine: it must lie in [-1, 1]")
        if self.beta < 0:
            raise ValueError("beta must be >= 0")
        if self.lr_rule not in LR_RULES:
            raise ValueError(f"lr_rule must be one of {LR_RULES}")
        if not self.eta0 > 0:
            raise ValueError("eta0 must be > 0")
        if self.gamma < 0 or self.c < 0 or self.momentum < 0:
            raise ValueError("gamma, c and momentum must be >= 0")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ValueError("clip_norm must be > 0 or None")
        if self.second_clip_from is not None and self.second_clip_from < 0:
            raise ValueError("second_clip_from must be >= 0 or None")
        if not self.second_clip_factor > 0:
            raise ValueError("second_clip_factor must be > 0")

    @classmethod
    def wkafl_baseline(cls, **overrides) -> "WkaflOptions":
        """WKAFL as its authors' code runs it: momentum 0.1, norm clipping at 100, ``eta0 / (1 + 0.1 tau_min)``
        and ``omega_k ∝ exp(beta s_k) w_k`` (other fields as given)."""
        extras = {"momentum": 0.1, "clip_norm": 100.0, "lr_rule": "wkafl", "c": 0.1, "staleness_in_omega": True}
        return replace(cls(), **{**extras, **overrides})


@dataclass(frozen=True)
class WkaflResult:
    direction: torch.Tensor  # g_t, in the gradients' dtype
    lr: float  # eta_t
    estimate_weights: tuple[float, ...]  # w_k
    max_estimate_weight: float  # max w_k: how much one gradient dominates g_hat
    kept: tuple[bool, ...]  # s_k >= s_min
    consistency: tuple[float, ...]  # s_k = cos(g_k, g_hat)
    selection_weights: tuple[float, ...]  # omega_k over the kept, 0 for the dropped (all 0 on fallback)
    fallback: bool  # none kept: direction = g_hat
    mean_loss: float  # nan when no losses were given


def staleness_weights(staleness: Sequence[int], base: float = math.e / 2) -> list[float]:
    """``base^-tau_k`` normalised, computed as ``base^-(tau_k - min tau)`` (no underflow)."""
    if not staleness:
        raise ValueError("need at least one staleness")
    low = min(staleness)
    return normalised([base ** -(tau - low) for tau in staleness])


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine similarity in float64; 0 where either vector is all zeros."""
    a, b = a.to(torch.float64), b.to(torch.float64)
    na, nb = torch.linalg.vector_norm(a), torch.linalg.vector_norm(b)
    if na == 0 or nb == 0:
        return 0.0
    return float(torch.dot(a, b) / (na * nb))


def clip_to_norm(g: torch.Tensor, max_norm: float) -> torch.Tensor:
    """``g`` scaled down to norm ``max_norm`` when longer; unchanged otherwise."""
    norm = float(torch.linalg.vector_norm(g.to(torch.float64)))
    if norm <= max_norm:
        return g
    return (g.to(torch.float64) * (max_norm / norm)).to(g.dtype)


def learning_rate(tau_min: int, options: WkaflOptions) -> float:
    """eta_t from eta0 and the smallest staleness of the iteration [R]."""
    if tau_min < 1:
        raise ValueError("staleness must be >= 1")
    if options.lr_rule == "power":
        return options.eta0 * tau_min ** -options.gamma
    return options.eta0 / (1 + options.c * tau_min)


def wkafl_step(
    gradients: Sequence[torch.Tensor],
    staleness: Sequence[int],
    losses: Optional[Sequence[float]] = None,
    options: WkaflOptions = WkaflOptions(),
    *,
    iteration: int = 0,
    previous_direction: Optional[torch.Tensor] = None,
) -> WkaflResult:
    """One WKAFL / AKAFL-RJ aggregation (module docstring for the steps).

    ``iteration`` only matters for ``second_clip_from``; ``previous_direction``
    (the last result's ``direction``, None on the first iteration) only for
    ``momentum``.
    """
    if not gradients or len(gradients) != len(staleness):
        raise ValueError("need one staleness per gradient and at least one gradient")
    if losses is not None and len(losses) != len(gradients):
        raise ValueError("need one loss per gradient")
    if any(g.dim() != 1 for g in gradients):
        raise ValueError("gradients must be flat 1-D tensors")
    if min(staleness) < 1:
        raise ValueError("staleness must be >= 1 (add 1 to server version - base version)")

    grads = list(gradients)
    if options.clip_norm is not None:
        grads = [clip_to_norm(g, options.clip_norm) for g in grads]
    if options.momentum > 0 and previous_direction is not None:
        grads = [(g.to(torch.float64) + options.momentum * previous_direction.to(torch.float64)).to(g.dtype)
                 for g in grads]

    w = staleness_weights(staleness, options.base)
    g_hat = weighted_average(grads, w)

    s = [cosine(g, g_hat) for g in grads]
    kept = [sk >= options.s_min for sk in s]
    chosen = [k for k, keep in enumerate(kept) if keep]
    omega = [0.0] * len(grads)
    if chosen:
        logits = {k: options.beta * s[k] for k in chosen}
        if options.staleness_in_omega:  # times w_k, as log w_k up to a constant: no underflow
            low = min(staleness)
            logits = {k: logit - (staleness[k] - low) * math.log(options.base) for k, logit in logits.items()}
        top = max(logits.values())
        for k, share in zip(chosen, normalised([math.exp(logits[k] - top) for k in chosen])):
            omega[k] = share
        picked = [grads[k] for k in chosen]
        if options.second_clip_from is not None and iteration >= options.second_clip_from:
            bound = options.second_clip_factor * float(torch.linalg.vector_norm(g_hat.to(torch.float64)))
            picked = [clip_to_norm(g, bound) for g in picked]
        direction = weighted_average(picked, [omega[k] for k in chosen])
    else:
        direction = g_hat

    return WkaflResult(
        direction=direction,
        lr=learning_rate(min(staleness), options),
        estimate_weights=tuple(w),
        max_estimate_weight=max(w),
        kept=tuple(kept),
        consistency=tuple(s),
        selection_weights=tuple(omega),
        fallback=not chosen,
        mean_loss=float(sum(losses) / len(losses)) if losses else math.nan,
    )
