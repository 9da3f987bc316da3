"""Judgement of AKAFL-RJ [R] (spec: ALGORITHMS.md §2.5): reject a new global model whose accuracy drops.

EWMA stability test in the style of TCP's RTT estimator. The caller activates
it once the mean loss ``Lbar_t < eps_J`` and from then on calls
:meth:`Judgement.observe` with each new global model's test accuracy; a True
answer means "keep the previous model".

Per observation ``A`` at iteration ``t`` (``A_hat_prev``, ``Dev_prev`` = the
state before it):

1. first observation: ``A_hat = A``, ``Dev = 0``; never rejected.
2. stability test, only after ``warmup`` earlier observations (Dev starts at
   0, so without a warm-up the test would be "stable" at once) and only
   while ``Dev_prev < eps_m`` — the test judges the new model against the
   history, before the new accuracy moves the estimates:
   - the first time it holds, remember ``j = t`` (``start_iteration``, once);
   - tolerance ``theta_t = theta0 * j / t`` (``theta0`` at ``t = j``, then
     shrinking);
   - reject (keep the previous model, count it in ``keeps``) exactly when
     ``A < A_hat_prev - theta_t``.
   If Dev later rises to ``eps_m`` or above, no test is made (j stays).
3. EWMA update, ``A_hat = d1 A_hat_prev + (1 - d1) A`` and
   ``Dev = d2 Dev_prev + (1 - d2) |A - A_hat_prev|`` ("DevAccuracy"). A
   rejected model's accuracy is *not* fed in by default (the server keeps
   the previous model, whose accuracy is already in the estimates);
   ``update_on_reject=True`` feeds it in anyway.
"""

from __future__ import annotations

from typing import Optional


class Judgement:
    """State of the Judgement test; see the module docstring."""

    def __init__(self, d1: float = 0.9, d2: float = 0.9, eps_m: float = 0.003, theta0: float = 0.005,
                 warmup: int = 10, update_on_reject: bool = False):
        if not (0 <= d1 < 1 and 0 <= d2 < 1):
            raise ValueError("d1 and d2 must lie in [0, 1)")
        if eps_m < 0 or theta0 < 0 or warmup < 1:
            raise ValueError("eps_m and theta0 must be >= 0, warmup >= 1")
        self.d1, self.d2, self.eps_m, self.theta0 = float(d1), float(d2), float(eps_m), float(theta0)
        self.warmup, self.update_on_reject = int(warmup), bool(update_on_reject)
        self.a_hat: Optional[float] = None  # EWMA of accuracy; None before the first observation
        self.dev = 0.0  # EWMA of |A - A_hat_prev|
        self.observations = 0  # calls to observe
        self.keeps = 0  # models rejected (previous model kept)
        self.start_iteration: Optional[int] = None  # j
        self.last_tolerance: Optional[float] = None  # theta_t of the last test made

    def tolerance(self, iteration: int) -> float:
        """``theta0 * j / t``; only defined once the test has started."""
        if self.start_iteration is None:
            raise ValueError("the stability test has not started")
        return self.theta0 * self.start_iteration / iteration

    def observe(self, iteration: int, accuracy: float) -> bool:
        """Judge the new global model of ``iteration`` (>= 1); True: keep the previous model."""
        if iteration < 1:
            raise ValueError("iteration must be >= 1")
        accuracy = float(accuracy)
        earlier, self.observations = self.observations, self.observations + 1
        if self.a_hat is None:
            self.a_hat, self.dev = accuracy, 0.0
            return False
        a_hat_prev = self.a_hat
        keep_previous = False
        if earlier >= self.warmup and self.dev < self.eps_m:
            if self.start_iteration is None:
                self.start_iteration = iteration
            self.last_tolerance = self.tolerance(iteration)
            keep_previous = accuracy < a_hat_prev - self.last_tolerance
        if keep_previous:
            self.keeps += 1
        if not keep_previous or self.update_on_reject:
            self.a_hat = self.d1 * a_hat_prev + (1 - self.d1) * accuracy
            self.dev = self.d2 * self.dev + (1 - self.d2) * abs(accuracy - a_hat_prev)
        return keep_previous
