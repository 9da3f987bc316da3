"""Each FL method learns in a short real run of the smoke fleet (real MNIST when available)."""

from __future__ import annotations

import json

import pytest
from run_inputs import DIGIT_TREE, SCENARIOS, data_options

from edgesim.cli import main


@pytest.mark.parametrize("edits", [
    ["algorithm.name=mpt_fl", "model.name=mlp", "algorithm.local_epochs=5", "stop.max_rounds=8"],
    ["algorithm.name=mpt_fl", "algorithm.variant=1/1", "algorithm.upload=mask", "model.name=mlp",
     "algorithm.local_epochs=5", "stop.max_rounds=8"],
    ["algorithm.name=mpt_fl", "algorithm.upload=sign", "model.name=mlp", "algorithm.local_epochs=5",
     "stop.max_rounds=8"],
], ids=["mpt_fl_1_32", "mpt_fl_1_1_mask_upload", "mpt_fl_1_32_sign_upload"])
def test_method_learns_well_above_chance(tmp_path, edits):
    options = [option for edit in edits for option in ("--set", edit)]
    assert main(["run", str(SCENARIOS / "smoke.yaml"), "--out", str(tmp_path), "--quiet", *options,
                 *data_options()]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["final_accuracy"] > 0.3  # ten classes: chance is 0.1


@pytest.mark.parametrize("algorithm, rounds", [("hmoe", 16), ("flat_softmax", 8)])
def test_hierarchical_method_learns_and_reports_information_metrics(tmp_path, algorithm, rounds):
    tree = tmp_path / "digits.txt"
    tree.write_text(DIGIT_TREE)
    edits = [f"algorithm.name={algorithm}", "dataset.partition.classes_per_client=10",
             "dataset.partition.samples_per_class=10", "dataset.taxonomy.kind=edgelist",
             f"dataset.taxonomy.path={tree}", f"stop.max_rounds={rounds}", "algorithm.local_epochs=2"]
    options = [option for edit in edits for option in ("--set", edit)]
    out = tmp_path / "run"
    assert main(["run", str(SCENARIOS / "smoke.yaml"), "--out", str(out), "--quiet", *options,
                 *data_options()]) == 0
    summary = json.loads((out / "summary.json").read_text())
    final = summary["final_metrics"]
    assert final["accuracy"] > 0.3
    assert final["accuracy"] <= final["info_f1"] <= 1
    assert summary["model"]["taxonomy"]["experts"] == 4
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"info_precision", "info_recall", "info_f1"} <= set(header)
