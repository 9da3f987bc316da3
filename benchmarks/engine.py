"""The event engine at scale: edgesim's simulation layer against a bare SimPy loop.

Scenario (``fleet_scenario``): 10,000 devices in three groups over one
simulated week -- phones (60 %, a nightly charging window 22:00-07:00 with
±1 h jitter, LTE), laptops (20 %, an evening window 19:00-23:00 with ±0.5 h
jitter, Wi-Fi 6) and Raspberry Pis (20 %, always on, Wi-Fi 5) -- with random
failures (MTBF exponential, mean 1 day; MTTR lognormal, median 10 min) and
lognormal stragglers. The synchronous server runs rounds of 100 clients with
30 % over-selection and a 10-minute deadline. Training and aggregation are a
zero-cost stub (``StubOwner``: fixed payloads and FLOPs, every device
eligible, never stops), so what is timed is the event engine: the fleet's
availability and failure processes, the server, the task processes and the
event log (a real ``events.csv`` in a temporary directory). The groups cross
no shared link: transfers take latency + bytes / access bandwidth (the
``TaskRunner`` path of every device outside ``links:``; the
``FlowScheduler`` is in place but idle). ``cells.py`` and ``scale.py`` run
the same fleet behind shared cells (``fleet_scenario(..., cells=)``), the
bare loop then sharing them through ``run_bare``'s ``sharing``.

The bare baseline (``run_bare``) is a hand-written SimPy program with the
same processes and the same random draws (same seeds, same availability and
failure timelines, same selection, same task phases and interrupts) but none
of edgesim's classes: flags in lists, no event log. It must process exactly
as many SimPy events as edgesim (checked; the row says so).

**Events** = SimPy events processed by ``env.run`` (events scheduled minus
those still queued at the horizon), the same definition for both programs.
Rows written to ``events.csv`` are reported too. Only ``env.run`` is timed,
in CPU time of this process (``time.process_time``: the machine may be busy
with other work; wall time is in the notes), the least of the alternated
repeats; building the fleet (seeding 10,000 random streams) is reported
separately. Edgesim is also run with a counts-only log, to show the share of
the event log.

Memory: the peak of ``tracemalloc`` (Python objects and NumPy buffers) while
building and running a fleet, for several fleet sizes; MB per 1,000 devices
is the slope of a least-squares line, and "linear" means every size lies
within 15 % of that line.

Run ``python benchmarks/engine.py`` (full: 10,000 devices, 7 days, a few
minutes) or ``python benchmarks/engine.py --quick`` (1,000 devices, half a
day: a smoke check whose timings are shown but not judged); ``run(quick)``
returns the rows for ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import tempfile
import time
import tracemalloc
from itertools import compress
from pathlib import Path

import simpy

from edgesim.runner import protocol_context, stop_rules
from edgesim.scenario.fleet import build_fleet
from edgesim.scenario.loading import validate
from edgesim.seeding import Streams
from edgesim.sim.engine import Engine
from edgesim.sim.event_log import EventLog
from edgesim.work import Outcome, TaskCost

DAY = 86400.0
TARGET_EVENTS_PER_S = 200_000
TARGET_RATIO = 2.0
DOWNLOAD_BYTES = 1_700_000  # a ~420k-parameter CNN in fp32
UPLOAD_BYTES = 1_700_000
TASK_FLOPS = 2.0e12  # 3.5 min on a Raspberry Pi 4, 6.4 min on a budget phone
CELL_DOWN_MBPS, CELL_UP_MBPS = 100, 20  # a cell's shared capacity (cells.py): a busy LTE sector


def fleet_scenario(devices: int, days: float, seed: int = 1, cells: int = 0):
    """The benchmark fleet; with ``cells``, its devices are split evenly over that many cells (``cells.py``),
    each cell holding the same mix in its own three groups and one shared link all their transfers cross."""
    per_cell = [devices] if not cells else [devices // cells + (c < devices % cells) for c in range(cells)]
    groups, links = [], {}
    for c, count in enumerate(per_cell):
        phones = count * 6 // 10
        laptops = count * 2 // 10
        cell = {"link": f"cell-{c}"} if cells else {}
        suffix = f"_c{c}" if cells else ""
        groups += [g for g in (
            {"name": f"phone{suffix}", "profile": "phone_low_end", "count": phones, "network": "lte",
             "availability": {"kind": "windows", "windows": [[22, 7]], "jitter_h": 1}, **cell},
            {"name": f"laptop{suffix}", "profile": "laptop", "count": laptops, "network": "wifi6",
             "availability": {"kind": "windows", "windows": [[19, 23]], "jitter_h": 0.5}, **cell},
            {"name": f"pi4{suffix}", "profile": "raspberry_pi_4", "count": count - phones - laptops,
             "network": "wifi5", **cell},
        ) if g["count"] > 0]
        if cells:
            links[f"cell-{c}"] = {"down_mbps": CELL_DOWN_MBPS, "up_mbps": CELL_UP_MBPS}
    return validate({
        "name": f"engine_{devices}" + (f"_{cells}_cells" if cells else ""),
        "seed": seed,
        "start_hour": 12,
        "fleet": {
            "groups": groups,
            "stragglers": {"kind": "lognormal", "sigma": 0.5},
            "failures": {"kind": "random", "mtbf_s": {"kind": "exponential", "mean": DAY},
                         "mttr_s": {"kind": "lognormal", "median": 600, "sigma": 0.5}},
        },
        "links": links,
        "server": {"clients_per_round": 100, "over_selection": 0.3, "deadline_s": 600},
        "dataset": {"name": "mnist"},
        "model": {"name": "small_cnn"},
        "algorithm": {"name": "fedavg"},
        "stop": {"horizon_s": days * DAY},
    })


class StubOwner:
    """Zero-cost training: fixed payloads and FLOPs, everyone eligible, never stops."""

    costs_by_round = False

    def __init__(self):
        self.rounds = 0
        self.accepted = 0
        self._cost = TaskCost(DOWNLOAD_BYTES, TASK_FLOPS, UPLOAD_BYTES, 0)

    def cost(self, task):
        return self._cost

    def aggregate(self, round, version, arrivals, oldest_held_version, now):
        self.rounds = round
        self.accepted += len(arrivals)
        return Outcome()

    def client_losses(self, round, clients):
        raise AssertionError("uniform selection asks for no losses")


def processed_events(env: simpy.Environment) -> int:
    """SimPy events popped so far: every event ever scheduled minus those still queued."""
    scheduled = next(env._eid)  # itertools.count from 0: the next id is the number handed out so far
    return scheduled - len(env._queue)


def run_edgesim(devices: int, days: float, log_path: Path | None, seed: int = 1, cells: int = 0,
                 log_format: str = "csv") -> dict:
    """Build the fleet and run the synchronous protocol with the stub owner; time ``env.run``. ``log_path``:
    the event table to write (``None``: counts only), as ``log_format``."""
    scenario = fleet_scenario(devices, days, seed, cells)
    built = time.perf_counter()
    streams = Streams(scenario.seed)
    plan = build_fleet(scenario, streams)
    log = EventLog(log_path, format=log_format)
    owner = StubOwner()
    engine = Engine(plan, log, scenario.server.protocol, owner, protocol_context(scenario, streams),
                    stop_rules(scenario))
    built = time.perf_counter() - built
    start, cpu = time.perf_counter(), time.process_time()
    engine.run()  # as the runner does
    log.close()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"events": processed_events(engine.env), "rows": sum(log.counts.values()), "seconds": cpu,
            "wall_s": seconds,
            "build_s": built, "rounds": owner.rounds, "accepted": owner.accepted,
            "failures": log.counts["failure"]}


def run_bare(devices: int, days: float, seed: int = 1, cells: int = 0, sharing=None) -> dict:
    """The same simulation written directly on SimPy: lists of flags, no edgesim classes, no log. With
    ``cells``, ``sharing(env, plan)`` gives the generator that sends ``bits`` of device ``i`` at ``cap`` bit/s
    ``"down"`` or ``"up"`` through its cell (``cells.py``)."""
    scenario = fleet_scenario(devices, days, seed, cells)
    streams = Streams(scenario.seed)
    plan = build_fleet(scenario, streams)  # the same random streams and timelines; not timed
    env = simpy.Environment()
    send = sharing(env, plan) if cells else None
    n = len(plan.devices)
    lat = [d.latency_ms for d in plan.devices]
    rngs = [d.rng for d in plan.devices]
    stragglers = [d.stragglers for d in plan.devices]
    down_bps = [d.down_bps for d in plan.devices]
    up_bps = [d.up_bps for d in plan.devices]
    compute_base = [TASK_FLOPS / d.flops_per_s * d.slowdown for d in plan.devices]
    available = [True] * n
    up = [True] * n
    busy = [False] * n
    ready = [True] * n
    task = [None] * n
    waiter = []  # [count, event] while the server waits
    sel_rng = streams.rng("selection")
    settings = protocol_context(scenario, streams).rounds
    wanted = settings.clients_per_round
    per_round = math.ceil(settings.clients_per_round * (1 + settings.over_selection))
    stats = {"rounds": 0, "accepted": 0, "failures": 0}

    def refresh(i):
        ready[i] = available[i] and up[i] and not busy[i]

    def check_waiter():
        if waiter and sum(ready) >= waiter[0][0]:
            waiter.pop()[1].succeed()

    def interrupt(i):
        if task[i] is not None and task[i].is_alive:
            task[i].interrupt()

    def availability(i, changes):
        for t, state in changes:
            if t > env.now:
                yield env.timeout(t - env.now)
            if t == 0.0 and state:
                continue
            available[i] = state
            refresh(i)
            if not state:
                interrupt(i)
            check_waiter()

    def failures(i, outages):
        for t, duration in outages:
            if t > env.now:
                yield env.timeout(t - env.now)
            up[i] = False
            refresh(i)
            stats["failures"] += 1
            interrupt(i)
            yield env.timeout(duration)
            up[i] = True
            refresh(i)
            check_waiter()

    def transfer(i, bits, cap, direction):
        latency = max(0.0, lat[i].sample(rngs[i])) / 1000.0
        if latency > 0:
            yield env.timeout(latency)
        if send is None:
            yield env.timeout(bits / cap)
        else:
            yield from send(i, bits, cap, direction)

    def run_task(i):
        try:
            yield from transfer(i, DOWNLOAD_BYTES * 8.0, down_bps[i], "down")
            yield env.timeout(compute_base[i] * stragglers[i].task_factor(rngs[i]))
            yield from transfer(i, UPLOAD_BYTES * 8.0, up_bps[i], "up")
            return i, True
        except simpy.Interrupt:
            return i, False

    def server():
        while True:
            candidates = []
            while len(candidates) < settings.min_clients:
                event = env.event()
                waiter.append([settings.min_clients, event])
                check_waiter()
                yield event
                candidates = list(compress(range(n), ready))
            chosen = sorted(sel_rng.choice(len(candidates), size=min(len(candidates), per_round), replace=False))
            state = {"accepted": 0, "ended": 0, "closed": False, "selected": len(chosen)}
            complete = env.event()

            def ended(event, state=state, complete=complete):
                i, arrived = event.value
                busy[i] = False
                task[i] = None
                refresh(i)
                check_waiter()
                state["ended"] += 1
                if arrived and not state["closed"] and state["accepted"] < wanted:
                    state["accepted"] += 1
                if not state["closed"] and not complete.triggered and (
                        state["accepted"] >= wanted or state["ended"] >= state["selected"]):
                    complete.succeed()

            for k in chosen:
                i = candidates[k]
                busy[i] = True
                ready[i] = False
                task[i] = env.process(run_task(i))
                task[i].callbacks.append(ended)
            yield complete | env.timeout(settings.deadline_s)
            state["closed"] = True
            stats["rounds"] += 1
            stats["accepted"] += state["accepted"]

    for i, (changes, outages) in enumerate(zip(plan.availability(), plan.outages())):
        env.process(availability(i, changes))
        env.process(failures(i, outages))
    env.process(server())
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    env.run(until=env.event() | env.timeout(scenario.stop.horizon_s))  # the runner's stop: a stop event or the horizon
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"events": processed_events(env), "seconds": cpu, "wall_s": seconds, **stats}


def against_bare(benchmark: str, size: str, edge: dict, bare: dict, log: str, load: str, repeats: int,
                 judged: bool, events_target: int, ratio_target: float) -> list[dict]:
    """The rows of edgesim against its bare twin: edgesim's events/s (``log``: what its event log wrote;
    ``load``: the machine's load), the bare loop's with the check that both processed the same events, rounds,
    updates and failures, and the ratio of their CPU times. ``judged``: whether the timings are held to their
    targets."""
    rate, bare_rate = edge["events"] / edge["seconds"], bare["events"] / bare["seconds"]
    ratio = edge["seconds"] / bare["seconds"]
    same = all(edge[key] == bare[key] for key in ("events", "rounds", "accepted", "failures"))
    check = (f"same {edge['events']:,} events, {edge['rounds']:,} rounds, {edge['accepted']:,} updates, "
             f"{edge['failures']:,} failures" if same else
             f"MISMATCH: edgesim {edge['events']:,} events/{edge['rounds']} rounds, "
             f"bare {bare['events']:,}/{bare['rounds']}")
    return [
        {"benchmark": benchmark, "metric": f"edgesim events/s ({size})", "value": float(round(rate)),
         "target": f">= {events_target:,}", "ok": rate >= events_target if judged else None,
         "note": f"{edge['events']:,} events in {edge['seconds']:.2f} s CPU ({edge['wall_s']:.2f} s wall); "
                 f"{edge['rows']:,} rows, {log}; build {edge['build_s']:.1f} s; {load}"},
        {"benchmark": benchmark, "metric": f"bare SimPy events/s ({size})", "value": float(round(bare_rate)),
         "target": "same events as edgesim", "ok": same,
         "note": f"{bare['seconds']:.2f} s CPU ({bare['wall_s']:.2f} s wall); {check}"},
        {"benchmark": benchmark, "metric": "edgesim / bare CPU time", "value": float(round(ratio, 3)),
         "target": f"<= {ratio_target:g}", "ok": (ratio <= ratio_target and same) if judged else None,
         "note": f"least of {repeats} alternated runs each; wall ratio {edge['wall_s'] / bare['wall_s']:.2f}"},
    ]


def measure(devices: int, days: float, repeats: int) -> dict:
    """Alternate edgesim (with a real events.csv), bare and edgesim (counts only); least CPU time of
    ``repeats`` each."""
    best: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="edgesim-engine-") as tmp:
        for _ in range(repeats):
            for name, call in (("edgesim", lambda: run_edgesim(devices, days, Path(tmp) / "events.csv")),
                               ("bare", lambda: run_bare(devices, days)),
                               ("edgesim_nolog", lambda: run_edgesim(devices, days, None))):
                result = call()
                if name not in best or result["seconds"] < best[name]["seconds"]:
                    best[name] = result
            csv_bytes = (Path(tmp) / "events.csv").stat().st_size
    best["edgesim"]["csv_mb"] = csv_bytes / 1e6
    return best


# --- memory ---------------------------------------------------------------------------------------

def memory_mb(devices: int, days: float) -> float:
    """Peak traced memory (MB: Python objects and NumPy buffers, ``tracemalloc``) of building and
    running a fleet of ``devices`` for ``days``, counting only what the run allocates."""
    gc.collect()
    tracemalloc.start()
    try:
        run_edgesim(devices, days, None)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def memory_slope(sizes: list[int], days: float) -> tuple[float, float, dict[int, float]]:
    """(MB per 1,000 devices, worst relative deviation from the fitted line, MB per size)."""
    mb = {n: memory_mb(n, days) for n in sizes}
    return (*per_1000_devices(mb), mb)


def per_1000_devices(mb: dict[int, float]) -> tuple[float, float]:
    """The least-squares line through MB against fleet size: (its slope in MB per 1,000 devices, the worst
    relative deviation of a size from it)."""
    xs, ys = list(mb), list(mb.values())
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sum((x - mean_x) ** 2 for x in xs)
    intercept = mean_y - slope * mean_x
    worst = max(abs(y - (intercept + slope * x)) / y for x, y in zip(xs, ys))
    return slope * 1000, worst


# --- report ---------------------------------------------------------------------------------------

def run(quick: bool = False) -> list[dict]:
    """The benchmark rows. ``quick``: 1,000 devices over half a day, a smoke check whose timings are
    reported but not judged (``ok`` is None); the event-count and linearity checks are judged."""
    devices, days, repeats = (1_000, 0.5, 1) if quick else (10_000, 7.0, 2)
    sizes, memory_days = ([250, 500, 1_000], 0.05) if quick else ([1_000, 5_000, 10_000], 0.25)
    load = load_average()
    best = measure(devices, days, repeats)
    edge, bare, nolog = best["edgesim"], best["bare"], best["edgesim_nolog"]
    size = f"{devices:,} devices, {days:g} d"
    per_1000, worst, mb = memory_slope(sizes, memory_days)
    log_share = 1 - nolog["seconds"] / edge["seconds"]
    judged = not quick
    return [
        *against_bare("engine", size, edge, bare, f"{edge['csv_mb']:.0f} MB events.csv", load, repeats, judged,
                      TARGET_EVENTS_PER_S, TARGET_RATIO),
        {"benchmark": "engine", "metric": "event log share of edgesim time", "value": float(round(log_share, 3)),
         "target": "small (buffered)", "ok": None,
         "note": f"counts only (no events.csv): {nolog['events'] / nolog['seconds']:,.0f} events/s, "
                 f"{nolog['seconds'] / bare['seconds']:.2f} x bare"},
        {"benchmark": "engine", "metric": "memory MB per 1,000 devices", "value": float(round(per_1000, 2)),
         "target": "linear in fleet size", "ok": worst <= 0.15,
         "note": f"tracemalloc peak, {memory_days:g} d: "
                 + ", ".join(f"{n:,}: {v:.1f} MB" for n, v in mb.items())
                 + f"; worst deviation from the fitted line {worst:.0%}"},
    ]


def load_average() -> str:
    """How busy the machine was: the timings are CPU time, but a loaded machine still slows them."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return ""
    return f"load avg {one:.1f}/{five:.1f} on {os.cpu_count()} CPUs"


def print_table(rows: list[dict]) -> None:
    header = ("metric", "value", "target", "ok", "note")
    table = [(r["metric"], f"{r['value']:,g}" if abs(r["value"]) < 1000 else f"{r['value']:,.0f}", r["target"],
              {True: "yes", False: "NO", None: "-"}[r["ok"]], r["note"]) for r in rows]
    widths = [max(len(str(row[i])) for row in table + [header]) for i in range(4)]
    for row in [header] + table:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row[:4], widths)) + "  " + row[4])


def command_line(run, doc: str, quick: str, argv: list[str] | None = None) -> int:
    """A benchmark module run alone: ``--quick`` (``quick`` says what it does), then its rows as a table."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick)
    args = parser.parse_args(argv)
    print_table(run(quick=args.quick))
    return 0


def main(argv: list[str] | None = None) -> int:
    return command_line(run, __doc__, "1,000 devices over half a day: a smoke check (timings not judged)", argv)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
