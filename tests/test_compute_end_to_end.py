"""``--device`` and ``--trainer`` on real runs: the batched trainer changes nothing but float rounding.

CPU-only here: the batched path is forced with ``--trainer batched`` (on a GPU it is the default).
"""

from __future__ import annotations

import csv
import json

import pytest
import torch
from run_inputs import SCENARIOS, data_options

from edgesim.cli import main

SMOKE = str(SCENARIOS / "smoke.yaml")
CASES = {
    "fedavg": ["--set", "stop.max_rounds=3"],
    "mpt_fl": ["--set", "algorithm={name: mpt_fl, local_epochs: 2}", "--set", "stop.max_rounds=3"],
    "akafl_rj": ["--set", "algorithm={name: akafl_rj, k: 3}", "--set", "dataset.validation_size=200",
                 "--set", "stop.max_rounds=20"],
}


def run(out, *options) -> dict:
    assert main(["run", SMOKE, "--out", str(out), "--quiet", "--threads", "1", *options, *data_options()]) == 0
    return json.loads((out / "summary.json").read_text())


def numbers(path) -> list[list[float]]:
    with open(path, newline="") as handle:
        return [[float(v) if v else float("nan") for v in row.values()] for row in csv.DictReader(handle)]


def test_cpu_device_gives_the_default_runs_bytes_and_is_recorded(tmp_path):
    default = run(tmp_path / "default", *CASES["fedavg"])
    on_cpu = run(tmp_path / "cpu", *CASES["fedavg"], "--device", "cpu")
    for name in ("metrics.csv", "events.csv"):
        assert (tmp_path / "cpu" / name).read_bytes() == (tmp_path / "default" / name).read_bytes()
    if not torch.cuda.is_available():
        assert default["torch_device"] == "cpu"
    assert (on_cpu["torch_device"], on_cpu["trainer"]) == ("cpu", "sequential")


@pytest.mark.parametrize("case", sorted(CASES))
def test_batched_trainer_matches_sequential_up_to_rounding(tmp_path, case):
    sequential = run(tmp_path / "seq", *CASES[case], "--device", "cpu", "--trainer", "sequential")
    batched = run(tmp_path / "bat", *CASES[case], "--device", "cpu", "--trainer", "batched")
    assert batched["trainer"] == "batched" and sequential["trainer"] == "sequential"
    # the simulated fleet does not depend on how the updates were computed
    assert (tmp_path / "bat" / "events.csv").read_bytes() == (tmp_path / "seq" / "events.csv").read_bytes()
    expected, got = numbers(tmp_path / "seq" / "metrics.csv"), numbers(tmp_path / "bat" / "metrics.csv")
    assert len(got) == len(expected) > 1
    torch.testing.assert_close(torch.tensor(got), torch.tensor(expected), rtol=1e-3, atol=1e-4, equal_nan=True)
    assert batched["final_accuracy"] == pytest.approx(sequential["final_accuracy"], abs=2e-3)


def test_a_device_that_is_not_there_exits_2_without_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["run", SMOKE, "--out", str(tmp_path / "r"), "--device", "cuda"]) == 2
    assert "--device cuda: no such device here (torch sees 0 CUDA devices)" in capsys.readouterr().err
    assert main(["run", SMOKE, "--out", str(tmp_path / "r"), "--device", "gpu"]) == 2
    err = capsys.readouterr().err
    assert "--device gpu: must be one of auto, cpu, cuda, cuda:N" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()
