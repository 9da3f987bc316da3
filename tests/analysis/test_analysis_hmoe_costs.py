"""The HMoE cost table (analysis/hmoe_costs.py) runs against today's strategies and measures every model."""

from __future__ import annotations

import pytest
import torch
from hmoe_costs import cost_table
from run_inputs import DIGIT_TREE, SCENARIOS, data_edits

from edgesim.scenario import load_scenario


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    threads = torch.get_num_threads()  # cost_table times training on one thread
    yield
    torch.set_num_threads(threads)


def test_cost_table_has_a_measured_row_for_the_flat_model_and_each_expert(tmp_path):
    tree = tmp_path / "digits.txt"
    tree.write_text(DIGIT_TREE)
    edits = [*data_edits(), "dataset.partition.classes_per_client=10", "dataset.partition.samples_per_class=10",
             "dataset.taxonomy.kind=edgelist", f"dataset.taxonomy.path={tree}"]
    flat = load_scenario(SCENARIOS / "smoke.yaml", [*edits, "algorithm.name=flat_softmax"])
    hmoe = load_scenario(SCENARIOS / "smoke.yaml", [*edits, "algorithm.name=hmoe"])
    costs = cost_table(flat, hmoe)
    assert costs["model"][0] == "flat"
    assert dict(zip(costs["model"], costs["outputs"])) == {"flat": 10, "root": 3, "round": 4, "straight": 3,
                                                           "mixed": 3}
    measured = costs[["host_ms", "client_samples", "sim_s", "payload_b", "footprint_mb", "peak_mb"]]
    assert (measured > 0).all().all()
    # an expert sends its own small head and backbone, less than the flat model's 10-way one
    assert (costs["payload_b"][1:] < costs["payload_b"][0]).all()
