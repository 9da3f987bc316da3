"""Shared helpers for the simulation tests: devices with fixed, hand-checkable figures.

(Not a ``conftest.py``: ``tests/conftest.py`` is imported by name elsewhere, and a second
``conftest`` module on ``sys.path`` would shadow it.)
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from edgesim.distributions import Constant
from edgesim.sim.device import Device
from edgesim.sim.stragglers import NoStragglers


def make_device(name="d-0", index=0, *, flops_per_s=1e9, down_bps=8e6, up_bps=4e6, latency_ms=20.0,
                 links_down=(), links_up=(), stragglers=None, rng=None, group="d", memory_bytes=1e9):
    return Device(
        id=name,
        index=index,
        group=group,
        flops_per_s=flops_per_s,
        memory_bytes=memory_bytes,
        down_bps=down_bps,
        up_bps=up_bps,
        latency_ms=Constant(value=latency_ms),
        links_down=tuple(links_down),
        links_up=tuple(links_up),
        stragglers=stragglers or NoStragglers(),
        rng=rng if rng is not None else np.random.default_rng(0),
    )


def read_events(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))

