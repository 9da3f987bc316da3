"""Build the simulated fleet (devices, shared links, on/off schedules) from a scenario's ``fleet``, ``links`` and
``profiles``.

Every device draws from its own random streams (``device``, ``availability``
and ``failures`` with its index), so adding a group never changes what the
devices before it draw. Access bandwidth is drawn once per device; latency
and task slowdowns per transfer and per task (``edgesim.sim.fleet_plan``
draws the on/off schedules).
"""

from __future__ import annotations

import math

from edgesim.errors import InputError
from edgesim.scenario.checks import device_profiles, network_profiles
from edgesim.scenario.schema import Scenario
from edgesim.seeding import Streams
from edgesim.sim.device import Device
from edgesim.sim.fleet_plan import FleetPlan
from edgesim.sim.links import Link
from edgesim.sim.stragglers import CombinedStragglers


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
        profile = profiles[group.profile]
        network = networks[group.network]
        over = group.overrides
        stragglers = CombinedStragglers((fleet.stragglers, group.stragglers)) if group.stragglers else fleet.stragglers
        availability = group.availability or fleet.availability
        group_down, group_up = shared.get(group.link, (None, None)) if group.link else (None, None)
        for i in range(group.count):
            index = len(plan.devices)
            rng = streams.rng("device", index)
            down = (over.down_mbps or network.down_mbps).sample(rng)
            up = (over.up_mbps or network.up_mbps).sample(rng)
            device = Device(
                id=f"{group.name}-{i}",
                index=index,
                group=group.name,
                flops_per_s=(over.train_gflops or profile.train_gflops) * 1e9,
                memory_bytes=(over.ram_mb or profile.ram_mb) * 1e6 * fleet.memory_fraction,
                down_bps=down * 1e6,
                up_bps=up * 1e6,
                latency_ms=over.latency_ms or network.latency_ms,
                links_down=tuple(link for link in (group_down, *server_down) if link is not None),
                links_up=tuple(link for link in (group_up, *server_up) if link is not None),
                stragglers=stragglers,
                rng=rng,
            )
            for direction, mbps in (("down_mbps", down), ("up_mbps", up)):
                if not (mbps > 0 and math.isfinite(8 / (mbps * 1e6))):
                    raise InputError(f"fleet.groups[{fleet.groups.index(group)}]: device {device.id} drew "
                                     f"{direction} = {mbps:g}, too small for a transfer ever to end")
            device.slowdown = stragglers.device_factor(rng)
            plan.devices.append(device)
            plan.device_availability.append(availability)
    return plan
