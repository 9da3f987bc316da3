"""Shared links and how concurrent transfers split them (contention).

A *link* is a capacity in bit/s that several devices' transfers cross: a home
router's uplink, the server's ingress. A *flow* is one transfer: a number of
bits, a rate cap in bit/s (the device's own access bandwidth) and the links it
crosses. While flows are active they share capacity **max-min fairly**
(progressive filling): every flow gets the same rate unless its own cap, or
a more crowded link, holds it lower; what it leaves unused is split among
the others. Rates are recomputed whenever a flow starts, ends or is
cancelled, so a transfer's duration depends on who else is sending at the
same time. Transfers that cross no shared link never come here: they take
``bytes / cap`` seconds.

Cost per event, for F flows in progress of which C share a link with the
flows that changed (their connected component: flows joined by the links
they cross), crossing P links in all (counted once per flow):

- the rates of that component only (flows of other components keep theirs:
  progressive filling computes them from their own component alone). A link
  whose flows cross no other link, a cell or a home router on its own, keeps
  its flows sorted by cap as they come and go (a binary search and a list
  insertion), so filling it is one pass: O(C). A component of several links
  goes through ``max_min_rates``: O(C log C + P log P);
- advancing every flow's remaining bits, the time to the next completion and
  the completion check: O(F), a few NumPy operations over arrays that hold
  one slot per flow.

The numbers are those of the textbook progressive filling that rescans every
link at every step and recomputes every rate at every event
(``tests/sim/test_sim_links.py`` keeps it as the oracle and compares both,
rates and completion times, on random fleets of flows).
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterable, Sequence
from operator import attrgetter

import numpy as np
import simpy


class Link:
    """A capacity shared by the flows that cross it."""

    __slots__ = ("name", "capacity_bps")

    def __init__(self, name: str, capacity_bps: float):
        self.name = name
        self.capacity_bps = float(capacity_bps)


class Flow:
    """One transfer in progress; ``done`` fires when its last byte is through.

    ``order`` is its place in the order flows started; ``rate_bps`` its current share; ``remaining_bits`` what
    is left as of the scheduler's last event (0 once done; where it stood when cancelled).
    """

    __slots__ = ("_bits", "_scheduler", "_slot", "cap_bps", "done", "links", "order", "rate_bps")

    def __init__(self, env: simpy.Environment, bits: float, cap_bps: float, links: tuple[Link, ...], order: int):
        self.cap_bps = float(cap_bps)
        self.links = links
        self.rate_bps = 0.0
        self.done = env.event()
        self.order = order
        self._bits = float(bits)
        self._scheduler: FlowScheduler | None = None
        self._slot = -1  # its slot in the scheduler's arrays while in progress

    @property
    def remaining_bits(self) -> float:
        if self._slot < 0:
            return self._bits
        return float(self._scheduler._remaining[self._slot])


_CAP_THEN_START = attrgetter("cap_bps", "order")
_START = attrgetter("order")
_smallest = np.minimum.reduce


def max_min_rates(flows: Iterable[Flow]) -> dict[Flow, float]:
    """Max-min fair rates (bit/s) under per-flow caps and per-link capacities, by progressive filling.

    Each step takes the smallest fair share of any link still crossed by unfixed flows (its remaining
    capacity over their number; on a tie, the link the given flows cross first) and the unfixed flow with the
    smallest cap (on a tie, the earliest ``order``). If that cap is at most the share, the flow is fixed at its
    cap; otherwise every unfixed flow crossing that link is fixed at the share. A fixed rate is taken off each
    link the flow crosses, one flow at a time, never below zero. A flow's links are distinct.

    Caps are sorted once; each link's remaining capacity and unfixed count are kept as flows are fixed, and
    the smallest share comes from a heap whose outdated entries are dropped when they surface: O(F log F +
    P log P) for F flows crossing P links in all, with the arithmetic of a rescan of every link at every step.
    """
    flows = list(flows)
    index: dict[Link, int] = {}
    remaining: list[float] = []  # per link, bit/s not yet given to a fixed flow
    unfixed: list[int] = []  # per link, flows crossing it that are not fixed yet
    crossing: list[list[Flow]] = []
    for flow in flows:
        for link in flow.links:
            i = index.get(link)
            if i is None:
                i = index[link] = len(remaining)
                remaining.append(link.capacity_bps)
                unfixed.append(0)
                crossing.append([])
            unfixed[i] += 1
            crossing[i].append(flow)
    if len(remaining) == 1 and unfixed[0] == len(flows):
        return _fill_one_link(sorted(flows, key=_CAP_THEN_START), remaining[0])
    shares = [(remaining[i] / n, i) for i, n in enumerate(unfixed)]
    heapq.heapify(shares)
    heappush, heappop = heapq.heappush, heapq.heappop
    rates: dict[Flow, float] = {}
    for smallest in sorted(flows, key=_CAP_THEN_START):
        while smallest not in rates:
            share, bottleneck = math.inf, -1
            while shares:
                share, bottleneck = shares[0]
                if unfixed[bottleneck] and remaining[bottleneck] / unfixed[bottleneck] == share:
                    break
                heappop(shares)  # that link's share has changed since, or it has no unfixed flow left
                share = math.inf
            cap = smallest.cap_bps
            if cap <= share:  # the flow is held by its own cap
                rates[smallest] = cap
                for link in smallest.links:
                    j = index[link]
                    left = remaining[j] - cap
                    remaining[j] = left = max(0.0, left)
                    n = unfixed[j] = unfixed[j] - 1
                    if n:
                        heappush(shares, (left / n, j))
                continue
            touched = set()  # the bottleneck holds every unfixed flow crossing it to its share
            for flow in crossing[bottleneck]:
                if flow not in rates:
                    rates[flow] = share
                    for link in flow.links:
                        j = index[link]
                        left = remaining[j] - share
                        remaining[j] = max(0.0, left)
                        unfixed[j] -= 1
                        touched.add(j)
            for j in touched:
                if unfixed[j]:
                    heappush(shares, (remaining[j] / unfixed[j], j))
    return rates


def _fill_one_link(by_cap: Sequence[Flow], capacity: float) -> dict[Flow, float]:
    """``max_min_rates`` of flows that all cross one link and no other, sorted by cap: the same steps, with the
    link's share as the only one."""
    rates = {}
    left, count = capacity, len(by_cap)
    for k, flow in enumerate(by_cap):
        share = left / (count - k)
        if flow.cap_bps > share:
            for held in by_cap[k:]:
                rates[held] = share
            return rates
        rates[flow] = flow.cap_bps
        left = max(0.0, left - flow.cap_bps)
    return rates


class FlowScheduler:
    """Advances the flows that cross shared links and fires each one's ``done``.

    At every start, cancel or completion, every flow in progress first sends ``rate × elapsed`` bits; then the
    rates of the flows sharing a link with the ones that changed are recomputed (``max_min_rates``), and one
    timer is set for the earliest completion. When it fires, every flow within 1e-6 s of its rate (at least
    1e-6 bit) of done is done, in the order the flows started (or, if rounding left none, the closest one).

    Remaining bits, rates and that tolerance live in NumPy arrays, one slot per flow in progress; a free slot
    holds infinitely many bits at 1 bit/s, so it is never next and never done.
    """

    def __init__(self, env: simpy.Environment):
        self.env = env
        self._active: dict[Flow, None] = {}  # in the order they started
        self._crossing: dict[Link, list[Flow]] = {}  # per link, the flows in progress crossing it, by cap and start
        self._joined: dict[Link, int] = {}  # per link, how many of them cross another link too
        self._remaining = np.empty(0)  # bits, per slot
        self._rate = np.empty(0)  # bit/s, per slot
        self._tolerance = np.empty(0)  # bits: done at or below 1e-6 * max(1, rate)
        self._scratch = np.empty(0)
        self._owner: list[Flow | None] = []
        self._free: list[int] = []
        self._stalled: set[int] = set()  # slots of flows in progress at rate 0
        self._last = env.now
        self._timer: simpy.Timeout | None = None  # the one set for the earliest completion; older ones do nothing
        self._started = 0
        self._grow()

    @property
    def flows(self) -> list[Flow]:
        """The flows in progress, in the order they started."""
        return list(self._active)

    def start(self, bits: float, cap_bps: float, links: tuple[Link, ...]) -> Flow:
        self._advance()
        flow = Flow(self.env, bits, cap_bps, links, self._started)
        self._started += 1
        if not self._free:
            self._grow()
        slot = flow._slot = self._free.pop()
        flow._scheduler = self
        self._owner[slot] = flow
        self._remaining[slot] = flow._bits
        self._active[flow] = None
        for link in links:
            bisect.insort(self._crossing.setdefault(link, []), flow, key=_CAP_THEN_START)
            if len(links) > 1:
                self._joined[link] = self._joined.get(link, 0) + 1
        if links:
            self._share(links)
        else:
            self._set_rates(max_min_rates((flow,)))
        self._reschedule()
        return flow

    def cancel(self, flow: Flow) -> None:
        """Remove an interrupted flow; the others speed up."""
        if flow in self._active:
            self._advance()
            self._drop(flow)
            self._share(flow.links)
            self._reschedule()

    def _grow(self) -> None:
        """Twice as many slots (eight at first)."""
        size = len(self._owner)
        more = max(size, 8)
        self._remaining = np.concatenate([self._remaining, np.full(more, math.inf)])
        self._rate = np.concatenate([self._rate, np.ones(more)])
        self._tolerance = np.concatenate([self._tolerance, np.full(more, 1e-6)])
        self._scratch = np.empty(size + more)
        self._owner += [None] * more
        self._free = list(range(size + more - 1, size - 1, -1))

    def _drop(self, flow: Flow) -> None:
        """Take a flow out (its remaining bits stay readable on it); its slot is freed."""
        slot = flow._slot
        flow._bits = float(self._remaining[slot])
        flow._slot = -1
        self._remaining[slot], self._rate[slot], self._tolerance[slot] = math.inf, 1.0, 1e-6
        self._owner[slot] = None
        self._stalled.discard(slot)
        self._free.append(slot)
        del self._active[flow]
        for link in flow.links:
            crossing = self._crossing[link]
            del crossing[bisect.bisect_left(crossing, _CAP_THEN_START(flow), key=_CAP_THEN_START)]
            if not crossing:
                del self._crossing[link]
            if len(flow.links) > 1:
                self._joined[link] -= 1

    def _share(self, links: Iterable[Link]) -> None:
        """Recompute the rates of every flow in progress connected to ``links``: a link whose flows cross no
        other is filled alone, from its flows already in cap order; otherwise the whole component goes through
        ``max_min_rates``."""
        done: set[Link] = set()
        for link in links:
            if link in done:
                continue
            if not self._joined.get(link):
                done.add(link)
                self._set_rates(_fill_one_link(self._crossing.get(link, ()), link.capacity_bps))
                continue
            component: dict[Flow, None] = {}
            stack = [link]
            done.add(link)
            while stack:
                for flow in self._crossing.get(stack.pop(), ()):
                    if flow not in component:
                        component[flow] = None
                        for other in flow.links:
                            if other not in done:
                                done.add(other)
                                stack.append(other)
            self._set_rates(max_min_rates(sorted(component, key=_START)))

    def _set_rates(self, rates: dict[Flow, float]) -> None:
        rate_of_slot, tolerance, stalled = self._rate, self._tolerance, self._stalled
        for flow, rate in rates.items():
            slot = flow._slot
            flow.rate_bps = rate_of_slot[slot] = rate
            tolerance[slot] = 1e-6 * max(1.0, rate)
            if rate > 0:
                stalled.discard(slot)
            else:
                stalled.add(slot)

    def _advance(self) -> None:
        elapsed = self.env.now - self._last
        if elapsed > 0 and self._active:
            np.multiply(self._rate, elapsed, out=self._scratch)
            np.subtract(self._remaining, self._scratch, out=self._remaining)
        self._last = self.env.now

    def _reschedule(self) -> None:
        self._timer = None
        if not self._active:
            return
        seconds = self._scratch  # to completion at the current rates, per slot (below 0 when overdue)
        if self._stalled:
            np.divide(self._remaining, self._rate, out=seconds, where=self._rate > 0)
            seconds[list(self._stalled)] = math.inf
        else:
            np.divide(self._remaining, self._rate, out=seconds)
        delay = max(0.0, float(_smallest(seconds)))  # equals the least max(0, bits) / rate, to the bit
        if math.isinf(delay):
            raise RuntimeError("shared links left every active transfer without bandwidth")
        self._timer = self.env.timeout(delay)
        self._timer.callbacks.append(self._on_timer)

    def _on_timer(self, timer: simpy.Timeout) -> None:
        if timer is not self._timer:
            return  # superseded by a later start or cancel
        self._advance()
        slots = (self._remaining <= self._tolerance).nonzero()[0]
        if not len(slots):  # rounding: finish the closest one
            slots = [self._closest()]
        finished = sorted((self._owner[slot] for slot in slots), key=_START)
        links = set()
        for flow in finished:
            self._drop(flow)
            flow._bits = 0.0
            links.update(flow.links)
            flow.done.succeed()
        self._share(links)
        self._reschedule()

    def _closest(self) -> int:
        """The slot of the flow with the least time left at its rate (the earliest started on a tie)."""
        seconds = np.full(len(self._owner), math.inf)
        np.divide(self._remaining, self._rate, out=seconds, where=self._rate > 0)
        ties = np.flatnonzero(seconds == seconds.min())
        return min(ties, key=lambda slot: self._owner[slot].order)
