"""Device traces: fleets replayed from measurements instead of drawn from distributions.

``load_trace`` reads a ``trace:`` block (edgesim's open tables, ``open_format``, or FedScale's pickles,
``fedscale``) into a ``FleetTrace`` (``model``), once per file version in a process; ``trace_warnings`` says what
a group takes from its trace that may not be meant (devices it leaves never available).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from edgesim.errors import brief
from edgesim.traces.config import FedScaleTraceConfig, OpenTraceConfig, TraceConfig
from edgesim.traces.fedscale import read_fedscale_trace
from edgesim.traces.model import FleetTrace
from edgesim.traces.open_format import read_open_trace

__all__ = ["FleetTrace", "TraceConfig", "group_trace", "held_parts", "load_trace", "never_available",
           "trace_warnings"]

SHOWN_IDS = 3
"""How many device ids a warning names."""


def load_trace(config: OpenTraceConfig | FedScaleTraceConfig) -> FleetTrace:
    """The trace ``config`` names (read once while its files stay unchanged; ``InputError`` if malformed)."""
    paths = [config.path] if isinstance(config, OpenTraceConfig) else [
        p for p in (config.device_capacity, config.behave_trace) if p]
    stamps = tuple(_stamp(Path(p)) for p in paths)
    return _load(config.model_dump_json(), stamps)


def held_parts(trace: FleetTrace) -> set[str]:
    """The parts a trace holds (``devices`` when it gives any per-device figure)."""
    return {name for name, held in (("devices", bool(trace.figures)), ("availability", trace.availability is not None),
                                    ("capacity", trace.capacity is not None)) if held}


def group_trace(group) -> tuple[FleetTrace | None, set[str]]:
    """A fleet group's trace (its ``trace:`` block loaded) and the parts the group takes from it (none without
    a trace)."""
    if group.trace is None:
        return None, set()
    trace = load_trace(group.trace)
    return trace, group.trace.parts(held_parts(trace))


def never_available(trace: FleetTrace, count: int) -> list[str]:
    """The ids of the trace's first ``count`` devices to which its availability gives no interval (none without
    availability)."""
    if trace.availability is None:
        return []
    return [trace.devices[i] for i in np.flatnonzero(np.diff(trace.availability.offsets[:count + 1]) == 0)]


def trace_warnings(groups) -> list[str]:
    """Warnings for the fleet ``groups`` (``fleet.groups``) whose availability comes from a trace that gives some of
    their devices no interval: those devices are never available, as the trace says, but likely by mistake."""
    warnings = []
    for i, group in enumerate(groups):
        trace, parts = group_trace(group)
        if "availability" not in parts:
            continue
        ids = never_available(trace, group.count)
        if ids:
            named = ", ".join(brief(device, 40) for device in ids[:SHOWN_IDS]) + (", …" if len(ids) > SHOWN_IDS else "")
            has, are = ("has", "is") if len(ids) == 1 else ("have", "are")
            warnings.append(f"fleet.groups[{i}].trace: {len(ids)} of the group's {group.count} devices {has} no "
                            f"availability interval in {trace.source} and {are} never available (trace ids {named})")
    return warnings


def _stamp(path: Path) -> tuple:
    """What identifies a file's (or a folder's files') current version: paths, sizes and modification times."""
    if path.is_dir():
        return tuple(sorted((entry.name, entry.stat().st_size, entry.stat().st_mtime_ns)
                            for entry in os.scandir(path) if entry.is_file()))
    return (path.stat().st_size, path.stat().st_mtime_ns) if path.exists() else ()


@lru_cache(maxsize=8)
def _load(config_json: str, stamps: tuple) -> FleetTrace:
    data = json.loads(config_json)
    if data["kind"] == "edgesim":
        return read_open_trace(Path(data["path"]))
    return read_fedscale_trace(*(Path(data[k]) if data[k] else None for k in ("device_capacity", "behave_trace")),
                               reference_gflop=data["reference_gflop"])
