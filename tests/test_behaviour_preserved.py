"""Behaviour is preserved: seven scenarios keep the sha256 of their events.csv and metrics.csv.

The hashes in ``behaviour_hashes.json`` were recorded on synthetic data with one torch thread, so a
redesign of the clock/strategy glue that changes what is simulated or trained fails here. After an
intended change, record them again and list the change in its note:

    EDGESIM_RECORD_HASHES=1 .venv/bin/python -m pytest tests/test_behaviour_preserved.py

Floating-point kernels differ between CPU instruction sets, so the hashes are only compared on a CPU
with the capability they were recorded on (``torch.backends.cpu.get_cpu_capability()``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import torch
from run_inputs import DIGIT_TREE, SCENARIOS

from edgesim.cli import main

HASHES = Path(__file__).with_name("behaviour_hashes.json")
SYNTHETIC = ["dataset.name=synthetic", "dataset.download=false", "dataset.test_subset=null"]
KASYNC = "algorithm={name: kasync_sgd, k: 2, unit: local_steps, local_steps: 3, local_lr: 0.05, lr: 0.05}"
CASES = {
    "smoke_fedavg": ("smoke.yaml", ["stop.max_rounds=4"]),
    "iot_home": ("iot_home.yaml", ["stop.max_rounds=3", "dataset.partition.samples_per_class=20"]),
    "smoke_kasync_sgd": ("smoke.yaml", [KASYNC, "stop.max_rounds=30", "evaluation.every_rounds=5"]),
    "smoke_hmoe": ("smoke.yaml", ["algorithm.name=hmoe", "dataset.partition.classes_per_client=10",
                                  "dataset.partition.samples_per_class=10", "dataset.taxonomy.kind=edgelist",
                                  "dataset.taxonomy.path=TREE", "stop.max_rounds=8"]),
    "smoke_buffered": ("smoke.yaml", ["algorithm={name: fedbuff, k: 3, local_steps: 3}",
                                      "server.protocol={kind: buffered, concurrency: 5}", "stop.max_rounds=20",
                                      "evaluation.every_rounds=5"]),
    "smoke_periodic": ("smoke.yaml", ["algorithm={name: kasync_sgd, k: 2}", "server.protocol={kind: periodic, "
                                      "period_s: 20s, concurrency: 6}", "stop.max_rounds=6"]),
    "phones_battery": ("phones_battery_whatif.yaml", ["stop.max_rounds=6", "server.selection={kind: battery_aware}",
                                                      "dataset.partition.samples_per_class=5"]),
}
RECORDING = os.environ.get("EDGESIM_RECORD_HASHES") == "1"


def _hashes(run_dir: Path) -> dict[str, str]:
    return {name: hashlib.sha256((run_dir / name).read_bytes()).hexdigest() for name in ("events.csv", "metrics.csv")}


def _recorded() -> dict:
    return json.loads(HASHES.read_text()) if HASHES.is_file() else {"cpu_capability": None, "runs": {}}


@pytest.mark.parametrize("case", CASES)
def test_a_scenario_writes_the_tables_it_wrote_before(tmp_path, case):
    recorded = _recorded()
    capability = torch.backends.cpu.get_cpu_capability()
    if not RECORDING and recorded["cpu_capability"] != capability:
        pytest.skip(f"hashes recorded on a {recorded['cpu_capability']} CPU; this one is {capability}")
    scenario, edits = CASES[case]
    tree = tmp_path / "digits.txt"
    tree.write_text(DIGIT_TREE)
    edits = [edit.replace("TREE", str(tree)) for edit in edits + SYNTHETIC]
    out = tmp_path / "run"
    assert main(["run", str(SCENARIOS / scenario), "--out", str(out), "--quiet", "--threads", "1",
                 *(word for edit in edits for word in ("--set", edit))]) == 0
    if RECORDING:
        recorded["cpu_capability"] = capability
        recorded["runs"][case] = _hashes(out)
        HASHES.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
    assert _hashes(out) == recorded["runs"][case]
