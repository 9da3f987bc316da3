"""BNN-FL: FedAvg over the latent fp32 weights of a binarised network (MPT-FL's baseline).

Forward uses ``alpha * sign(W)`` per layer (``alpha = mean |W|``), the
straight-through gradient is clipped at ``|W| <= 1``; variant ``1/1`` also
binarises activations. The deployed model is 1 bit per weight.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import model_validator

from edgesim.fl.fedavg import FedAvg, FedAvgConfig, two_per_batch_for_binary_activations
from edgesim.models.kits import binary_kit


class BnnFlConfig(FedAvgConfig):
    name: Literal["bnn_fl"] = "bnn_fl"
    variant: Literal["1/32", "1/1"] = "1/32"

    _batch_norm = model_validator(mode="after")(two_per_batch_for_binary_activations)


class BnnFl(FedAvg):
    def layer_kit(self):
        return binary_kit(binary_activations=self.config.variant == "1/1")

    def describe(self):
        n = self.model_cost.parameters
        return {**super().describe(), "variant": self.config.variant, "model_bytes_fp32": 4 * n,
                "model_bytes_1bit": math.ceil(n / 8)}
