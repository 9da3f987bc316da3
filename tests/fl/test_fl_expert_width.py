"""HMoE expert width rules: the multiplier per node by hand, and experts built at that width."""

import pytest
from pydantic import TypeAdapter, ValidationError

from edgesim.fl.expert_width import DepthWidth, ExpertWidth, LeavesWidth, SameWidth
from edgesim.work import Task
from tests.fl.test_fl_hmoe import TREE, by_class, dataset, hmoe

RULE = TypeAdapter(ExpertWidth)


def test_same_keeps_the_model_width():
    assert [SameWidth().width(2, TREE, node) for node in TREE.experts] == [2, 2, 2]


def test_depth_halves_per_level_down_to_the_floor():
    # root at depth 0, x and y at depth 1
    assert [DepthWidth(factor=0.5).width(2, TREE, n) for n in TREE.experts] == [2, 1, 1]
    assert [DepthWidth(factor=0.1, min_width=0.5).width(2, TREE, n) for n in TREE.experts] == [2, 0.5, 0.5]


def test_leaves_scales_with_the_nodes_share_of_the_leaves():
    # x holds 2 of 5 leaves, y 3 of 5
    widths = [LeavesWidth(power=1, min_width=0.01).width(1, TREE, n) for n in TREE.experts]
    assert widths == pytest.approx([1, 2 / 5, 3 / 5])


@pytest.mark.parametrize("value", [{"kind": "depth"}, {"kind": "depth", "factor": 0}, {"kind": "depth", "factor": 2},
                                   {"kind": "leaves", "power": 0}, {"kind": "leaves", "min_width": 0},
                                   {"kind": "per_depth"}])
def test_bad_rules_are_refused(value):
    with pytest.raises(ValidationError):
        RULE.validate_python(value)


def test_experts_are_built_at_their_width_and_cost_less():
    data = dataset()
    clients = [by_class(data, [0, 1], 10), by_class(data, [2, 3], 10)]
    wide = hmoe(clients, data)
    narrow = hmoe(clients, data, expert_width={"kind": "depth", "factor": 0.5})
    hidden = 100  # the mlp's 200 hidden units at width 0.5
    assert narrow.experts[2].cost.parameters == 64 * hidden + hidden + hidden * 3 + 3
    assert narrow.experts[0].cost.parameters == wide.experts[0].cost.parameters  # the root stays at depth 0
    assert narrow.cost(Task(1, 3, 0)).footprint_bytes < wide.cost(Task(1, 3, 0)).footprint_bytes
    assert narrow.describe()["expert_bytes"]["min"] < wide.describe()["expert_bytes"]["min"]
