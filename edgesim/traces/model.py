"""A fleet trace in memory: per-device figures, availability intervals and capacity changes, in trace order.

Whatever format a trace came in (edgesim's open tables, FedScale's pickles), it
becomes one ``FleetTrace``: arrays with one entry per device (``NaN`` where
the trace does not give a figure, so the group's profile fills it in), and
per device the intervals ``[start_s, end_s)`` of simulated time in which it is
available and the times at which its compute or bandwidth change. Memory is
linear in the rows: every per-device series is a slice of one sorted array.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FIGURES = ("train_gflops", "ram_mb", "down_mbps", "up_mbps", "latency_ms")
"""The per-device figures a trace may give (units: GFLOP/s, MB, Mbit/s, Mbit/s, ms)."""

CHANGING = ("train_gflops", "down_mbps", "up_mbps")
"""The figures a trace may change over time (``capacity`` rows)."""


@dataclass(frozen=True)
class Series:
    """Rows of one table grouped by device: device ``i``'s rows are ``values[offsets[i]:offsets[i + 1]]``."""

    offsets: np.ndarray
    """int64, one more than the devices."""
    columns: dict[str, np.ndarray]

    def of(self, device: int) -> dict[str, np.ndarray]:
        start, end = self.offsets[device], self.offsets[device + 1]
        return {name: values[start:end] for name, values in self.columns.items()}

    def count(self, device: int) -> int:
        return int(self.offsets[device + 1] - self.offsets[device])


@dataclass(frozen=True)
class FleetTrace:
    """Devices in trace order, with what the trace says of each.

    ``figures[name][i]``: device ``i``'s figure, ``NaN`` when not given. ``availability``: per device, sorted,
    non-overlapping ``start_s``/``end_s`` intervals (``None``: the trace has no availability). ``period_s``: the
    availability repeats with this period (FedScale's ``finish_time``), or ``None``. ``capacity``: per device,
    ``time_s`` and the new value of each changing figure (``NaN``: unchanged), or ``None``.
    """

    devices: tuple[str, ...]
    figures: dict[str, np.ndarray] = field(default_factory=dict)
    availability: Series | None = None
    period_s: np.ndarray | None = None
    capacity: Series | None = None
    source: str = ""
    """Where the trace was read from, for messages."""

    def __len__(self) -> int:
        return len(self.devices)

    def figure(self, name: str, device: int) -> float | None:
        """Device ``device``'s ``name`` figure, or ``None`` when the trace does not give it."""
        values = self.figures.get(name)
        if values is None or np.isnan(values[device]):
            return None
        return float(values[device])


def grouped(device_of_row: np.ndarray, device_count: int, columns: dict[str, np.ndarray],
            sort_by: str) -> Series:
    """Rows (``device_of_row[r]`` = the device index of row ``r``) grouped by device, each device's rows sorted
    by the column ``sort_by``."""
    order = np.lexsort((columns[sort_by], device_of_row))
    counts = np.bincount(device_of_row, minlength=device_count)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Series(offsets, {name: np.ascontiguousarray(values[order]) for name, values in columns.items()})
