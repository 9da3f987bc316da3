"""When devices are willing to work (plugged in, idle, on Wi-Fi).

- ``always``.
- ``windows``: daily windows in local hours, e.g. ``[[22, 7]]`` for 22:00-07:00
  (a window may wrap midnight); each device's windows are shifted by a
  uniform offset in ``±jitter_h`` so a fleet does not switch in lockstep.
- ``hourly``: 24 probabilities; at every hour boundary each device is
  available with the probability of that hour, drawn independently.

A device whose availability comes from a trace gets an ``IntervalAvailability``
of its own (its ``[start, end)`` intervals, repeating with a period or not),
built from the trace rather than written in the scenario.

The local time at simulated time 0 is the scenario's ``start_hour``. Leaving
availability interrupts work in flight, like a failure: that work is lost.
Each ``changes`` yields ``(time_of_change, available)`` pairs: the state at
time 0 first, then every change before ``horizon_s``, and ends there. It also
ends as soon as the schedule can never change again (windows covering the
whole day, probabilities that are all 0 or all 1), so no schedule can spin
without yielding.
"""

from __future__ import annotations

import math
from typing import Annotated, Iterator, Literal, Union

import numpy as np
from pydantic import Field, field_validator

from edgesim.config_model import ConfigModel

HOUR = 3600.0
DAY = 24 * HOUR


class _Schedule(ConfigModel):
    def changes(self, rng: np.random.Generator, start_hour: float,
                horizon_s: float = math.inf) -> Iterator[tuple[float, bool]]:
        raise NotImplementedError

    def ever_available(self, rng: np.random.Generator, start_hour: float, horizon_s: float) -> bool:
        """Whether ``changes`` from a generator in the same state is available at some time before the horizon
        (the pre-flight check); a kind may answer it faster than by walking its schedule."""
        return any(available for _, available in self.changes(rng, start_hour, horizon_s))

    def always_on(self) -> bool:
        """Whether every device is available at every moment (whatever its draws)."""
        return False


class AlwaysAvailable(_Schedule):
    kind: Literal["always"] = "always"

    def always_on(self) -> bool:
        return True

    def changes(self, rng, start_hour, horizon_s=math.inf):
        yield 0.0, True


class WindowAvailability(_Schedule):
    kind: Literal["windows"] = "windows"
    windows: list[tuple[float, float]] = Field(min_length=1, description="[start_hour, end_hour] pairs, 0-24")
    jitter_h: float = Field(default=0.0, ge=0, le=12)

    @field_validator("windows")
    @classmethod
    def _hours(cls, windows):
        for start, end in windows:
            if not (0 <= start <= 24 and 0 <= end <= 24) or start == end:
                raise ValueError(f"window [{start}, {end}]: hours must lie in 0..24 and differ")
        return windows

    def _available_at(self, hour_of_day: float) -> bool:
        for start, end in self.windows:
            if (start <= hour_of_day < end) if start < end else (hour_of_day >= start or hour_of_day < end):
                return True
        return False

    def always_on(self) -> bool:
        """Whether the windows cover the whole day (a jitter shifts them all alike)."""
        return all(self._available_at((hour + 1e-9) % 24) for window in self.windows for hour in window)

    def changes(self, rng, start_hour, horizon_s=math.inf):
        shift = rng.uniform(-self.jitter_h, self.jitter_h) if self.jitter_h else 0.0
        edges = sorted({(h - shift) % 24 for window in self.windows for h in window})
        if self.always_on():
            yield 0.0, True
            return
        local0 = start_hour % 24
        state = self._available_at((local0 + shift) % 24)
        yield 0.0, state
        day = 0
        while True:
            for edge in edges:
                t = (day * 24 + edge - local0) * HOUR
                if t <= 0:
                    continue
                if t >= horizon_s:
                    return
                new_state = self._available_at((edge + shift + 1e-9) % 24)
                if new_state != state:
                    state = new_state
                    yield t, state
            day += 1


class HourlyAvailability(_Schedule):
    kind: Literal["hourly"] = "hourly"
    probability: list[Annotated[float, Field(ge=0, le=1)]] = Field(min_length=24, max_length=24)

    def changes(self, rng, start_hour, horizon_s=math.inf):
        local0 = start_hour % 24
        hour_index = int(local0)
        state = bool(rng.random() < self.probability[hour_index])
        yield 0.0, state
        if len(set(self.probability)) == 1 and self.probability[0] in (0.0, 1.0):
            return  # never changes
        t = (hour_index + 1 - local0) * HOUR
        while t < horizon_s:
            hour_index = (hour_index + 1) % 24
            new_state = bool(rng.random() < self.probability[hour_index])
            if new_state != state:
                state = new_state
                yield t, state
            t += HOUR

    def always_on(self) -> bool:
        return all(p == 1.0 for p in self.probability)

    def ever_available(self, rng, start_hour, horizon_s):
        """The draws ``changes`` makes, a block at a time (``Generator.random(n)`` draws what ``n`` calls of
        ``random()`` would)."""
        local0 = start_hour % 24
        hour_index = int(local0)
        probability = np.asarray(self.probability)
        if rng.random() < probability[hour_index]:
            return True
        if not probability.any():
            return False
        first = (hour_index + 1 - local0) * HOUR
        hours = max(0, math.ceil((horizon_s - first) / HOUR)) if horizon_s > first else 0
        done = 0
        while done < hours:
            block = min(_BLOCK_HOURS, hours - done)
            which = (hour_index + 1 + done + np.arange(block)) % 24
            if (rng.random(block) < probability[which]).any():
                return True
            done += block
        return False


_BLOCK_HOURS = 24 * 365


class IntervalAvailability:
    """One device's availability from a trace: available in each ``[starts[i], ends[i])`` (sorted, not
    overlapping, simulated seconds from 0) and nowhere else; with ``period_s`` the pattern repeats every
    ``period_s`` seconds (intervals beyond it are cut there). Draws nothing: ``rng`` is unused."""

    def __init__(self, starts: np.ndarray, ends: np.ndarray, period_s: float | None = None):
        if period_s is not None:
            keep = starts < period_s
            starts, ends = starts[keep], np.minimum(ends[keep], period_s)
        self.starts, self.ends, self.period_s = starts, ends, period_s

    def changes(self, rng=None, start_hour=0.0, horizon_s=math.inf):
        intervals = self._merged(horizon_s)
        first = next(intervals, None)
        if first is None or first[0] > 0.0:
            yield 0.0, False
        current = first
        while current is not None:
            start, end = current
            if start >= horizon_s:
                return
            yield max(start, 0.0), True
            if end >= horizon_s:
                return
            yield end, False
            current = next(intervals, None)

    def _merged(self, horizon_s: float):
        """The intervals in time order, period after period, with touching ones joined (an interval that ends
        where the next begins is one stretch of availability, not an off and an on at one instant)."""
        pending = None
        for start, end in self._intervals(horizon_s):
            if pending is not None and start <= pending[1]:
                pending = (pending[0], max(end, pending[1]))
                continue
            if pending is not None:
                yield pending
            pending = (start, end)
            if pending[0] >= horizon_s:
                break
        if pending is not None:
            yield pending

    def _intervals(self, horizon_s: float):
        if not len(self.starts):
            return
        offset = 0.0
        while offset < horizon_s:
            for start, end in zip(self.starts, self.ends):
                yield offset + float(start), offset + float(end)
            if self.period_s is None:
                return
            offset += self.period_s

    def ever_available(self, rng=None, start_hour=0.0, horizon_s=math.inf) -> bool:
        return bool(len(self.starts)) and float(self.starts[0]) < horizon_s


AvailabilityConfig = Annotated[
    Union[AlwaysAvailable, WindowAvailability, HourlyAvailability], Field(discriminator="kind")
]
