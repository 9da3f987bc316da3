"""Build the simulated fleet (devices, shared links, on/off schedules) from a scenario's ``fleet``, ``links`` and
``profiles``.

Every device draws from its own random streams (``device``, ``availability``
and ``failures`` with its index), so adding a group never changes what the
devices before it draw. Access bandwidth is drawn once per device; latency
and task slowdowns per transfer and per task (``edgesim.sim.fleet_plan``
draws the on/off schedules).

Every device draws its profile's power (``edgesim.sim.energy``) and, in a
group with a ``battery``, runs on one: its capacity is the group's or the
profile's, and its state of charge at time 0 is drawn from its own
``battery`` stream.

A group with a ``trace`` takes its devices in trace order: from the parts it
uses, each figure the trace gives for a device (compute, memory, bandwidth,
latency) replaces the profile's (and the group's ``overrides``), its
availability intervals replace the group's availability, and its capacity
changes are replayed over time; what the trace leaves out comes from the
profile and network as for any group.
"""

from __future__ import annotations

import math

import numpy as np

from edgesim.distributions import Constant
from edgesim.errors import InputError
from edgesim.scenario.checks import device_profiles, network_profiles
from edgesim.scenario.schema import Scenario
from edgesim.seeding import Streams
from edgesim.sim.availability import IntervalAvailability
from edgesim.sim.battery import BatteryConfig
from edgesim.sim.device import CapacityChange, Device
from edgesim.sim.energy import DevicePower
from edgesim.sim.fleet_plan import BatterySpec, FleetPlan
from edgesim.sim.links import Link
from edgesim.sim.stragglers import CombinedStragglers
from edgesim.traces import FleetTrace, group_trace
from edgesim.traces.model import FIGURES


def _links(scenario: Scenario) -> tuple[dict[str, tuple[Link | None, Link | None]], tuple, tuple]:
    def pair(name, down, up):
        return (Link(f"{name}.down", down * 1e6) if down else None, Link(f"{name}.up", up * 1e6) if up else None)

    shared = {name: pair(name, cfg.down_mbps, cfg.up_mbps) for name, cfg in scenario.links.items()}
    server_down, server_up = pair("server", scenario.server.down_mbps, scenario.server.up_mbps)
    return shared, (server_down,), (server_up,)


def build_fleet(scenario: Scenario, streams: Streams) -> FleetPlan:
    profiles, networks = device_profiles(scenario), network_profiles(scenario)
    shared, server_down, server_up = _links(scenario)
    fleet = scenario.fleet
    plan = FleetPlan(streams, scenario.start_hour, scenario.stop.horizon_s, fleet.failures)
    for group in fleet.groups:
        trace, parts = group_trace(group)
        profile = profiles[group.profile]
        network = networks[group.network]
        over = group.overrides
        stragglers = CombinedStragglers((fleet.stragglers, group.stragglers)) if group.stragglers else fleet.stragglers
        availability = group.availability or fleet.availability
        group_down, group_up = shared.get(group.link, (None, None)) if group.link else (None, None)
        for i in range(group.count):
            index = len(plan.devices)
            rng = streams.rng("device", index)
            given = _given(trace, i) if "devices" in parts else {}
            down = given.get("down_mbps") or (over.down_mbps or network.down_mbps).sample(rng)
            up = given.get("up_mbps") or (over.up_mbps or network.up_mbps).sample(rng)
            latency = given.get("latency_ms")
            device = Device(
                id=f"{group.name}-{i}",
                index=index,
                group=group.name,
                flops_per_s=(given.get("train_gflops") or over.train_gflops or profile.train_gflops) * 1e9,
                memory_bytes=(given.get("ram_mb") or over.ram_mb or profile.ram_mb) * 1e6 * fleet.memory_fraction,
                down_bps=down * 1e6,
                up_bps=up * 1e6,
                latency_ms=Constant(value=latency) if latency is not None else over.latency_ms or network.latency_ms,
                links_down=tuple(link for link in (group_down, *server_down) if link is not None),
                links_up=tuple(link for link in (group_up, *server_up) if link is not None),
                stragglers=stragglers,
                rng=rng,
                power=DevicePower(profile.power_idle_w, profile.power_active_w, network.radio_w or 0.0),
            )
            for direction, mbps in (("down_mbps", down), ("up_mbps", up)):
                if not (mbps > 0 and math.isfinite(8 / (mbps * 1e6))):
                    raise InputError(f"fleet.groups[{fleet.groups.index(group)}]: device {device.id} drew "
                                     f"{direction} = {mbps:g}, too small for a transfer ever to end")
            device.slowdown = stragglers.device_factor(rng)
            plan.devices.append(device)
            plan.device_availability.append(_availability_of(trace, i) if "availability" in parts else availability)
            plan.device_capacity.append(_capacity_of(trace, i) if "capacity" in parts else [])
            plan.device_battery.append(None if group.battery is None else _battery(
                group.battery, profile, trace, i, streams.rng("battery", index)))
    return plan


def _battery(config: BatteryConfig, profile, trace: FleetTrace | None, i: int, rng) -> BatterySpec:
    """Device ``i``'s battery: the group's capacity or the profile's, a state of charge drawn from the device's own
    ``battery`` stream, and when it is plugged in."""
    soc = min(1.0, max(0.0, config.initial_soc.sample(rng)))
    charging = config.charging
    schedule = None if charging == "availability" else _availability_of(trace, i) if charging == "trace" else charging
    return BatterySpec(config.capacity_wh or profile.battery_wh, soc, config, schedule)


def _given(trace: FleetTrace, i: int) -> dict[str, float]:
    """The figures the trace gives device ``i`` (those it leaves empty are absent)."""
    return {name: value for name in FIGURES if (value := trace.figure(name, i)) is not None}


def _availability_of(trace: FleetTrace, i: int) -> IntervalAvailability:
    rows = trace.availability.of(i)
    period = None if trace.period_s is None else float(trace.period_s[i])
    return IntervalAvailability(rows["start_s"], rows["end_s"], period)


def _capacity_of(trace: FleetTrace, i: int) -> list[CapacityChange]:
    rows = trace.capacity.of(i)

    def scaled(name: str, j: int) -> float | None:
        value = rows[name][j]
        return None if np.isnan(value) else float(value) * (1e9 if name == "train_gflops" else 1e6)

    return [CapacityChange(float(rows["time_s"][j]), scaled("train_gflops", j), scaled("down_mbps", j),
                           scaled("up_mbps", j)) for j in range(len(rows["time_s"]))]
