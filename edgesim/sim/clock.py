"""Running the SimPy clock until the server stops the run or the horizon ends it.

While the clock runs, the objects that existed before it (the dataset, the
model, the fleet) are frozen out of Python's garbage collector: the
collector then only scans what the simulation itself allocates, which saves
a full scan of a large heap on every collection of the oldest generation.
"""

from __future__ import annotations

import gc

import simpy


def run_clock(env: simpy.Environment, stopped: simpy.Event, horizon_s: float) -> bool:
    """Run ``env`` until ``stopped`` fires (returns True) or simulated time reaches ``horizon_s`` (False),
    with the pre-existing heap frozen out of the collector."""
    gc.collect()
    gc.freeze()
    try:
        env.run(until=stopped | env.timeout(horizon_s))
    finally:
        gc.unfreeze()
    return stopped.triggered
