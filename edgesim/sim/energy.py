"""Energy: what each phase of device work costs, and the fleet's running totals.

Power is whole-device, from the profiles: a device computing draws its
``power_active_w``; a device transferring draws its ``power_idle_w`` plus its
network's ``radio_w``; otherwise it draws ``power_idle_w`` (the fleet's
baseline, which it would draw without federated learning too). A phase's
energy is its power times its duration (J = W x s).

``EnergyMeter`` adds up the energy of the phases (compute and transfer: the
energy federated learning spends) and the part of it whose work was lost: a
task interrupted by a failure, unavailability or a drained battery, or an
update the server discarded. The idle baseline over a run is
``idle_j(devices, seconds)``: every device's idle power over the run, less
the idle power its phases already count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

COMPUTE = "compute"
TRANSFER = "transfer"


@dataclass(frozen=True, slots=True)
class DevicePower:
    """One device's power draw (W): awake and idle, training, and what a transfer adds to idle."""

    idle_w: float = 0.0
    active_w: float = 0.0
    radio_w: float = 0.0

    def of(self, phase: str) -> float:
        """The device's draw during ``phase`` (``download``, ``compute``, ``upload``), W."""
        return self.active_w if phase == COMPUTE else self.idle_w + self.radio_w


class EnergyMeter:
    """Running energy totals of one simulation, J."""

    __slots__ = ("compute_j", "transfer_j", "wasted_j", "_busy_idle_j")

    def __init__(self):
        self.compute_j = 0.0
        self.transfer_j = 0.0
        self.wasted_j = 0.0
        """Energy of work that was lost: interrupted tasks, discarded updates."""
        self._busy_idle_j = 0.0

    @property
    def total_j(self) -> float:
        """Energy federated learning spent so far: every phase's, compute and transfer."""
        return self.compute_j + self.transfer_j

    def phase(self, power: DevicePower, phase: str, seconds: float) -> float:
        """Count a phase of ``seconds`` (``compute``, or a transfer); returns its energy."""
        joules = power.of(phase) * seconds
        if phase == COMPUTE:
            self.compute_j += joules
        else:
            self.transfer_j += joules
        self._busy_idle_j += power.idle_w * seconds
        return joules

    def lost(self, joules: float) -> None:
        """Count ``joules`` already spent on work that was lost."""
        self.wasted_j += joules

    def idle_j(self, powers: Iterable[DevicePower], seconds: float) -> float:
        """The fleet's idle baseline over ``seconds``: every device's idle power outside its phases."""
        return max(0.0, sum(p.idle_w for p in powers) * seconds - self._busy_idle_j)
