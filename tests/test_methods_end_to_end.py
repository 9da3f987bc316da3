"""Each FL method learns in a short real run of the smoke fleet (real MNIST when available)."""

from __future__ import annotations

import json

import pytest
from run_inputs import SCENARIOS, data_options

from edgesim.cli import main


@pytest.mark.parametrize("edits", [
    ["algorithm.name=mpt_fl", "model.name=mlp", "algorithm.local_epochs=5", "stop.max_rounds=8"],
    ["algorithm.name=mpt_fl", "algorithm.variant=1/1", "algorithm.upload=mask", "model.name=mlp",
     "algorithm.local_epochs=5", "stop.max_rounds=8"],
], ids=["mpt_fl_1_32", "mpt_fl_1_1_mask_upload"])
def test_method_learns_well_above_chance(tmp_path, edits):
    options = [option for edit in edits for option in ("--set", edit)]
    assert main(["run", str(SCENARIOS / "smoke.yaml"), "--out", str(tmp_path), "--quiet", *options,
                 *data_options()]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["final_accuracy"] > 0.3  # ten classes: chance is 0.1
