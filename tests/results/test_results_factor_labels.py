"""Readable factor labels for sweep cells."""

import json

from edgesim.results.factor_labels import factor_names, value_label
from edgesim.sweep.table import param_cell


def label(value):
    return value_label(param_cell(value))


def test_distributions_read_as_the_field_writes_them():
    assert label({"kind": "pareto", "alpha": 1.5}) == "pareto α=1.5"
    assert label({"kind": "lognormal", "sigma": 1.0}) == "lognormal σ=1"
    assert label({"kind": "bimodal", "fraction": 0.1, "factor": 10}) == "bimodal 10%×10"
    assert label({"kind": "none"}) == "none"
    assert label({"kind": "exponential", "mean": 2.0, "shift": 0}) == "exponential mean=2 shift=0"


def test_scalars_lists_and_empty_cells():
    assert label(0.050) == "0.05" and label(3) == "3" and label("fedavg_deadline") == "fedavg_deadline"
    assert label([1, 2.50]) == "[1, 2.5]"
    assert value_label(float("nan")) == "–" and value_label(True) == "True"
    assert value_label("{not json") == "{not json"


def test_factor_names_are_the_shortest_tail_no_other_key_shares():
    assert factor_names(["fleet.stragglers", "case"]) == {"fleet.stragglers": "stragglers", "case": "case"}
    assert factor_names(["fleet.stragglers", "fleet.groups.0.stragglers"]) == {
        "fleet.stragglers": "fleet.stragglers", "fleet.groups.0.stragglers": "0.stragglers"}
    assert json.loads(param_cell({"b": 1, "a": 2})) == {"a": 2, "b": 1}
