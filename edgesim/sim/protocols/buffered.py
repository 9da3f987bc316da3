"""Buffered asynchronous FL (``server.protocol: {kind: buffered}``), FedBuff's protocol (Nguyen et al., AISTATS
2022, Algorithm 1).

Clients cycle continuously (``edgesim.sim.protocols.cycles``: at most
``concurrency`` at a time, each restarting on the current model as soon as
its upload is in); the server aggregates as soon as its buffer holds K
updates (the strategy's ``algorithm.k``, then whatever K its decisions set),
taking the first K in arrival order. Aggregation takes no simulated time and
happens before the client whose upload completed the buffer starts again, so
that client trains on the new model. Unlike K-async, an arrived client never
waits for an aggregation, so the fleet stays busy and staleness grows with
the concurrency.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edgesim.sim.protocols.base import ProtocolConfig, register_protocol
from edgesim.sim.protocols.cycles import CyclingServer


@register_protocol
class BufferedProtocol(ProtocolConfig):
    kind: Literal["buffered"] = "buffered"
    concurrency: int | None = Field(None, ge=1, description="clients training at once; null: every device "
                                                            "that can take part")

    def server(self, env, fleet, tasks, log, owner, context):
        if context.k is None:
            raise ValueError("buffered: the algorithm gives no buffer size K (algorithm.k)")
        return BufferedServer(env, fleet, tasks, log, owner, self.concurrency, context.rng, context.k)


class BufferedServer(CyclingServer):
    def __init__(self, env, fleet, tasks, log, owner, concurrency, rng, k: int):
        super().__init__(env, fleet, tasks, log, owner, concurrency, rng)
        self.k = self._clamp_k(k)

    def _clamp_k(self, k: int) -> int:
        """K >= 1, and at most the number of participants (more could never be buffered at once)."""
        if k < 1:
            raise ValueError(f"buffered: K must be >= 1, got {k}")
        return min(k, len(self.participants))

    def describe_wait(self) -> str:
        return (f"aggregation {self.round + 1} was waiting for K = {self.k} updates ({len(self.buffer)} had "
                f"arrived, {len(self.running)} devices were training)")

    def arrived(self) -> None:
        while len(self.buffer) >= self.k and not self.stopped.triggered:
            self.round += 1
            taken, self.buffer = self.buffer[:self.k], self.buffer[self.k:]
            outcome = self.aggregate_buffer(taken)
            if outcome.next_k is not None and not outcome.stop:
                self.k = self._clamp_k(outcome.next_k)

    def process(self):
        self.start()
        yield self.stopped  # aggregations happen as updates arrive (``arrived``)
