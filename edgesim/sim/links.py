"""Shared links and how concurrent transfers split them (contention).

A *link* is a capacity in bit/s that several devices' transfers cross: a home
router's uplink, the server's ingress. A *flow* is one transfer: a number of
bytes, a rate cap (the device's own access bandwidth) and the links it
crosses. While flows are active they share capacity **max-min fairly**
(progressive filling): every flow gets the same rate unless its own cap, or
a more crowded link, holds it lower; what it leaves unused is split among
the others. Rates are recomputed whenever a flow starts, ends or is
cancelled, so a transfer's duration depends on who else is sending at the
same time. Transfers that cross no shared link never come here: they take
``bytes / cap`` seconds.
"""

from __future__ import annotations

import math

import simpy


class Link:
    """A capacity shared by the flows that cross it."""

    __slots__ = ("name", "capacity_bps")

    def __init__(self, name: str, capacity_bps: float):
        self.name = name
        self.capacity_bps = float(capacity_bps)


class Flow:
    """One transfer in progress; ``done`` fires when its last byte is through."""

    __slots__ = ("remaining_bits", "cap_bps", "links", "rate_bps", "done", "order")

    def __init__(self, env: simpy.Environment, bits: float, cap_bps: float, links: tuple[Link, ...], order: int):
        self.remaining_bits = float(bits)
        self.cap_bps = float(cap_bps)
        self.links = links
        self.rate_bps = 0.0
        self.done = env.event()
        self.order = order


def max_min_rates(flows: list[Flow]) -> dict[Flow, float]:
    """Max-min fair rates under per-flow caps and per-link capacities (progressive filling)."""
    rates: dict[Flow, float] = {}
    remaining = {}
    crossing: dict[Link, list[Flow]] = {}
    for flow in flows:
        for link in flow.links:
            remaining[link] = link.capacity_bps
            crossing.setdefault(link, []).append(flow)
    unfixed = sorted(flows, key=lambda f: (f.cap_bps, f.order))
    while unfixed:
        bottleneck, share = None, math.inf
        for link, members in crossing.items():
            active = sum(1 for f in members if f not in rates)
            if active and remaining[link] / active < share:
                bottleneck, share = link, remaining[link] / active
        smallest = unfixed[0]
        if smallest.cap_bps <= share:
            fixed = [smallest]
            rate = smallest.cap_bps
        else:
            fixed = [f for f in crossing[bottleneck] if f not in rates]
            rate = share
        for flow in fixed:
            rates[flow] = rate
            for link in flow.links:
                remaining[link] = max(0.0, remaining[link] - rate)
        fixed_set = set(fixed)
        unfixed = [f for f in unfixed if f not in fixed_set]
    return rates


class FlowScheduler:
    """Advances the flows that cross shared links and fires each one's ``done``."""

    def __init__(self, env: simpy.Environment):
        self.env = env
        self.flows: list[Flow] = []
        self._last = env.now
        self._generation = 0
        self._started = 0

    def start(self, bits: float, cap_bps: float, links: tuple[Link, ...]) -> Flow:
        self._advance()
        flow = Flow(self.env, bits, cap_bps, links, self._started)
        self._started += 1
        self.flows.append(flow)
        self._reschedule()
        return flow

    def cancel(self, flow: Flow) -> None:
        """Remove an interrupted flow; the others speed up."""
        if flow in self.flows:
            self._advance()
            self.flows.remove(flow)
            self._reschedule()

    def _advance(self) -> None:
        elapsed = self.env.now - self._last
        if elapsed > 0:
            for flow in self.flows:
                flow.remaining_bits -= flow.rate_bps * elapsed
        self._last = self.env.now

    def _reschedule(self) -> None:
        self._generation += 1
        if not self.flows:
            return
        rates = max_min_rates(self.flows)
        for flow in self.flows:
            flow.rate_bps = rates[flow]
        delay = min(
            (max(0.0, f.remaining_bits) / f.rate_bps for f in self.flows if f.rate_bps > 0), default=math.inf
        )
        if math.isinf(delay):
            raise RuntimeError("shared links left every active transfer without bandwidth")
        timer = self.env.timeout(delay)
        generation = self._generation
        timer.callbacks.append(lambda _event: self._on_timer(generation))

    def _on_timer(self, generation: int) -> None:
        if generation != self._generation:
            return  # superseded by a later start or cancel
        self._advance()
        finished = [f for f in self.flows if f.remaining_bits <= 1e-6 * max(1.0, f.rate_bps)]
        if not finished:  # rounding: finish the closest one
            finished = [min(self.flows, key=lambda f: f.remaining_bits / f.rate_bps if f.rate_bps else math.inf)]
        for flow in finished:
            self.flows.remove(flow)
            flow.remaining_bits = 0.0
            flow.done.succeed()
        self._reschedule()
