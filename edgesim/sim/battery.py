"""Batteries: a device's state of charge over simulated time, charging while plugged in, and leaving the fleet
when it runs low.

A battery holds ``capacity_wh`` (the group's ``battery.capacity_wh``, else its
profile's ``battery_wh``) and starts at ``initial_soc`` of it. It drains at the
device's draw (``edgesim.sim.energy``: idle, computing or transferring) and,
while the device is plugged in, charges at ``charge_w`` (net of the draw, and
never above full). When the state of charge falls to ``leave_below``, the
device leaves: the task it is running is interrupted (``battery`` is the
cause; that work is lost) and it takes no task until charging has brought it
back to ``rejoin_above``. Rows: ``battery_low`` when it leaves, ``battery_ok``
when it may rejoin.

When it is plugged in: ``charging: availability`` (the default) while the
device is available (its availability windows, or its trace), ``charging:
trace`` over its trace's availability intervals even when the group does not
take its availability from the trace, or any availability schedule
(``{kind: windows, ...}``, ``{kind: hourly, ...}``).

Power is piecewise constant between events, so the state of charge is exact:
the battery wakes only at the instant it would cross a threshold or reach
full, computed from its current net power, and every change of draw or of
charging recomputes that instant.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
import simpy
from pydantic import Field, field_validator, model_validator

from edgesim.config_model import ConfigModel
from edgesim.distributions import Constant, Distribution
from edgesim.sim.availability import AvailabilityConfig

BATTERY_LOW = "battery_low"
BATTERY_OK = "battery_ok"
WH = 3600.0
"""Joules per watt-hour."""
SOC_TRIAL_DRAWS = 1000
SOC_INSIDE_MIN = 0.01
"""An ``initial_soc`` distribution must draw within 0-1 at least this often in ``SOC_TRIAL_DRAWS`` trials."""


class BatteryConfig(ConfigModel):
    """A group's ``battery:`` block."""

    capacity_wh: float | None = Field(None, gt=0, description="default: the profile's battery_wh")
    initial_soc: Distribution = Field(Constant(value=1.0), description="state of charge at time 0, 0-1 (a "
                                      "distribution: drawn per device, clipped to 0-1)")
    leave_below: float = Field(0.2, ge=0, lt=1, description="the device leaves at this state of charge")
    rejoin_above: float = Field(0.5, gt=0, le=1, description="and takes tasks again once charged to this")
    charge_w: float = Field(10.0, gt=0, description="charging power while plugged in, W")
    charging: Literal["availability", "trace"] | AvailabilityConfig = Field(
        "availability", description="when the device is plugged in: while available, over its trace's "
                                    "availability, or a schedule of its own")

    @field_validator("initial_soc")
    @classmethod
    def _a_share_of_full(cls, soc: Distribution) -> Distribution:
        """A constant state of charge lies in 0-1 (50% is 0.5); a distribution's draws are clipped to 0-1, so one
        that seldom draws inside it (in under ``SOC_INSIDE_MIN`` of ``SOC_TRIAL_DRAWS`` trial draws from a
        generator of its own) is refused as written on another scale."""
        if soc.kind == "constant":
            if not 0 <= soc.value <= 1:
                raise ValueError(f"{soc.value:g} is not a state of charge: write a share of full from 0 to 1 "
                                 "(50% is 0.5)")
            return soc
        trial = np.random.default_rng(0)  # validation only: the run draws from the device's own stream
        draws = np.array([soc.sample(trial) for _ in range(SOC_TRIAL_DRAWS)])
        inside = float(np.mean((draws >= 0) & (draws <= 1)))
        if inside < SOC_INSIDE_MIN:
            raise ValueError(f"this {soc.kind} distribution draws within 0-1 in {inside:.1%} of "
                             f"{SOC_TRIAL_DRAWS} trial draws (median {np.median(draws):g}), so nearly every "
                             "device would start full or empty; write shares of full from 0 to 1 (50% is 0.5)")
        return soc

    @model_validator(mode="after")
    def _thresholds(self):
        if self.rejoin_above <= self.leave_below:
            raise ValueError(f"rejoin_above ({self.rejoin_above:g}) must be above leave_below ({self.leave_below:g})")
        return self


@dataclass(frozen=True)
class BatteryPlan:
    """What one device's battery starts as: its capacity, its state of charge at time 0, its group's settings,
    and when it is plugged in (``None``: while the device is available; else a schedule's changes)."""

    capacity_wh: float
    initial_soc: float
    config: BatteryConfig
    charging: Iterable[tuple[float, bool]] | None = None


class Battery:
    """One device's battery on the clock. ``on_low`` / ``on_ok`` are told when it leaves / may rejoin."""

    def __init__(self, env: simpy.Environment, capacity_wh: float, soc: float, config: BatteryConfig,
                 idle_w: float, on_low: Callable[[float], None], on_ok: Callable[[float], None]):
        self.env = env
        self.capacity_j = capacity_wh * WH
        self.energy_j = min(max(soc, 0.0), 1.0) * self.capacity_j
        self.leave_j = config.leave_below * self.capacity_j
        self.rejoin_j = config.rejoin_above * self.capacity_j
        self.charge_w = config.charge_w
        self.draw_w = idle_w
        self.idle_w = idle_w
        self.charging = False
        self.plugged_while_available = False
        """Whether the fleet plugs it in whenever the device is available (``charging: availability``)."""
        self.low = False
        self._on_low, self._on_ok = on_low, on_ok
        self._since = env.now
        self._generation = 0

    @property
    def soc(self) -> float:
        """The state of charge now, 0-1."""
        self._settle()
        return self.energy_j / self.capacity_j

    def start(self) -> None:
        """At time 0: leave at once if the battery starts low, and schedule the first crossing."""
        self._update()

    def set_draw(self, watts: float) -> None:
        """The device's draw changed (a phase began or ended)."""
        self._settle()
        self.draw_w = watts
        self._update()

    def set_charging(self, plugged: bool) -> None:
        self._settle()
        self.charging = plugged
        self._update()

    def _net_w(self) -> float:
        """Watts into the battery now (negative: draining). Full and plugged in, charging covers the draw up to
        ``charge_w`` and the battery stays full."""
        if not self.charging:
            return -self.draw_w
        if self.energy_j >= self.capacity_j:
            return min(0.0, self.charge_w - self.draw_w)
        return self.charge_w - self.draw_w

    def _settle(self) -> None:
        now = self.env.now
        if now > self._since:
            self.energy_j = min(self.capacity_j, max(0.0, self.energy_j + self._net_w() * (now - self._since)))
        self._since = now

    def _reschedule(self) -> None:
        self._generation += 1
        level, wait = self._next_level()
        if level is None:
            return
        if self.env.now + wait <= self.env.now:  # closer than the clock can tell apart: it is there now
            self.energy_j = level
            self._update()
            return
        generation = self._generation
        self.env.timeout(wait).callbacks.append(lambda _event: self._wake(generation))

    def _next_level(self) -> tuple[float | None, float]:
        """The next energy level that matters at the current net power (empty or the threshold to leave when
        draining; the threshold to rejoin, or full, when charging) and the seconds until it is reached;
        ``(None, inf)`` when none lies ahead."""
        net = self._net_w()
        if net < 0:
            level = 0.0 if self.low else self.leave_j
            return (level, (self.energy_j - level) / -net) if self.energy_j > level else (None, math.inf)
        if net > 0:
            level = self.rejoin_j if self.low and self.energy_j < self.rejoin_j else self.capacity_j
            return (level, (level - self.energy_j) / net) if self.energy_j < level else (None, math.inf)
        return None, math.inf

    def _wake(self, generation: int) -> None:
        if generation == self._generation:  # else superseded by a later change, which rescheduled
            self._update()

    def _update(self) -> None:
        """Bring the charge up to now, leave or rejoin if a threshold is reached, and schedule the next wake."""
        self._settle()
        slack = 1e-9 * self.capacity_j
        if not self.low and self.energy_j <= self.leave_j + slack:
            self.energy_j = min(self.energy_j, self.leave_j)
            self.low = True
            self._on_low(self.energy_j / self.capacity_j)
        elif self.low and self.energy_j >= self.rejoin_j - slack:
            self.energy_j = max(self.energy_j, self.rejoin_j)
            self.low = False
            self._on_ok(self.energy_j / self.capacity_j)
        self._reschedule()
