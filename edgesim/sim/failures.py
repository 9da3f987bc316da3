"""Device failures: crashes, reboots, lost connectivity. A failure interrupts
whatever phase is in flight; that work is lost and the device is unavailable
until it recovers.

- ``none``.
- ``random``: up-times drawn from ``mtbf_s`` and repair times from ``mttr_s``
  (any distribution; exponential MTBF is the classic memoryless model).
- ``trace``: explicit ``{device, at_s, duration_s}`` outages (a device id such
  as ``pi4-0``), e.g. replayed from a real fleet's logs.
Each model yields ``(failure_time, down_duration)`` pairs for one device,
in time order, and ends at the first failure at or after ``horizon_s``.
"""

from __future__ import annotations

import math
from typing import Annotated, Iterator, Literal, Union

import numpy as np
from pydantic import Field, model_validator

from edgesim.config_model import ConfigModel
from edgesim.distributions import PositiveDurationDistribution
from edgesim.units import Duration


class NoFailures(ConfigModel):
    kind: Literal["none"] = "none"

    def outages(self, device_id: str, rng: np.random.Generator,
                horizon_s: float = math.inf) -> Iterator[tuple[float, float]]:
        return iter(())


MIN_MEAN_S = 1e-3
"""The shortest mean time between failures or to recover: shorter ones would flood the clock with events."""


class RandomFailures(ConfigModel):
    kind: Literal["random"] = "random"
    mtbf_s: PositiveDurationDistribution = Field(description="time between recovery and the next failure, s")
    mttr_s: PositiveDurationDistribution = Field(description="time to recover, s")

    @model_validator(mode="after")
    def _not_a_flood(self):
        for key in ("mtbf_s", "mttr_s"):
            if getattr(self, key).mean() < MIN_MEAN_S:
                raise ValueError(f"{key}: a mean below {MIN_MEAN_S:g} s would flood the clock with failures")
        return self

    def outages(self, device_id, rng, horizon_s=math.inf):
        t = 0.0
        while True:
            t += self.mtbf_s.sample(rng)
            down = self.mttr_s.sample(rng)
            if t >= horizon_s:
                return
            yield t, down
            t += down


class Outage(ConfigModel):
    device: str
    at_s: Duration = Field(ge=0)
    duration_s: Duration = Field(gt=0)


class TraceFailures(ConfigModel):
    kind: Literal["trace"] = "trace"
    outages_: list[Outage] = Field(alias="outages")

    def outages(self, device_id, rng, horizon_s=math.inf):
        return iter(sorted((o.at_s, o.duration_s) for o in self.outages_
                           if o.device == device_id and o.at_s < horizon_s))


FailureConfig = Annotated[Union[NoFailures, RandomFailures, TraceFailures], Field(discriminator="kind")]
