"""Pick a readable time unit (s, min, h, days) for an axis from the span of the data."""

from __future__ import annotations

import math
from dataclasses import dataclass

_UNITS = (("s", 1.0), ("min", 60.0), ("h", 3600.0), ("days", 86400.0))


@dataclass(frozen=True)
class TimeScale:
    """A time unit: converts seconds into it and names it on axes and in titles."""

    unit: str
    seconds: float  # seconds per unit

    def convert(self, seconds):
        """Seconds (scalar, array or Series) expressed in this unit."""
        return seconds / self.seconds

    def convert_back(self, value):
        """Values in this unit expressed in seconds."""
        return value * self.seconds

    def label(self, quantity: str = "simulated time") -> str:
        """An axis label such as ``simulated time (h)``."""
        return f"{quantity} ({self.unit})"

    def format(self, seconds: float) -> str:
        """A short text such as ``3.5 h``."""
        return f"{self.convert(seconds):.3g} {self.unit}"


def time_scale(span_s: float) -> TimeScale:
    """The largest unit in which ``span_s`` still reads as at least 2 units."""
    chosen = _UNITS[0]
    if span_s is not None and math.isfinite(span_s):
        for unit in _UNITS:
            if span_s >= 2 * unit[1]:
                chosen = unit
    return TimeScale(*chosen)
