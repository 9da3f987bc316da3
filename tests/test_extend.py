"""Plug-ins: a user's algorithm, selector, distribution, straggler model, protocol and model are accepted by
scenarios once registered (by decorator or entry point), run, and leave the built-in families intact."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pytest
import torch

import edgesim
from edgesim import registry
from edgesim.distributions import DISTRIBUTIONS
from edgesim.errors import InputError
from edgesim.extend import BaseDistribution, ProtocolConfig, Selector, Straggler
from edgesim.fl import registry as algorithms
from edgesim.fl.fedavg import FedAvg, FedAvgConfig
from edgesim.models import registry as models
from edgesim.scenario import validate
from edgesim.scenario.overrides import parse_assignment
from edgesim.sim.protocols import PROTOCOLS
from edgesim.sim.protocols.sync import SyncServer
from edgesim.sim.selection import SELECTORS
from edgesim.sim.stragglers import STRAGGLERS
from run_inputs import data_edits

SMOKE = Path(__file__).resolve().parents[1] / "scenarios" / "smoke.yaml"
DATA = dict(parse_assignment(edit) for edit in data_edits())


@pytest.fixture(autouse=True)
def _registries_restored(monkeypatch):
    """Every registration made by a test is undone after it."""
    for family in (DISTRIBUTIONS, STRAGGLERS, SELECTORS, PROTOCOLS, algorithms.ALGORITHMS):
        monkeypatch.setattr(family, "_classes", dict(family._classes))
    monkeypatch.setattr(algorithms, "_STRATEGIES", dict(algorithms._STRATEGIES))
    monkeypatch.setattr(models, "_BUILDERS", dict(models._BUILDERS))


class FedMedianConfig(FedAvgConfig):
    name: Literal["fed_median"] = "fed_median"


class FedMedian(FedAvg):
    """Coordinate-wise median of the client models (Yin et al., 2018) in place of their weighted mean."""

    def fold(self, base, updates):
        return {**base, **{k: torch.stack([u.state[k] for u in updates]).median(dim=0).values for k in base}}


class FirstReady(Selector):
    kind: Literal["first_ready"] = "first_ready"

    def choose(self, ready, count, rng, round=None):
        return list(range(count))


class Triangular(BaseDistribution):
    kind: Literal["triangular"] = "triangular"
    low: float
    mode: float
    high: float

    def sample(self, rng):
        return float(rng.triangular(self.low, self.mode, self.high))

    def mean(self):
        return (self.low + self.mode + self.high) / 3

    def lower_bound(self):
        return self.low, True

    def describe(self):
        return f"triangular {self.low:g}–{self.high:g}"


class TriangularStragglers(Straggler, Triangular):
    pass


def test_a_users_algorithm_selector_distribution_and_straggler_model_run_in_a_scenario():
    edgesim.register_algorithm(FedMedianConfig, FedMedian)
    edgesim.register_selector(FirstReady)
    edgesim.register_distribution(Triangular)
    edgesim.register_straggler(TriangularStragglers)
    result = edgesim.simulate(SMOKE, overrides={
        **DATA, "stop.max_rounds": 2, "algorithm": {"name": "fed_median", "lr": 0.05},
        "server.selection": {"kind": "first_ready"}, "server.over_selection": 0,
        "fleet.stragglers": {"kind": "triangular", "low": 1, "mode": 1.5, "high": 3, "per": "device"},
        "fleet.groups.0.overrides.latency_ms": {"kind": "triangular", "low": 5, "mode": 10, "high": 40}})
    assert result.status == "completed" and result.summary["rounds"] == 2
    assert result.scenario.algorithm == FedMedianConfig(lr=0.05)
    selected = result.events[result.events["kind"] == "selected"]
    first_round = selected[selected["round"] == 1]["device"].tolist()
    assert first_round == ["pi4-0", "pi4-1", "pi4-2", "pi4-3"]  # the first ready ones, in fleet order


def test_a_users_distribution_is_refused_where_it_could_draw_out_of_range():
    edgesim.register_distribution(Triangular)
    scenario = {"name": "t", "fleet": {"groups": [{"name": "a", "profile": "laptop", "count": 2, "network": "wifi5",
                                                    "overrides": {"down_mbps": {"kind": "triangular", "low": 0,
                                                                                "mode": 5, "high": 9}}}]},
                "dataset": {"name": "synthetic"}}
    with pytest.raises(InputError, match=r"fleet.groups\[0\].overrides.down_mbps: .*must be positive"):
        validate(scenario)


def test_a_users_protocol_is_a_scenario_kind_and_its_strategy_must_declare_it():
    @edgesim.register_protocol
    class Lockstep(ProtocolConfig):
        kind: Literal["lockstep"] = "lockstep"

        def server(self, env, fleet, tasks, log, owner, context):
            return SyncServer(env, fleet, tasks, log, owner, context)

    scenario = {"name": "t", "fleet": {"groups": [{"name": "a", "profile": "laptop", "count": 2,
                                                   "network": "wifi5"}]},
                "dataset": {"name": "synthetic"}, "server": {"clients_per_round": 1, "protocol": {"kind": "lockstep"}}}
    with pytest.raises(InputError, match="fedavg runs under sync, not lockstep"):
        validate(scenario)

    class LockstepFedAvg(FedAvg):
        protocols = ("lockstep",)

    class LockstepConfig(FedAvgConfig):
        name: Literal["lockstep_fedavg"] = "lockstep_fedavg"

    edgesim.register_algorithm(LockstepConfig, LockstepFedAvg)
    assert validate({**scenario, "algorithm": {"name": "lockstep_fedavg"}}).server.protocol.kind == "lockstep"
    assert validate({**scenario, "algorithm": {"name": "lockstep_fedavg"},
                     "server": {"clients_per_round": 1}}).server.protocol.kind == "lockstep"  # its default


def test_a_users_model_by_decorator():
    @edgesim.register_model("tiny_linear")
    def tiny_linear(input_shape, num_classes, width, kit):
        return torch.nn.Sequential(torch.nn.Flatten(), kit.linear(int(np.prod(input_shape)), num_classes))

    assert "tiny_linear" in models.model_names()
    with pytest.raises(ValueError, match="already registered"):
        edgesim.register_model("tiny_linear", lambda *args: None)


def test_a_distribution_must_say_how_it_samples_its_mean_and_its_bounds():
    class Half(BaseDistribution):
        kind: Literal["half"] = "half"

        def sample(self, rng):
            return 0.5

    with pytest.raises(TypeError, match="Half: a distribution class must define lower_bound, describe, mean or scipy"):
        edgesim.register_distribution(Half)


def test_a_name_taken_by_another_class_is_refused():
    class Other(Triangular):
        kind: Literal["lognormal"] = "lognormal"

    with pytest.raises(ValueError, match="distribution 'lognormal' is already registered"):
        edgesim.register_distribution(Other)
    with pytest.raises(TypeError, match="needs a field kind"):
        edgesim.register_selector(type("NoKind", (Selector,), {}))


def test_entry_points_of_the_plugin_group_register_once_in_every_process(monkeypatch):
    loads = []

    class Plugin:
        def load(self):
            return lambda: loads.append(edgesim.register_distribution(Triangular))

    monkeypatch.setattr(registry, "_plugins_loaded", False)
    monkeypatch.setattr(registry.metadata, "entry_points", lambda group: [Plugin()] if group == registry.PLUGIN_GROUP
                        else [])
    assert "triangular" in DISTRIBUTIONS and "triangular" in DISTRIBUTIONS.names()
    assert loads == [Triangular]


def test_a_users_algorithm_that_declares_a_k_protocol_must_have_a_k():
    class NoK(FedAvg):
        protocols = ("buffered",)

    class NoKConfig(FedAvgConfig):
        name: Literal["no_k"] = "no_k"

    edgesim.register_algorithm(NoKConfig, NoK)
    scenario = {"name": "t", "fleet": {"groups": [{"name": "a", "profile": "laptop", "count": 2,
                                                   "network": "wifi5"}]},
                "dataset": {"name": "synthetic"}, "algorithm": {"name": "no_k"}}
    with pytest.raises(InputError, match=r"server.protocol.kind: buffered aggregates every K updates, and no_k has "
                                         r"no k \(algorithm.k\)"):
        validate(scenario)


def test_a_users_selector_that_returns_other_than_distinct_indices_stops_the_run_with_its_reason():
    class Twice(Selector):
        kind: Literal["twice"] = "twice"

        def choose(self, ready, count, rng, round=None):
            return [0] * count

    edgesim.register_selector(Twice)
    with pytest.raises(RuntimeError, match=r"server.selection 'twice' returned \[0, 0, 0, 0, 0\]: a selector must "
                                           r"return 5 distinct indices"):
        edgesim.simulate(SMOKE, overrides={**DATA, "stop.max_rounds": 1, "server.selection": {"kind": "twice"}})
