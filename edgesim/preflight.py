"""Everything a run checks before its clock starts; ``edgesim validate`` runs exactly the same checks.

``prepare`` goes in stages and reports every problem of a stage at once (an
``InputError`` listing them); a stage runs only when those it builds on passed:

1. the memory the run would need, estimated from the scenario alone (the
   dataset's tensors, the model copies a round holds, the fleet), against the
   memory this machine has free, before anything is loaded (a floor: HMoE's
   experts and K-async's kept versions are counted as one model);
2. loading the dataset, partitioning it over the devices, the taxonomy, the
   algorithm (which counts its model's FLOPs and footprint);
3. whether the fleet can ever make progress: devices that cannot hold a task
   (they are excluded, with a warning); for every kind of round the method
   runs (HMoE: each expert's), enough devices that hold data for it and fit its
   footprint; and enough of those ever available before the horizon.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from edgesim.compute import Compute
from edgesim.data import Dataset, data_layout, files_to_download, load_dataset, partition
from edgesim.data.taxonomy import dataset_taxonomy
from edgesim.errors import InputError
from edgesim.fl.registry import build_strategy, strategy_class
from edgesim.fl.strategy import AlgorithmSetup
from edgesim.models import parameter_count
from edgesim.progress import describe_time
from edgesim.scenario import Scenario
from edgesim.scenario.checks import energy_warnings, ignored_server_keys, selection_warnings
from edgesim.scenario.fleet import build_fleet
from edgesim.seeding import Streams
from edgesim.sim.device import Device
from edgesim.sim.fleet_plan import FleetPlan
from edgesim.traces import trace_warnings
from edgesim.work import TaskKind

BYTES_PER_DEVICE = 8_000
"""Memory per simulated device and its processes (measured: 5.7 MB per 1,000 devices; ``make bench``)."""

MODEL_COPIES = 6
"""Model-sized tensors a method holds besides one per client update: global state, trainer model,
gradients, optimiser slot, evaluation copy, slack."""


@dataclass
class Prepared:
    """What the clock needs, built and checked."""

    scenario: Scenario
    streams: Streams
    dataset: Dataset
    algorithm: object
    fleet: FleetPlan
    excluded: list[Device]
    footprint_bytes: int
    warnings: list[str] = field(default_factory=list)


def prepare(scenario: Scenario, compute: Compute = Compute("cpu"),
            datasets: dict | None = None) -> Prepared:
    """Load, build and check everything ``scenario`` needs before its clock starts (``compute`` resolved).

    ``datasets`` (config -> loaded ``Dataset``) lets a caller checking many variants load each dataset once.
    Raises ``InputError`` with every problem found.
    """
    problems = memory_problems(scenario)
    if problems:
        raise InputError(problems)
    streams = Streams(scenario.seed)
    dataset = _load(scenario, streams, datasets)
    parts = partition(dataset.train_y.cpu().numpy(), scenario.device_count, scenario.dataset.partition,
                      streams.rng("partition"))
    taxonomy = (dataset_taxonomy(scenario.dataset, dataset.class_names)
                if strategy_class(scenario.algorithm.name).needs_taxonomy else None)
    dataset = dataset.to(compute.torch_device)
    setup = AlgorithmSetup(dataset, [torch.from_numpy(p) for p in parts], scenario.model, streams, taxonomy, compute)
    algorithm = build_strategy(scenario.algorithm, setup)
    fleet = build_fleet(scenario, streams)
    footprint = min(kind.footprint_bytes for kind in algorithm.task_kinds())
    excluded = [d for d in fleet.devices if d.memory_bytes < footprint]
    problems, participants = progress_problems(scenario, algorithm, fleet)
    if problems:
        raise InputError(problems)
    prepared = Prepared(scenario, streams, dataset, algorithm, fleet, excluded, footprint)
    prepared.warnings.extend(scenario.algorithm.caveats())
    prepared.warnings.extend(ignored_server_keys(scenario))
    prepared.warnings.extend(energy_warnings(scenario))
    prepared.warnings.extend(selection_warnings(scenario))
    prepared.warnings.extend(trace_warnings(scenario.fleet.groups))
    k = getattr(scenario.algorithm, "k", 0) if scenario.server.protocol.kind in ("kasync", "buffered") else 0
    if k > participants:
        prepared.warnings.append(f"algorithm.k: {k} is more than the {participants} devices that can take part; "
                                 f"each aggregation takes {participants}")
    if excluded:
        groups = ", ".join(sorted({d.group for d in excluded}))
        prepared.warnings.append(f"{len(excluded)} of {len(fleet.devices)} devices cannot hold the training "
                                 f"footprint ({footprint / 1e6:.1f} MB) and will not take part: groups {groups}")
    return prepared


def check(scenario: Scenario, datasets: dict | None = None) -> list[str]:
    """``edgesim validate``: the checks of ``prepare`` (``InputError`` with every problem); returns the
    warnings. Nothing is downloaded: when dataset files are still to be fetched, the checks that need the
    data are left to ``run`` (a warning says so)."""
    missing = files_to_download(scenario.dataset)
    if not missing:
        return prepare(scenario, datasets=datasets).warnings
    problems = memory_problems(scenario)
    if problems:
        raise InputError(problems)
    return [f"dataset: not downloaded yet ({', '.join(missing)}); `edgesim run` downloads it first, then "
            "checks the partition and the rounds, which need the data"]


def _load(scenario: Scenario, streams: Streams, datasets: dict | None) -> Dataset:
    if datasets is None:
        return load_dataset(scenario.dataset, streams.rng("data"))
    key = (scenario.dataset, scenario.seed)
    if key not in datasets:
        datasets.clear()  # one at a time: a dataset can take gigabytes
        datasets[key] = load_dataset(scenario.dataset, streams.rng("data"))
    return datasets[key]


# --- stage 1: memory -----------------------------------------------------------------------------------


def memory_problems(scenario: Scenario, available: int | None = None) -> list[str]:
    """A problem when the run's estimated memory exceeds ``available`` bytes (default: what is free here)."""
    layout = data_layout(scenario.dataset)
    data_bytes = layout.tensor_bytes() or 0
    try:
        parameters = parameter_count(scenario.model, layout.input_shape, layout.num_classes)
    except (RuntimeError, ValueError, TypeError, OverflowError) as exc:  # sizes torch cannot even represent
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
        return [f"model: {scenario.model.name} (width {scenario.model.width:.10g}) is too large to build for "
                f"{layout.input_shape} inputs ({reason})"]
    updates = updates_per_aggregation(scenario)
    model_bytes = parameters * 4 * (MODEL_COPIES + updates)
    fleet_bytes = scenario.device_count * BYTES_PER_DEVICE
    needed = data_bytes + model_bytes + fleet_bytes
    available = available_memory() if available is None else available
    if needed <= available:
        return []
    parts = ", ".join(f"{name} {_size(n)}" for name, n in (("dataset", data_bytes), ("model copies", model_bytes),
                                                           ("fleet", fleet_bytes)) if n)
    amount = _size(needed)
    amount = amount if amount.startswith("more") else f"about {amount}"
    return [f"the run would need {amount} of memory ({parts}), but this machine has "
            f"{_size(available)} free; shrink the dataset, the model (model.width) or the fleet"]


def updates_per_aggregation(scenario: Scenario) -> int:
    """The most client updates one aggregation holds at once: a round's selected clients (sync), K (K-async,
    buffered), or every device that may train (periodic)."""
    server, protocol = scenario.server, scenario.server.protocol
    if protocol.kind == "sync":
        return math.ceil(server.clients_per_round * (1 + server.over_selection))
    if protocol.kind in ("kasync", "buffered"):
        return getattr(scenario.algorithm, "k", 1)
    return getattr(protocol, "concurrency", None) or scenario.device_count


def available_memory() -> int:
    """Bytes of memory free for a new process: Linux's MemAvailable, else the physical memory."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _size(n: int) -> str:
    if n >= 10**18:
        return f"more than {10**18 // 10**12:,} TB"
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n / 1e3:.0f} kB"


# --- stage 3: can the fleet make progress ----------------------------------------------------------------


def progress_problems(scenario: Scenario, algorithm, fleet: FleetPlan) -> tuple[list[str], int]:
    """Rounds that could never fill, and fleets that could never work before the horizon; and how many
    devices can take part in some kind of round."""
    server = scenario.server
    synchronous = server.protocol.kind == "sync"
    needed = (server.min_clients or server.clients_per_round) if synchronous else 1
    what = "a round needs" if synchronous else f"the {server.protocol.kind} server needs at least"
    where = "server.min_clients" if synchronous and server.min_clients else (
        "server.clients_per_round" if synchronous else "fleet")
    problems = []
    participants: dict[int, Device] = {}
    for kind in algorithm.task_kinds():
        fit = [d for d in fleet.devices if d.memory_bytes >= kind.footprint_bytes]
        able = [d for d in fit if kind.has_work(d.index)]
        participants.update((d.index, d) for d in able)
        if len(able) < needed:
            problems.append(f"{where}: {what} {needed} ready device{'s' * (needed > 1)}, but "
                            f"{_shortfall(len(fleet.devices), len(fit), len(able), kind)}")
    if problems:
        return problems, len(participants)
    horizon = scenario.stop.horizon_s
    available = 0
    for device in participants.values():  # until enough are found: a schedule can take long to walk
        available += fleet.ever_available(device)
        if available >= needed:
            break
    if available < needed:
        problems.append(f"fleet.availability: only {available} of the {len(participants)} devices that can "
                        f"take part are ever available before the horizon (stop.horizon_s = "
                        f"{describe_time(horizon)}), and {what} {needed}")
    return problems, len(participants)


def _shortfall(total: int, fit: int, able: int, kind: TaskKind) -> str:
    lacking_memory = total - fit
    lacking_data = fit - able
    reasons = []
    if lacking_memory:
        reasons.append(f"{lacking_memory} cannot hold the footprint ({kind.footprint_bytes / 1e6:.1f} MB; "
                       "fleet.memory_fraction, model)")
    if lacking_data:
        reasons.append(f"{lacking_data} hold no training data for them (dataset.partition)")
    return f"only {able} of the {total} devices can take part in {kind.label}: {' and '.join(reasons)}"

