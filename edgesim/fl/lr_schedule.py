"""Learning-rate schedules over rounds for local training (``algorithm.lr_schedule``).

A schedule maps a round (1-based) to a factor on the configured ``lr``; the
clients of round ``r`` train with ``lr * factor(r)`` (a fresh optimiser each
round, so the schedule is the only thing that carries over). Kinds:

- ``constant``: factor 1.
- ``exponential``: ``gamma ** (r - 1)``.
- ``cosine``: ``min_factor + (1 - min_factor) * (1 + cos(pi * (r - 1) / rounds)) / 2``
  for ``r <= rounds`` and ``min_factor`` after (SGDR's annealing, Loshchilov &
  Hutter 2017, without restarts; biprop trains its scores with it per epoch).
  A scenario that leaves ``rounds`` out decays over its ``stop.max_rounds``.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

from pydantic import Field

from edgesim.config_model import ConfigModel


class ConstantLr(ConfigModel):
    kind: Literal["constant"] = "constant"

    def factor(self, round: int) -> float:
        return 1.0


class ExponentialLr(ConfigModel):
    kind: Literal["exponential"] = "exponential"
    gamma: float = Field(gt=0, le=1, description="factor on the learning rate per round")

    def factor(self, round: int) -> float:
        return self.gamma ** (round - 1)


class CosineLr(ConfigModel):
    kind: Literal["cosine"] = "cosine"
    rounds: int = Field(ge=1, description="rounds over which the factor falls from 1 to min_factor; in a "
                        "scenario it defaults to stop.max_rounds")
    min_factor: float = Field(0.0, ge=0, le=1)

    def factor(self, round: int) -> float:
        progress = min(round - 1, self.rounds) / self.rounds
        return self.min_factor + (1 - self.min_factor) * (1 + math.cos(math.pi * progress)) / 2


LrSchedule = Annotated[Union[ConstantLr, ExponentialLr, CosineLr], Field(discriminator="kind")]
