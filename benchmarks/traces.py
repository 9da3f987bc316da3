"""Loading device traces at cross-device scale: seconds and memory to read 100,000 devices' traces.

Writes synthetic open-format traces (one ``devices`` row and ten ``availability`` intervals per
device, the shape of a week of charging nights) as Parquet and as CSV for 25k, 50k and 100k devices,
then times ``read_open_trace`` on each (the median of a few reads) and measures the memory the
loaded ``FleetTrace`` holds (its arrays) and the peak Python allocation while reading
(``tracemalloc``). Targets (issue 16): 100,000 devices load in seconds, and memory grows linearly
with the devices (the bytes per device at 100k within 10% of those at 25k).

Run alone: ``python benchmarks/traces.py [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from edgesim.traces.open_format import read_open_trace, write_open_trace

INTERVALS = 10
LOAD_TARGET_S = 10.0
LINEARITY = 0.10


def write_trace(folder: Path, devices: int, suffix: str, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    names = np.char.add("d", np.arange(devices).astype(str))
    starts = (np.arange(INTERVALS) * 86400.0)[None, :] + rng.uniform(0, 3600, (devices, INTERVALS))
    ends = starts + rng.uniform(3600, 30000, (devices, INTERVALS))
    return write_open_trace(
        folder,
        pd.DataFrame({"device": names, "train_gflops": rng.lognormal(1.6, 0.4, devices),
                      "down_mbps": rng.lognormal(3.5, 0.6, devices), "up_mbps": rng.lognormal(2.3, 0.6, devices)}),
        pd.DataFrame({"device": np.repeat(names, INTERVALS), "start_s": starts.ravel().round(1),
                      "end_s": ends.ravel().round(1)}), suffix=suffix)


def trace_bytes(trace) -> int:
    """Bytes the loaded trace holds: its arrays (figures, interval columns, offsets) and its device ids."""
    arrays = [*trace.figures.values(), *trace.availability.columns.values(), trace.availability.offsets]
    return sum(a.nbytes for a in arrays) + sys.getsizeof(trace.devices) + sum(map(sys.getsizeof, trace.devices))


def measure(folder: Path, repeats: int) -> dict:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        trace = read_open_trace(folder)
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    trace = read_open_trace(folder)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"devices": len(trace), "seconds": statistics.median(times), "bytes": trace_bytes(trace), "peak": peak}


def run(quick: bool = False) -> list[dict]:
    sizes = (5_000, 20_000) if quick else (25_000, 50_000, 100_000)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in (".parquet", ".csv"):
            found = [measure(write_trace(Path(tmp) / f"{n}{suffix}", n, suffix), 1 if quick else 3) for n in sizes]
            small, large = found[0], found[-1]
            per_small, per_large = small["bytes"] / small["devices"], large["bytes"] / large["devices"]
            growth = per_large / per_small
            detail = "; ".join(f"{m['devices']:,}: {m['seconds']:.2f} s, {m['bytes'] / 1e6:.1f} MB held, "
                               f"{m['peak'] / 1e6:.0f} MB peak while reading" for m in found)
            rows.append({"benchmark": "traces", "metric": f"load {large['devices']:,} devices' traces ({suffix[1:]}, "
                                                          f"{INTERVALS} intervals each), s",
                         "value": large["seconds"], "target": f"<= {LOAD_TARGET_S:g}",
                         "ok": large["seconds"] <= LOAD_TARGET_S, "note": detail})
            rows.append({"benchmark": "traces", "metric": f"memory per device at {large['devices']:,} / at "
                                                          f"{small['devices']:,} ({suffix[1:]})",
                         "value": growth, "target": f"<= {1 + LINEARITY:g}", "ok": growth <= 1 + LINEARITY,
                         "note": f"{per_small:.0f} and {per_large:.0f} bytes per device held"})
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    for row in run(parser.parse_args().quick):
        print(f"{row['metric']}: {row['value']:.3g} (target {row['target']}, ok={row['ok']})\n    {row['note']}")
