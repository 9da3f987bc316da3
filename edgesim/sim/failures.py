"""Device failures: crashes, reboots, lost connectivity. A failure interrupts
whatever phase is in flight; that work is lost and the device is unavailable
until it recovers.

- ``none``.
- ``random``: up-times drawn from ``mtbf_s`` and repair times from ``mttr_s``
  (any distribution; exponential MTBF is the classic memoryless model).
- ``trace``: explicit ``{device, at_s, duration_s}`` outages (a device id such
  as ``pi4-0``), e.g. replayed from a real fleet's logs.
Each model yields ``(failure_time, down_duration)`` pairs for one device.
"""

from __future__ import annotations

from typing import Annotated, Iterator, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from edgesim.distributions import Distribution


class _Failures(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoFailures(_Failures):
    kind: Literal["none"] = "none"

    def outages(self, device_id: str, rng: np.random.Generator) -> Iterator[tuple[float, float]]:
        return iter(())


class RandomFailures(_Failures):
    kind: Literal["random"] = "random"
    mtbf_s: Distribution = Field(description="time between recovery and the next failure, s")
    mttr_s: Distribution = Field(description="time to recover, s")

    def outages(self, device_id, rng):
        t = 0.0
        while True:
            t += max(1e-9, self.mtbf_s.sample(rng))
            down = max(1e-9, self.mttr_s.sample(rng))
            yield t, down
            t += down


class Outage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    device: str
    at_s: float = Field(ge=0)
    duration_s: float = Field(gt=0)


class TraceFailures(_Failures):
    kind: Literal["trace"] = "trace"
    outages_: list[Outage] = Field(alias="outages")

    def outages(self, device_id, rng):
        return iter(sorted((o.at_s, o.duration_s) for o in self.outages_ if o.device == device_id))


FailureConfig = Annotated[Union[NoFailures, RandomFailures, TraceFailures], Field(discriminator="kind")]
