"""MPT-FL: federated multi-prize lottery tickets (spec: ALGORITHMS.md §1).

Every client builds the same frozen random signed weights from the shared seed
(they are never sent); clients train only the scores that choose which
weights to keep, and the server averages the returned scores weighted by
sample count. The deployed model is 1 bit per weight plus the mask.

Reconstructed choices, each an option: variant ``1/32`` (real activations)
or ``1/1`` (BatchNorm without affine + sign activations; BatchNorm statistics
are trained and averaged too); weight and score initialisations; upload of
fp32 scores (the paper) or one bit per weight, neither in a paper here: the
direction of each score's change with one scale per layer (``upload: sign``,
signSGD's compression; the server adds the clients' mean scaled signs), or the
top-k mask (``upload: mask``). With masks the server cannot average scores it never sees;
it takes the clients' mean mask change as a step on the score magnitudes
(``edgesim.fl.aggregate.scores_from_masks``), so that what a minority keeps asking for accumulates
over rounds instead of being outvoted every round.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from typing import Literal

from pydantic import Field, model_validator

from edgesim.fl.aggregate import scaled_sign, scores_from_masks, weighted_average, weighted_average_states
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
    upload: Literal["scores", "sign", "mask"] = "scores"
    mask_server_lr: float = Field(1.0, gt=0, description="with upload: mask, the server's step on the "
                                  "clients' mean mask change, in units of the top-k threshold")
    local_epochs: int = Field(5, ge=1)
    lr: float = Field(0.1, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(1e-4, ge=0)

    _batch_norm = model_validator(mode="after")(two_per_batch_for_binary_activations)

    @model_validator(mode="after")
    def _mask_server_lr_needs_mask_upload(self):
        """Refuses a ``mask_server_lr`` other than the default unless masks travel (the default passes, as a
        dumped scenario holds it)."""
        if self.upload != "mask" and self.mask_server_lr != type(self).model_fields["mask_server_lr"].default:
            raise ValueError(f"mask_server_lr applies to upload: mask only, not upload: {self.upload}")
        return self

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

    @cached_property
    def upload_bytes(self) -> int:
        """Scores as fp32 (the paper); one bit per weight in their place with ``upload: mask``, and with
        ``upload: sign`` also one fp32 scale per scored layer."""
        if self.config.upload == "scores":
            return self.download_bytes
        scales = 4 * len(self.scored) if self.config.upload == "sign" else 0
        return (self.download_bytes - self.model_cost.param_bytes + math.ceil(self.model_cost.parameters / 8)
                + scales)

    def fold(self, base, updates: Sequence[Update]) -> dict:
        if self.config.upload == "scores":
            return super().fold(base, updates)
        weights = [u.num_samples for u in updates]
        score_keys = {f"{name}.scores" for name in self.scored}
        others = [{k: v for k, v in self.communicated(u.state).items() if k not in score_keys} for u in updates]
        new_state = dict(base)
        if others[0]:
            new_state.update(weighted_average_states(others, weights))
        for name, layer in self.scored.items():
            key = f"{name}.scores"
            new_state[key] = self._scores_from_bits(base[key], [u.state[key] for u in updates], weights, layer.keep)
        return new_state

    def _scores_from_bits(self, scores, client_scores, weights, keep: float):
        """One layer's new scores from what its 1-bit upload carries of each client's scores."""
        if self.config.upload == "sign":
            return scores + weighted_average([scaled_sign(c - scores, scores) for c in client_scores], weights)
        masks = [top_k_mask(c.abs(), keep) for c in client_scores]
        return scores_from_masks(scores, masks, weights, keep, self.config.mask_server_lr)

    def sparsity(self) -> float:
        kept = sum(float(top_k_mask(self.state[f"{n}.scores"].abs(), l.keep).sum()) for n, l in self.scored.items())
        return 1.0 - kept / self.model_cost.parameters

    def aggregate(self, aggregation):
        decision = super().aggregate(aggregation)
        return replace(decision, metrics={**decision.metrics, "sparsity": self.sparsity()})

    def describe(self):
        n = self.model_cost.parameters
        return {**super().describe(), "variant": self.config.variant, "keep": self.config.keep,
                "sparsity": self.sparsity(), "model_bytes_fp32": 4 * n, "model_bytes_1bit": math.ceil(n / 8),
                "model_bytes_with_mask": math.ceil(2 * n / 8), "upload": self.config.upload,
                "download_bytes": self.download_bytes, "upload_bytes": self.upload_bytes}
