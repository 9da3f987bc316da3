"""MPT-FL: federated multi-prize lottery tickets (spec: ALGORITHMS.md §1).

Every client builds the same frozen random signed weights from the shared seed
(they are never sent); clients train only the scores that choose which
weights to keep, and the server averages the returned scores weighted by
sample count. The deployed model is 1 bit per weight plus the mask.

Reconstructed choices, each an option: variant ``1/32`` (real activations)
or ``1/1`` (BatchNorm without affine + sign activations; BatchNorm statistics
are trained and averaged too); weight and score initialisations; upload of
fp32 scores (the paper) or of the 1-bit top-k mask only (``upload: mask``,
no paper here has it). With masks, the server sets each score's magnitude to
the share of clients that kept that weight, on the previous scores' scale,
plus its previous magnitude shrunk below one vote to break ties, and keeps its
sign: ``S <- sign(S) * (max|S| * votes + |S| / (2 * clients))``. (Keeping the
sign and scale matters: vote shares alone are all >= 0 and coarse, and local
SGD then flips near-zero scores whose ``|S|`` grows and scrambles the mask.)
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field, model_validator

from edgesim.fl.aggregate import weighted_average, weighted_average_states
from edgesim.fl.fedavg import FedAvg, FedAvgConfig, two_per_batch_for_binary_activations
from edgesim.fl.trainer import Update
from edgesim.models.kits import scored_kit
from edgesim.models.scored import SCORE_INITS, WEIGHT_INITS, _ScoredLayer, top_k_mask

Variant = Literal["1/32", "1/1"]


class MptFlConfig(FedAvgConfig):
    name: Literal["mpt_fl"] = "mpt_fl"
    variant: Variant = "1/32"
    keep: float = Field(0.2, gt=0, le=1, description="fraction of weights kept per layer (0.2 = 80% pruned)")
    weight_init: Literal[WEIGHT_INITS] = "scaled_kaiming"
    score_init: Literal[SCORE_INITS] = "kaiming_uniform"
    upload: Literal["scores", "mask"] = "scores"
    local_epochs: int = Field(5, ge=1)
    lr: float = Field(0.1, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(1e-4, ge=0)

    _batch_norm = model_validator(mode="after")(two_per_batch_for_binary_activations)

    @model_validator(mode="after")
    def _biprop_scale_needs_pruning(self):
        if self.weight_init == "scaled_kaiming_biprop" and self.keep >= 1:
            raise ValueError("weight_init scaled_kaiming_biprop scales the fan by (1 - keep) and needs keep < 1")
        return self


class MptFl(FedAvg):
    metric_columns = ("train_loss", "sparsity")

    def __init__(self, config: MptFlConfig, setup):
        super().__init__(config, setup)
        self.scored = {name: module for name, module in self.model.named_modules()
                       if isinstance(module, _ScoredLayer)}
        self.frozen_keys = {f"{name}.weight" for name in self.scored}

    def layer_kit(self):
        c = self.config
        return scored_kit(c.keep, c.weight_init, c.score_init, binary_activations=c.variant == "1/1")

    def communicated(self, state):
        return {k: v for k, v in state.items() if k not in self.frozen_keys}

    def upload_bytes(self, round):
        if self.config.upload == "scores":
            return self.state_bytes()
        mask_bytes = math.ceil(self.cost.parameters / 8)
        return self.state_bytes() - self.cost.param_bytes + mask_bytes

    def aggregate(self, updates: list[Update]) -> None:
        if self.config.upload == "scores":
            return super().aggregate(updates)
        weights = [u.num_samples for u in updates]
        score_keys = {f"{name}.scores" for name in self.scored}
        others = [{k: v for k, v in self.communicated(u.state).items() if k not in score_keys} for u in updates]
        new_state = dict(self.state)
        if others[0]:
            new_state.update(weighted_average_states(others, weights))
        tie_break = 1.0 / (2 * len(updates))
        for name, layer in self.scored.items():
            key = f"{name}.scores"
            votes = weighted_average([top_k_mask(u.state[key].abs(), layer.keep) for u in updates], weights)
            previous = self.state[key]
            scale = previous.abs().max().clamp_min(1e-12)
            new_state[key] = torch.sign(previous) * (scale * votes + tie_break * previous.abs())
        self.state = new_state

    def sparsity(self) -> float:
        kept = sum(float(top_k_mask(self.state[f"{n}.scores"].abs(), l.keep).sum()) for n, l in self.scored.items())
        return 1.0 - kept / self.cost.parameters

    def run_round(self, round, version, clients):
        return {**super().run_round(round, version, clients), "sparsity": self.sparsity()}

    def describe(self):
        n = self.cost.parameters
        return {**super().describe(), "variant": self.config.variant, "keep": self.config.keep,
                "sparsity": self.sparsity(), "model_bytes_fp32": 4 * n, "model_bytes_1bit": math.ceil(n / 8),
                "model_bytes_with_mask": math.ceil(2 * n / 8), "upload": self.config.upload,
                "download_bytes": self.download_bytes(1), "upload_bytes": self.upload_bytes(1)}
