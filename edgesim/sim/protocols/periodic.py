"""Semi-synchronous FL (``server.protocol: {kind: periodic, period_s: ...}``): aggregate whatever arrived, every
``period_s`` simulated seconds.

Clients cycle continuously as in the buffered protocol (at most
``concurrency`` at a time, each restarting on the current model as soon as
its upload is in; ``edgesim.sim.protocols.cycles``). At the end of every
period the server folds in every update that arrived during it, in arrival
order, whatever version it was computed on (staleness = the server's version
then minus that version), so slow devices contribute late instead of being
discarded or waited for. A period in which nothing arrived leaves the model
as it was, but still counts as a round (evaluations and ``stop.max_rounds``
count periods).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edgesim.sim.protocols.base import ProtocolConfig, register_protocol
from edgesim.sim.protocols.cycles import CyclingServer
from edgesim.units import Duration

MIN_PERIOD_S = 1e-3
"""The shortest period: shorter ones would flood the clock with aggregations."""


@register_protocol
class PeriodicProtocol(ProtocolConfig):
    kind: Literal["periodic"] = "periodic"
    period_s: Duration = Field(ge=MIN_PERIOD_S, description="simulated time between aggregations, e.g. 30s or 5m "
                               "(at least 1 ms)")
    concurrency: int | None = Field(None, ge=1, description="clients training at once; null: every device "
                                                            "that can take part")

    def server(self, env, fleet, tasks, log, owner, context):
        return PeriodicServer(env, fleet, tasks, log, owner, self.concurrency, context.rng, self.period_s)


class PeriodicServer(CyclingServer):
    def __init__(self, env, fleet, tasks, log, owner, concurrency, rng, period_s: float):
        super().__init__(env, fleet, tasks, log, owner, concurrency, rng)
        self.period_s = period_s

    def describe_wait(self) -> str:
        if self.round == 0:
            return (f"the first period of {self.period_s:g} s had not ended ({len(self.buffer)} updates were "
                    f"waiting for it, {len(self.running)} devices were training)")
        return (f"no update arrived in {self.round} periods of {self.period_s:g} s ({len(self.running)} devices "
                "were training)")

    def process(self):
        self.start()
        while True:
            yield self.env.timeout((self.round + 1) * self.period_s - self.env.now)  # no drift from adding
            self.round += 1
            taken, self.buffer = self.buffer, []
            if self.aggregate_buffer(taken).stop:
                return
