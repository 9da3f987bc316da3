"""The asynchronous baselines users know (K-async by default; buffered or periodic with ``server.protocol``).

- ``kasync_sgd``: plain K-async SGD (AKAFL-RJ paper, eq. 1):
  ``w <- w - eta * mean_k g_k``; with ``clip_norm`` each ``g_k`` is first
  scaled down to that norm (as WKAFL's code clips), which separates the clip's
  effect from WKAFL's weighting in a comparison.
- ``fedbuff`` (Nguyen et al., 2022): clients run local steps; the server
  averages the K buffered updates, each scaled by ``1/sqrt(1 + tau)``
  (``staleness_scaling: none`` turns that off), and applies them with the
  server learning rate ``lr``.
- ``fedasync`` (Xie et al., 2019): each arriving client model is mixed in as
  ``w <- (1 - a) w + a w_client`` with ``a = alpha (1 + tau)^-exponent``
  (polynomial staleness function), arrivals in order; K defaults to 1.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edgesim.fl.aggregate import fedbuff_staleness_weight, polynomial_staleness_weight
from edgesim.fl.async_algorithm import AsyncAlgorithm, AsyncConfig
from edgesim.fl.wkafl_math import clip_to_norm
from edgesim.work import Decision


class KAsyncSgdConfig(AsyncConfig):
    name: Literal["kasync_sgd"] = "kasync_sgd"
    clip_norm: float | None = Field(None, gt=0, description="scale each gradient down to this norm first; "
                                                            "null: no clip")


class KAsyncSgd(AsyncAlgorithm):
    def combine(self, iteration, arrivals, vectors, losses, current):
        if self.config.clip_norm is not None:
            vectors = [clip_to_norm(v, self.config.clip_norm) for v in vectors]
        direction = sum(vectors) / len(vectors)
        lr = self.config.lr
        return current - lr * direction, Decision({"k": self.config.k, "lr": lr}, self.config.k)


class FedBuffConfig(AsyncConfig):
    name: Literal["fedbuff"] = "fedbuff"
    unit: Literal["gradient", "local_steps"] = "local_steps"
    lr: float = Field(1.0, gt=0, description="server learning rate on the averaged client change")
    staleness_scaling: Literal["sqrt", "none"] = "sqrt"


class FedBuff(AsyncAlgorithm):
    def combine(self, iteration, arrivals, vectors, losses, current):
        c = self.config
        scale = [fedbuff_staleness_weight(item.staleness) if c.staleness_scaling == "sqrt" else 1.0
                 for item in arrivals]
        change = sum(s * c.local_lr * v for s, v in zip(scale, vectors)) / len(vectors)
        return current - c.lr * change, Decision({"k": c.k, "lr": c.lr}, c.k)


class FedAsyncConfig(AsyncConfig):
    name: Literal["fedasync"] = "fedasync"
    k: int = Field(1, ge=1)
    unit: Literal["gradient", "local_steps"] = "local_steps"
    alpha: float = Field(0.6, gt=0, le=1, description="mixing weight of a fresh client model")
    exponent: float = Field(0.5, ge=0, description="a in the staleness function (1 + tau)^-a")


class FedAsync(AsyncAlgorithm):
    def combine(self, iteration, arrivals, vectors, losses, current):
        c = self.config
        model, mixes = current, []
        for item, vector in zip(arrivals, vectors):
            client_model = self.flat(self.versions[item.base_version]) - c.local_lr * vector
            mix = polynomial_staleness_weight(item.staleness, c.alpha, c.exponent)
            model = (1 - mix) * model + mix * client_model
            mixes.append(mix)
        return model, Decision({"k": c.k, "lr": sum(mixes) / len(mixes)}, c.k)
