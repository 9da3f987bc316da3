"""FedProx (Li et al., "Federated Optimization in Heterogeneous Networks", MLSys 2020): FedAvg whose
clients minimise their loss plus the proximal term ``mu/2 * ||w - w_t||^2`` (eq. 2), which keeps local
models near the round's global model ``w_t`` on non-IID data. The server's step is FedAvg's.

The paper's other half, accepting partial work from stragglers (gamma-inexact solutions), is what
``server.deadline_s`` with ``over_selection`` already models; here every selected client trains its full
``local_epochs``. The term itself is the trainer's ``OptimizerSettings.proximal_mu``, so FedAvg's class
runs it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from pydantic import Field

from edgesim.fl.fedavg import FedAvgConfig
from edgesim.fl.trainer import OptimizerSettings


class FedProxConfig(FedAvgConfig):
    name: Literal["fedprox"] = "fedprox"
    mu: float = Field(0.01, ge=0, description="weight of the proximal term (the paper tries 0.001 to 1; "
                      "0 is FedAvg)")

    def optimizer_settings(self) -> OptimizerSettings:
        return replace(super().optimizer_settings(), proximal_mu=self.mu)
