"""Checks that need more than one key: names that must exist, counts that must fit."""

from __future__ import annotations

from edgesim.data import check_dataset
from edgesim.errors import brief
from edgesim.fl.registry import ALGORITHMS, strategy_class
from edgesim.models import model_names
from edgesim.profiles import builtin_devices, builtin_networks
from edgesim.scenario.schema import Scenario
from edgesim.traces import group_trace, load_trace


def _unknown(kind: str, name: str, known) -> str:
    return f"unknown {kind} {brief(name)}; known: {', '.join(sorted(known))}"


def device_profiles(scenario: Scenario) -> dict:
    return {**builtin_devices(), **scenario.profiles.devices}


def network_profiles(scenario: Scenario) -> dict:
    return {**builtin_networks(), **scenario.profiles.networks}


SYNC_KEYS = ("clients_per_round", "min_clients", "over_selection", "deadline_s")
"""The ``server`` keys only the synchronous protocol reads (with ``selection``)."""


def ignored_server_keys(scenario: Scenario) -> list[str]:
    """Warnings for ``server`` keys set away from their defaults that the scenario's protocol does not read."""
    server = scenario.server
    if server.protocol.kind == "sync":
        return []
    fields = type(server).model_fields
    return [f"server.{key} applies to the sync protocol; the {server.protocol.kind} protocol ignores it"
            for key in SYNC_KEYS if getattr(server, key) != fields[key].default]


def selection_warnings(scenario: Scenario) -> list[str]:
    """Warnings for a client selector that cannot do what its name says: ``deadline_aware`` without a deadline
    (it then takes the fastest devices every round, so slow devices' data is never seen) and ``battery_aware``
    in a fleet without batteries (every device is eligible: uniform selection)."""
    server = scenario.server
    kind = server.selection.kind
    if kind == "deadline_aware" and server.deadline_s is None:
        return ["server.selection: deadline_aware without server.deadline_s takes the fastest ready devices every "
                "round, so the slowest devices' data may never be trained on; give the round a deadline"]
    if kind == "battery_aware" and all(group.battery is None for group in scenario.fleet.groups):
        return ["server.selection: battery_aware in a fleet without batteries selects uniformly (every device is "
                "on mains power); give groups a battery: block"]
    return []


def energy_warnings(scenario: Scenario) -> list[str]:
    """Warnings for energy figures that cannot say what they seem to: a profile without power figures (its
    devices spend 0 J but for their radio), and batteries that charge whenever their device is available, while
    it always is, faster than the device can draw (they never drain)."""
    devices, networks = device_profiles(scenario), network_profiles(scenario)
    warnings = []
    for i, group in enumerate(scenario.fleet.groups):
        profile, network = devices.get(group.profile), networks.get(group.network)
        if profile is None or network is None:
            continue
        radio_w = network.radio_w or 0.0
        if profile.power_idle_w == profile.power_active_w == 0:
            radio = (f"; only transfers count, at the {group.network} radio's {radio_w:g} W" if radio_w
                     else f" (the {group.network} network gives no radio_w either)")
            warnings.append(f"fleet.groups[{i}].profile: {group.profile} gives no power figures (0 W idle and "
                            f"active), so its devices' computing and idling count as 0 J{radio}")
        battery = group.battery
        heaviest_w = max(profile.power_active_w, profile.power_idle_w + radio_w)
        if battery is not None and battery.charge_w >= heaviest_w and _always_plugged(scenario, group):
            warnings.append(f"fleet.groups[{i}].battery.charging: the devices are plugged in at every moment and "
                            f"charge at {battery.charge_w:g} W, at least their heaviest draw ({heaviest_w:g} W), "
                            "so their batteries never drain; give the group an availability or "
                            "battery.charging a schedule with unplugged hours")
    return warnings


def _always_plugged(scenario: Scenario, group) -> bool:
    """Whether a battery group's devices charge at every moment: by a schedule that is always on, or while
    available under an availability that is (a trace's availability is taken to have gaps)."""
    charging = group.battery.charging
    if charging == "trace":
        return False
    if charging != "availability":
        return charging.always_on()
    if "availability" in group_trace(group)[1]:
        return False
    return (group.availability or scenario.fleet.availability).always_on()


def scenario_problems(scenario: Scenario) -> list[str]:
    problems = []
    devices, networks = device_profiles(scenario), network_profiles(scenario)
    seen = set()
    for i, group in enumerate(scenario.fleet.groups):
        where = f"fleet.groups[{i}]"
        if group.profile not in devices:
            problems.append(f"{where}.profile: {_unknown('device profile', group.profile, devices)}")
        if group.network not in networks:
            problems.append(f"{where}.network: {_unknown('network profile', group.network, networks)}")
        if group.link is not None and group.link not in scenario.links:
            problems.append(f"{where}.link: {_unknown('link', group.link, scenario.links) if scenario.links else 'no links are defined under links:'}")
        if group.battery is not None and group.profile in devices:
            if group.battery.capacity_wh is None and devices[group.profile].battery_wh is None:
                problems.append(f"{where}.battery.capacity_wh: the profile {group.profile} has no battery_wh; give "
                                "the battery's capacity")
            if group.battery.charging == "trace" and (group.trace is None
                                                      or load_trace(group.trace).availability is None):
                problems.append(f"{where}.battery.charging: trace charges over the availability intervals of the "
                                "group's trace, and the group has no trace that holds them")
        if group.name in seen:
            problems.append(f"{where}.name: '{group.name}' is used by an earlier group; names must be unique")
        seen.add(group.name)
    if scenario.model.name not in model_names():
        problems.append(f"model.name: {_unknown('model', scenario.model.name, model_names())}")
    fleet_size = scenario.device_count
    server = scenario.server
    name, protocol = scenario.algorithm.name, server.protocol.kind
    supported = strategy_class(name).protocols
    if protocol not in supported:
        problems.append(f"server.protocol.kind: {name} runs under {' or '.join(supported)}, not {protocol}")
    synchronous = protocol == "sync"
    if synchronous and server.clients_per_round > fleet_size:
        problems.append(
            f"server.clients_per_round: {server.clients_per_round} is more than the fleet's {fleet_size} devices"
        )
    if protocol in supported and protocol in ("kasync", "buffered") and getattr(scenario.algorithm, "k", None) is None:
        problems.append(f"server.protocol.kind: {protocol} aggregates every K updates, and {name} has no k "
                        "(algorithm.k)")
    period = getattr(server.protocol, "period_s", None)
    if period is not None and period >= scenario.stop.horizon_s:
        problems.append(f"server.protocol.period_s: {period:g} s is not shorter than stop.horizon_s "
                        f"({scenario.stop.horizon_s:g} s): no period would end before the run does")
    if not synchronous and server.selection.kind != "uniform":
        problems.append(f"server.selection: the {protocol} protocol starts devices as they become free, so there is "
                        "no round to select clients for (leave server.selection out"
                        + (", or use server.protocol: {kind: sync})" if "sync" in supported else ")"))
    elif server.selection.needs_losses and not hasattr(strategy_class(name), "client_losses"):
        ranked = sorted(n for n in ALGORITHMS.names() if hasattr(strategy_class(n), "client_losses"))
        problems.append(f"server.selection: {server.selection.kind} ranks devices by their local loss, which "
                        f"{name} does not report (methods that do: {', '.join(ranked)})")
    if synchronous and server.min_clients is not None and server.min_clients > fleet_size:
        problems.append(f"server.min_clients: {server.min_clients} is more than the fleet's {fleet_size} devices")
    failures = scenario.fleet.failures
    if failures.kind == "trace":
        ids = {f"{group.name}-{i}" for group in scenario.fleet.groups for i in range(group.count)}
        for i, outage in enumerate(failures.outages_):
            if outage.device not in ids:
                problems.append(f"fleet.failures.outages[{i}].device: no device {brief(outage.device)} in the fleet "
                                "(ids are <group name>-<index from 0>, e.g. "
                                f"{scenario.fleet.groups[0].name}-0)")
    if (getattr(scenario.algorithm, "judgement", False) and scenario.algorithm.judgement_data == "validation"
            and scenario.dataset.validation_size == 0):
        problems.append("dataset.validation_size: judgement validates every new model on a server-held "
                        "validation set; set dataset.validation_size (e.g. 1000), or algorithm.judgement_data: "
                        "test to judge on the test series as the paper did (leaks test data)")
    problems.extend(check_dataset(scenario.dataset))
    return problems
