"""How wide each HMoE expert is (``algorithm.expert_width``), so that deep experts can be small.

The paper's per-expert memory (the smallest expert 1.6% of the flat model's,
ALGORITHMS.md §3.5–3.6) implies experts much smaller than the flat network.
A rule maps an expert's node to a multiplier on ``model.width``:

- ``same``: every expert as wide as the flat model (factor 1).
- ``depth``: ``factor ** depth`` (the root has depth 0).
- ``leaves``: ``(leaves under the node / all leaves) ** power``.

The result is floored at ``min_width`` (a multiplier on the model's channel
counts, like ``model.width``) so no expert loses every channel.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from edgesim.config_model import ConfigModel
from edgesim.taxonomy import Taxonomy


class SameWidth(ConfigModel):
    kind: Literal["same"] = "same"

    def width(self, model_width: float, taxonomy: Taxonomy, node: str) -> float:
        return model_width


class _Shrinking(ConfigModel):
    min_width: float = Field(0.125, gt=0, description="the narrowest an expert gets (a multiplier, as model.width)")

    def width(self, model_width: float, taxonomy: Taxonomy, node: str) -> float:
        return max(self.min_width, model_width * self.factor_of(taxonomy, node))

    def factor_of(self, taxonomy: Taxonomy, node: str) -> float:
        raise NotImplementedError


class DepthWidth(_Shrinking):
    kind: Literal["depth"] = "depth"
    factor: float = Field(gt=0, le=1, description="width multiplier per level below the root")

    def factor_of(self, taxonomy, node):
        return self.factor ** taxonomy.depth(node)


class LeavesWidth(_Shrinking):
    kind: Literal["leaves"] = "leaves"
    power: float = Field(0.5, gt=0, le=2, description="exponent on the node's share of the leaves")

    def factor_of(self, taxonomy, node):
        return (taxonomy.leaf_count(node) / taxonomy.leaf_count(taxonomy.root)) ** self.power


ExpertWidth = Annotated[Union[SameWidth, DepthWidth, LeavesWidth], Field(discriminator="kind")]
