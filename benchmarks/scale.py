"""Scale: 100,000 devices behind 1,000 shared cells over one simulated day, with the event table written as
CSV and as Parquet.

The fleet and protocol are ``cells.py``'s (``engine.py``'s fleet, 100 devices to a cell, every transfer
sharing its cell's link max-min fairly; training stubbed out). Each size and format runs in a fresh
process, so that its memory is its own:

- **events/s**: SimPy events processed by ``env.run`` over its CPU time (``engine.processed_events``),
  reported without a target: per event it costs more than at 10,000 devices, since each round's selection
  looks at every ready device (``edgesim.sim.protocols.sync``) while the events per round stay the same;
- **memory per 1,000 devices**: the process's peak resident set (``ru_maxrss``) over building the fleet and
  running it, less its resident set after the imports, at 10,000, 40,000 and 100,000 devices; the slope of
  the least-squares line through them (what a fleet adds beyond the modules loaded on first use), and
  "linear" means every size lies within 15 % of that line;
- **Parquet against CSV**: the same run writing ``events.parquet`` (``EventLog(format="parquet")``) instead
  of ``events.csv``, in CPU time of ``env.run`` and in file size.

Run ``python benchmarks/scale.py`` (a few minutes) or ``--quick`` (2,000, 5,000 and 10,000 devices over a
quarter day); ``run(quick)`` returns the rows for ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from cells import PER_CELL
from engine import load_average, per_1000_devices, print_table, run_edgesim

from edgesim.contract import EVENTS_FILE, EVENTS_PARQUET_FILE

LINEAR_MEMORY = 0.15  # the worst relative deviation from the fitted line


def resident_mb() -> float:
    """This process's resident set now, MB (``VmRSS``)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1e3


def measure_here(devices: int, days: float, log_format: str) -> dict:
    """One run in this process: its figures and the event table's size."""
    baseline = resident_mb()
    with tempfile.TemporaryDirectory(prefix="edgesim-scale-") as tmp:
        path = Path(tmp) / (EVENTS_FILE if log_format == "csv" else EVENTS_PARQUET_FILE)
        result = run_edgesim(devices, days, path, cells=devices // PER_CELL, log_format=log_format)
        result["file_mb"] = path.stat().st_size / 1e6
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # kB on Linux
    return {**result, "memory_mb": peak - baseline}


def measure(devices: int, days: float, log_format: str) -> dict:
    """``measure_here`` in a fresh process."""
    child = subprocess.run([sys.executable, __file__, "--child", str(devices), str(days), log_format],
                           capture_output=True, text=True)
    if child.returncode:
        raise RuntimeError(f"{devices:,} devices, {log_format}: exit {child.returncode}: {child.stderr[-2000:]}")
    return json.loads(child.stdout.splitlines()[-1])


def run(quick: bool = False) -> list[dict]:
    sizes, days = ((2_000, 5_000, 10_000), 0.25) if quick else ((10_000, 40_000, 100_000), 1.0)
    devices = sizes[-1]
    load = load_average()
    csv = {n: measure(n, days, "csv") for n in sizes}
    parquet, largest = measure(devices, days, "parquet"), csv[devices]
    rate = largest["events"] / largest["seconds"]
    slope, worst = per_1000_devices({n: result["memory_mb"] for n, result in csv.items()})
    same = all(largest[key] == parquet[key] for key in ("events", "rows", "rounds", "accepted", "failures"))
    size = f"{devices:,} devices in {devices // PER_CELL:,} cells, {days:g} d"
    return [
        {"benchmark": "scale", "metric": f"edgesim events/s ({size}, events.csv)", "value": float(round(rate)),
         "target": "-", "ok": None,
         "note": f"{largest['events']:,} events in {largest['seconds']:.2f} s CPU ({largest['wall_s']:.2f} s wall); "
                 f"{largest['rows']:,} rows, {largest['rounds']:,} rounds; build {largest['build_s']:.1f} s; {load}"},
        {"benchmark": "scale", "metric": f"memory MB per 1,000 devices (up to {size})", "value": round(slope, 2),
         "target": "linear in fleet size", "ok": worst <= LINEAR_MEMORY,
         "note": "peak RSS above the imports: " + ", ".join(f"{n:,}: {r['memory_mb']:.0f} MB" for n, r in csv.items())
                 + f"; worst deviation from the fitted line {worst:.0%}"},
        {"benchmark": "scale", "metric": "events.parquet / events.csv CPU time of the run", "value":
            round(parquet["seconds"] / largest["seconds"], 3), "target": "same rows", "ok": same,
         "note": f"parquet {parquet['events'] / parquet['seconds']:,.0f} events/s, {parquet['seconds']:.2f} s CPU; "
                 f"csv {largest['seconds']:.2f} s; {parquet['rows']:,} rows each"
                 + ("" if same else "; MISMATCH in events or rows")},
        {"benchmark": "scale", "metric": "events.parquet / events.csv file size",
         "value": round(parquet["file_mb"] / largest["file_mb"], 3), "target": "-", "ok": None,
         "note": f"parquet {parquet['file_mb']:.1f} MB, csv {largest['file_mb']:.1f} MB"},
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000, 5,000 and 10,000 devices over a quarter day")
    parser.add_argument("--child", nargs=3, metavar=("DEVICES", "DAYS", "FORMAT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        devices, days, log_format = args.child
        print(json.dumps(measure_here(int(devices), float(days), log_format)))
        return 0
    print_table(run(quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
