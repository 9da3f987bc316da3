"""The typed scenario: every key a scenario file may hold, with defaults.

Unknown keys are errors. Cross-references (profile, network and link names,
counts against the fleet size) are checked in ``checks.py`` after this
schema has parsed the file.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from edgesim.config_model import ConfigModel
from edgesim.data.config import DatasetConfig
from edgesim.distributions import NonNegativeDistribution, PositiveDistribution
from edgesim.errors import InputError
from edgesim.fl.fedavg import FedAvgConfig
from edgesim.fl.registry import ALGORITHMS, AlgorithmConfigField, strategy_class
from edgesim.models import ModelConfig
from edgesim.profiles import DeviceProfile, NetworkProfile
from edgesim.sim.availability import AlwaysAvailable, AvailabilityConfig
from edgesim.sim.battery import BatteryConfig
from edgesim.sim.failures import FailureConfig, NoFailures
from edgesim.sim.protocols import ProtocolField
from edgesim.sim.selection import Selection, UniformSelection
from edgesim.sim.stragglers import NoStragglers, StragglerConfig
from edgesim.traces import TraceConfig, held_parts, load_trace
from edgesim.units import Duration


class ProfileOverrides(ConfigModel):
    """Per-group replacements for profile figures."""

    train_gflops: float | None = Field(None, gt=0)
    ram_mb: float | None = Field(None, gt=0)
    down_mbps: PositiveDistribution | None = None
    up_mbps: PositiveDistribution | None = None
    latency_ms: NonNegativeDistribution | None = None


class FleetGroup(ConfigModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.]+$", max_length=64, description="device ids are <name>-<i>")
    profile: str
    count: int | None = Field(None, ge=1, description="required, unless a trace gives the devices (then: all of "
                              "them, or the first count)")
    network: str
    link: str | None = Field(None, description="a shared link from `links:` that this group's traffic crosses")
    overrides: ProfileOverrides = ProfileOverrides()
    availability: AvailabilityConfig | None = Field(None, description="replaces fleet.availability")
    stragglers: StragglerConfig | None = Field(None, description="multiplies with fleet.stragglers")
    trace: TraceConfig | None = Field(None, description="take the devices, their availability or their capacity "
                                      "changes from a trace (edgesim's open tables or FedScale's)")
    battery: BatteryConfig | None = Field(None, description="the devices run on batteries: they drain, charge while "
                                          "plugged in, and leave when low (null: mains-powered)")

    @model_validator(mode="after")
    def _count_from_the_trace(self):
        """Without a trace, ``count`` is required; with one, the group takes its first ``count`` devices (all of
        them by default), and may take only the parts it holds."""
        if self.trace is None:
            if self.count is None:
                raise ValueError("count: required (or a trace that gives the devices)")
            return self
        try:
            trace = load_trace(self.trace)
        except InputError as exc:  # a validator reports through ValueError, which names the YAML path
            raise ValueError("; ".join(exc.problems)) from None
        held = held_parts(trace)
        missing = sorted(set(self.trace.use or ()) - held)
        if missing:
            raise ValueError(f"trace: uses {', '.join(missing)}, which {trace.source} does not hold (it holds "
                             f"{', '.join(sorted(held)) or 'nothing'})")
        if self.count is not None and self.count > len(trace):
            raise ValueError(f"count: {self.count} devices, but {trace.source} has {len(trace)}")
        return self if self.count is not None else self.model_copy(update={"count": len(trace)})


class FleetConfig(ConfigModel):
    groups: list[FleetGroup] = Field(min_length=1)
    stragglers: StragglerConfig = NoStragglers()
    availability: AvailabilityConfig = AlwaysAvailable()
    failures: FailureConfig = NoFailures()
    memory_fraction: float = Field(0.5, gt=0, le=1, description="share of RAM a training task may use")


class LinkConfig(ConfigModel):
    description: str = ""
    down_mbps: float | None = Field(None, gt=0, description="capacity towards the devices; null = unlimited")
    up_mbps: float | None = Field(None, gt=0, description="capacity towards the server; null = unlimited")


class ServerConfig(ConfigModel):
    protocol: ProtocolField | None = Field(None, description="when clients work and the server aggregates "
                                           "(sync, kasync, buffered, periodic); default: the algorithm's own")
    clients_per_round: int = Field(10, ge=1)
    min_clients: int | None = Field(None, ge=1, description="devices that must be ready to start a round")
    over_selection: float = Field(0.0, ge=0, le=10)
    deadline_s: Duration | None = Field(None, gt=0)
    selection: Selection = Field(UniformSelection(), description="which ready devices a round trains on")
    down_mbps: float | None = Field(None, gt=0, description="server egress shared by all downloads")
    up_mbps: float | None = Field(None, gt=0, description="server ingress shared by all uploads")


class EvaluationConfig(ConfigModel):
    every_rounds: int = Field(1, ge=1)
    every_s: Duration | None = Field(None, gt=0, description="also evaluate once this much simulated time passed")


class OutputConfig(ConfigModel):
    events: Literal["csv", "parquet"] = Field("csv", description="how events are written: events.csv, or "
                                              "events.parquet (smaller, for large fleets; such a run cannot resume)")


MAX_HORIZON_S = 100 * 365.25 * 86400.0


class StopConfig(ConfigModel):
    horizon_s: Duration = Field(7 * 86400.0, gt=0, le=MAX_HORIZON_S, description="at most 100 years")
    target_accuracy: float | None = Field(None, gt=0, le=1)
    max_rounds: int | None = Field(None, ge=1)
    stop_at_target: bool = True
    patience: int | None = Field(None, ge=1, description="stop once this many evaluations in a row have not "
                                 "raised the best accuracy (training has plateaued)")
    energy_budget_j: float | None = Field(None, gt=0, description="stop once the fleet's training and transfers "
                                          "have spent this much energy, J")


def _first_repeat(values: list) -> list:
    """``[v]`` for the first value equal to an earlier one (by equality: 4 and 4.0 are one value), else ``[]``."""
    return next(([v] for i, v in enumerate(values) if v in values[:i]), [])


def _in_sweep(key: str) -> bool:
    """Whether dotted key ``key`` names the sweep block or a key inside it."""
    return re.match(r"(sweep|\[sweep\])($|[.\[])", key) is not None


class SweepConfig(ConfigModel):
    cases: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="named bundles of edits (dotted key -> value), e.g. one per method"
    )
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="dotted key -> values")
    seeds: list[int] = Field(default_factory=list, description="the seeds, or a count N for seeds 1 to N")
    labels: dict[str, list[str]] = Field(
        default_factory=dict, description="grid key -> one label per value, shown in summaries and figures")

    @field_validator("seeds", mode="before")
    @classmethod
    def _count_of_seeds(cls, value):
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValueError("a count of seeds must be at least 1 (or list the seeds)")
            return list(range(1, value + 1))
        return value

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        """A seed listed twice would run the same variant twice, and its twins' zero-width interval would look
        like a real one."""
        repeated = _first_repeat(seeds)
        if repeated:
            raise ValueError(f"lists the seed {repeated[0]} twice (each seed runs every variant once)")
        return seeds

    @model_validator(mode="after")
    def _not_empty(self):
        for name, edits in self.cases.items():
            for key in edits:
                if _in_sweep(key):
                    raise ValueError(f"case '{name}' edits '{key}': a case edits the scenario, not its sweep block "
                                     "(the sweep's own keys are under sweep.seeds, sweep.grid, ...)")
        for key, values in self.grid.items():
            if _in_sweep(key):
                raise ValueError(f"grid key '{key}': the grid varies the scenario, not its sweep block (seeds go "
                                 "under sweep.seeds)")
            if not values:
                raise ValueError(f"grid key '{key}' has no values")
            repeated = _first_repeat(values)
            if repeated:
                raise ValueError(f"grid key '{key}' lists the value {json.dumps(repeated[0], sort_keys=True, default=str)}"
                                 " twice (seeds go under sweep.seeds)")
        for key, labels in self.labels.items():
            if key not in self.grid:
                raise ValueError(f"labels for '{key}', which is not a grid key (grid keys: "
                                 f"{', '.join(self.grid) or 'none'})")
            if len(labels) != len(self.grid[key]):
                raise ValueError(f"labels for '{key}': {len(labels)} given for its {len(self.grid[key])} values")
            if len(set(labels)) != len(labels):
                raise ValueError(f"labels for '{key}': each value needs its own label")
        return self


class ProfilesConfig(ConfigModel):
    devices: dict[str, DeviceProfile] = Field(default_factory=dict)
    networks: dict[str, NetworkProfile] = Field(default_factory=dict)


class Scenario(ConfigModel):
    name: str = Field(min_length=1, max_length=100, description="names the run in summaries and directory names")
    description: str = ""
    seed: int = Field(0, ge=0, lt=2**63)
    start_hour: float = Field(0.0, ge=0, lt=24, description="local time of day at simulated time 0")
    profiles: ProfilesConfig = ProfilesConfig()
    fleet: FleetConfig
    links: dict[str, LinkConfig] = Field(default_factory=dict)
    server: ServerConfig = ServerConfig()
    dataset: DatasetConfig = DatasetConfig()
    model: ModelConfig = ModelConfig()
    algorithm: AlgorithmConfigField = FedAvgConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    stop: StopConfig = StopConfig()
    output: OutputConfig = OutputConfig()
    sweep: SweepConfig | None = None

    @field_validator("name")
    @classmethod
    def _not_a_path(cls, name: str) -> str:
        """The name goes into directory names, so it must never reach outside the folder it is put in."""
        if any(c in name for c in "/\\\0") or name.strip(".") == "":
            raise ValueError("must not contain / or \\ or be only dots: a name never chooses where files go "
                             "(use --out for that)")
        return name

    @model_validator(mode="before")
    @classmethod
    def _the_algorithms_protocol(cls, data):
        """Without ``server.protocol`` a scenario runs under its algorithm's own protocol (the first it names)."""
        if not isinstance(data, dict):
            return data
        algorithm = data.get("algorithm", {"name": FedAvgConfig().name})
        name = algorithm.get("name") if isinstance(algorithm, dict) else getattr(algorithm, "name", None)
        server = data.get("server", {})
        if not isinstance(server, dict) or server.get("protocol") is not None or name not in ALGORITHMS:
            return data
        return data | {"server": server | {"protocol": {"kind": strategy_class(name).protocols[0]}}}

    @model_validator(mode="before")
    @classmethod
    def _cosine_over_the_run(cls, data):
        """A cosine schedule without ``rounds`` decays over the run: ``stop.max_rounds``. An invalid
        ``stop.max_rounds`` is reported once, at its own key: the schedule then takes a stand-in of 1 round
        rather than report its own ``rounds`` missing as a second problem (the scenario is refused anyway)."""
        if not isinstance(data, dict):
            return data
        algorithm = data.get("algorithm")
        schedule = algorithm.get("lr_schedule") if isinstance(algorithm, dict) else None
        stop = data.get("stop")
        if not (isinstance(schedule, dict) and schedule.get("kind") == "cosine" and "rounds" not in schedule
                and isinstance(stop, dict) and stop.get("max_rounds") is not None):
            return data
        max_rounds = stop["max_rounds"]
        valid = isinstance(max_rounds, int) and not isinstance(max_rounds, bool) and max_rounds >= 1
        return data | {"algorithm": algorithm | {"lr_schedule": schedule | {"rounds": max_rounds if valid else 1}}}

    @property
    def device_count(self) -> int:
        return sum(group.count for group in self.fleet.groups)
