"""Writes the labelled-synthetic example trace ``phones_week/``: 200 phones over one week, in edgesim's open format.

Nothing here was measured: every figure is drawn from the distributions below
(seed 1), chosen to look like a fleet of budget-to-midrange phones that train
while they charge. Time 0 is 18:00 local time (scenarios using it set
``start_hour: 18``).

- devices: ``train_gflops`` lognormal (median 5, sigma 0.4), ``ram_mb`` one of 3, 4 or 6 GB, home Wi-Fi
  bandwidth lognormal (median 40 down / 12 up Mbit/s, sigma 0.6), ``latency_ms`` 20-60.
- availability: on 90% of nights each phone charges from about 22:00 (± 1.5 h) to about 07:00 (± 1 h); on
  30% of days it also charges at midday for 30-90 minutes.
- capacity: a fifth of the phones throttle once during the week: for an hour of a night their compute
  halves, then returns.

Run ``python scenarios/traces/make_phones_week.py`` to write it again (byte-identical).
"""

from pathlib import Path

import numpy as np
import pandas as pd

from edgesim.traces.open_format import write_open_trace

PHONES, DAYS, SEED = 200, 7, 1
HOUR = 3600.0
START_HOUR = 18.0


def local(day: int, hour: float) -> float:
    """Simulated seconds of ``hour`` o'clock on ``day`` (day 0 is the evening the trace starts)."""
    return (day * 24 + hour - START_HOUR) * HOUR


def make(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    names = [f"phone{i:03d}" for i in range(PHONES)]
    devices = pd.DataFrame({
        "device": names,
        "train_gflops": np.round(5.0 * np.exp(rng.normal(0, 0.4, PHONES)), 3),
        "ram_mb": rng.choice([3072, 4096, 6144], PHONES),
        "down_mbps": np.round(40 * np.exp(rng.normal(0, 0.6, PHONES)), 2),
        "up_mbps": np.round(12 * np.exp(rng.normal(0, 0.6, PHONES)), 2),
        "latency_ms": np.round(rng.uniform(20, 60, PHONES), 1),
    })
    rows = []
    for name in names:
        for day in range(DAYS):
            if rng.random() < 0.3 and day > 0:  # a midday top-up
                start = local(day, 12 + rng.uniform(0, 2))
                rows.append((name, start, start + rng.uniform(0.5, 1.5) * HOUR))
            if rng.random() < 0.9:  # overnight charge
                rows.append((name, local(day, 22 + rng.uniform(-1.5, 1.5)), local(day + 1, 7 + rng.uniform(-1, 1))))
    availability = pd.DataFrame(rows, columns=["device", "start_s", "end_s"]).round(1)
    availability = availability[availability["end_s"] > 0].assign(start_s=lambda f: f["start_s"].clip(lower=0))
    throttled = rng.choice(PHONES, PHONES // 5, replace=False)
    changes = []
    for i in sorted(throttled):
        at = local(int(rng.integers(0, DAYS)), 23 + rng.uniform(0, 5))
        changes.append((names[i], round(at, 1), devices["train_gflops"][i] / 2))
        changes.append((names[i], round(at + HOUR, 1), devices["train_gflops"][i]))
    capacity = pd.DataFrame(changes, columns=["device", "time_s", "train_gflops"])
    return devices, availability, capacity


if __name__ == "__main__":
    folder = Path(__file__).resolve().parent / "phones_week"
    write_open_trace(folder, *make(np.random.default_rng(SEED)))
    print(folder)
