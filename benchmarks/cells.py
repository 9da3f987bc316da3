"""Scale behind shared links: 10,000 devices behind 100 shared cells over one simulated week, edgesim
against a bare SimPy twin doing the same max-min sharing.

Scenario: ``engine.py``'s fleet and protocol (phones, laptops and Raspberry Pis with their availability
windows, random failures, lognormal stragglers; synchronous rounds of 100 clients with 30 % over-selection
and a 10-minute deadline; training stubbed out), with the devices split 100 to a cell, each cell holding the
same mix (60 phones, 20 laptops, 20 Pis) and one shared link of ``CELL_DOWN_MBPS`` down and ``CELL_UP_MBPS``
up that every transfer of its devices crosses. Every transfer therefore goes through edgesim's
``FlowScheduler``: max-min fair rates under the devices' access bandwidths, recomputed at every transfer's
start, end and interruption, one timer for the earliest completion.

The bare twin (``engine.run_bare`` with ``bare_cell_sharing``) is the same simulation written directly on
SimPy, its sharing included: per flow a slot in NumPy arrays of remaining bits and rates (advanced at every
event), per cell water-filling over its flows sorted by cap (one link per flow, so a cell is filled on its
own), the same timer and completion rule. Its numbers must be edgesim's to the bit, so both process exactly
the same SimPy events (checked: events, rounds, accepted updates, failures).

Also measured: the cost of one event (a flow starting, then cancelled) with 100, 1,000 and 2,000 flows in
progress on one link, caps spread so that about half of them bind; its growth from 100 to 2,000 flows is at
most 20 when the cost is linear in the flows.

Only ``env.run`` is timed, in CPU time of this process, the least of the alternated repeats (as in
``engine.py``). ``run(quick)`` returns the rows for ``benchmarks/run.py``; ``--quick``: 1,000 devices in 10
cells over a day, timings shown but not judged.
"""

from __future__ import annotations

import math
import random
import sys
import time
from operator import itemgetter

import numpy as np
import simpy
from engine import against_bare, command_line, load_average, run_bare, run_edgesim

from edgesim.sim.links import FlowScheduler, Link

TARGET_EVENTS_PER_S = 150_000
TARGET_RATIO = 2.5
PER_CELL = 100
LINEAR_GROWTH = 20.0  # 2,000 flows / 100 flows


def bare_cell_sharing(env: simpy.Environment, plan):
    """Max-min sharing of each device's cell written directly on SimPy: returns ``send(i, bits, cap,
    direction)``, the generator that transfers ``bits`` of device ``i`` at most at ``cap`` bit/s."""
    link_of = {"down": [], "up": []}  # per direction, per device, its cell's link number
    capacity = []  # bit/s per link
    numbers = {}
    for device in plan.devices:
        for direction, (link,) in (("down", device.links_down), ("up", device.links_up)):
            if link not in numbers:
                numbers[link] = len(capacity)
                capacity.append(link.capacity_bps)
            link_of[direction].append(numbers[link])
    on_link = [{} for _ in capacity]  # per link, its flows in the order they started
    slots = 64  # a free slot: infinitely many bits at 1 bit/s (cells never leave a flow at rate 0)
    remaining, rate, tolerance = np.full(slots, math.inf), np.ones(slots), np.full(slots, 1e-6)
    scratch = np.empty(slots)
    owner = [None] * slots
    free = list(range(slots - 1, -1, -1))
    state = {"last": 0.0, "generation": 0, "started": 0, "flows": 0}
    SLOT, CAP, LINK, ORDER, DONE = range(5)
    by_cap = itemgetter(CAP, ORDER)
    smallest = np.minimum.reduce

    def grow():
        nonlocal remaining, rate, tolerance, scratch, owner, free
        size = len(owner)
        remaining = np.concatenate([remaining, np.full(size, math.inf)])
        rate = np.concatenate([rate, np.ones(size)])
        tolerance = np.concatenate([tolerance, np.full(size, 1e-6)])
        scratch = np.empty(2 * size)
        owner += [None] * size
        free = list(range(2 * size - 1, size - 1, -1))

    def set_rate(flow, bps):
        rate[flow[SLOT]] = bps
        tolerance[flow[SLOT]] = 1e-6 * max(1.0, bps)

    def fill(link):
        flows = sorted(on_link[link].values(), key=by_cap)
        left, count = capacity[link], len(flows)
        for k, flow in enumerate(flows):
            share = left / (count - k)
            if flow[CAP] > share:
                for held in flows[k:]:
                    set_rate(held, share)
                return
            set_rate(flow, flow[CAP])
            left = max(0.0, left - flow[CAP])

    def advance():
        elapsed = env.now - state["last"]
        if elapsed > 0 and state["flows"]:
            np.multiply(rate, elapsed, out=scratch)
            np.subtract(remaining, scratch, out=remaining)
        state["last"] = env.now

    def remove(flow):
        slot = flow[SLOT]
        remaining[slot], rate[slot], tolerance[slot], owner[slot] = math.inf, 1.0, 1e-6, None
        free.append(slot)
        del on_link[flow[LINK]][flow[ORDER]]
        state["flows"] -= 1

    def reschedule():
        state["generation"] += 1
        if not state["flows"]:
            return
        np.divide(remaining, rate, out=scratch)
        timer = env.timeout(max(0.0, float(smallest(scratch))))
        generation = state["generation"]
        timer.callbacks.append(lambda _event: on_timer(generation))

    def on_timer(generation):
        if generation != state["generation"]:
            return
        advance()
        done = (remaining <= tolerance).nonzero()[0]
        if not len(done):
            np.divide(remaining, rate, out=scratch)
            done = [min((scratch == smallest(scratch)).nonzero()[0], key=lambda slot: owner[slot][ORDER])]
        finished = sorted((owner[slot] for slot in done), key=itemgetter(ORDER))
        for flow in finished:
            remove(flow)
            flow[DONE].succeed()
        for link in {flow[LINK] for flow in finished}:
            fill(link)
        reschedule()

    def send(i, bits, cap, direction):
        advance()
        if not free:
            grow()
        flow = [free.pop(), cap, link_of[direction][i], state["started"], env.event()]
        state["started"] += 1
        state["flows"] += 1
        owner[flow[SLOT]] = flow
        remaining[flow[SLOT]] = bits
        on_link[flow[LINK]][flow[ORDER]] = flow
        fill(flow[LINK])
        reschedule()
        try:
            yield flow[DONE]
        except simpy.Interrupt:
            if owner[flow[SLOT]] is flow:
                advance()
                remove(flow)
                fill(flow[LINK])
                reschedule()
            raise

    return send


def measure(devices: int, days: float, repeats: int) -> dict:
    """Edgesim (counts-only log: the event table's cost is ``engine.py``'s and ``scale.py``'s) and the bare
    twin, alternated; the least CPU time of ``repeats`` each."""
    cells = devices // PER_CELL
    best: dict[str, dict] = {}
    for _ in range(repeats):
        for name, call in (("edgesim", lambda: run_edgesim(devices, days, None, cells=cells)),
                           ("bare", lambda: run_bare(devices, days, cells=cells, sharing=bare_cell_sharing))):
            result = call()
            if name not in best or result["seconds"] < best[name]["seconds"]:
                best[name] = result
    return best


def event_cost(flows: int, events: int = 20) -> float:
    """CPU seconds per event (a flow starting, then cancelled) with ``flows`` flows in progress on one link
    whose fair share (10 Mbit/s) lies inside the spread of the caps (1-20 Mbit/s)."""
    env = simpy.Environment()
    scheduler = FlowScheduler(env)
    link = Link("cell", flows * 1e7)
    rng = random.Random(1)
    for _ in range(flows):
        scheduler.start(1e9, rng.uniform(1e6, 2e7), (link,))
    start = time.process_time()
    for _ in range(events // 2):
        scheduler.cancel(scheduler.start(1e9, 5e6, (link,)))
    return (time.process_time() - start) / events


def run(quick: bool = False) -> list[dict]:
    devices, days, repeats = (1_000, 1.0, 1) if quick else (10_000, 7.0, 2)
    load = load_average()
    best = measure(devices, days, repeats)
    costs = {n: event_cost(n) for n in (100, 1_000, 2_000)}
    growth = costs[2_000] / costs[100]
    size = f"{devices:,} devices in {devices // PER_CELL:,} cells, {days:g} d"
    return [
        *against_bare("cells", size, best["edgesim"], best["bare"], "counts only", load, repeats, not quick,
                      TARGET_EVENTS_PER_S, TARGET_RATIO),
        {"benchmark": "cells", "metric": "link sharing cost per event, 2,000 / 100 flows on one link",
         "value": float(round(growth, 2)), "target": f"<= {LINEAR_GROWTH:g} (linear)", "ok": growth <= LINEAR_GROWTH,
         "note": "CPU per event (a flow starting, then cancelled): "
                 + ", ".join(f"{n:,} flows {c * 1e3:.3f} ms" for n, c in costs.items())},
    ]


def main(argv: list[str] | None = None) -> int:
    return command_line(run, __doc__, "1,000 devices in 10 cells over a day (timings not judged)", argv)


if __name__ == "__main__":
    sys.exit(main())
