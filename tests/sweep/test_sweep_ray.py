"""Sweeps on Ray: same tables as the local executor, failures recorded, completed variants skipped.

The Ray tests start a small local Ray instance (through the executor) and are
skipped when Ray cannot be imported; the missing-Ray error is tested always.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from edgesim.cli import main

if str(TESTS := Path(__file__).resolve().parents[1]) not in sys.path:
    sys.path.insert(0, str(TESTS))  # pytest puts tests/ on the path only when it collects a test file there
from run_inputs import SCENARIOS, data_options  # noqa: E402

try:
    import ray
except ImportError as exc:  # pragma: no cover - depends on the environment
    ray = None
    RAY_MISSING = f"ray cannot be imported ({exc}); pip install 'edgesim[ray]'"
else:
    RAY_MISSING = ""

needs_ray = pytest.mark.skipif(ray is None, reason=RAY_MISSING)

# smoke.yaml cut to two rounds; the "broken" case excludes every device, so the pre-flight refuses it.
SMOKE = [str(SCENARIOS / "smoke.yaml"), "--set", "stop.max_rounds=2", *data_options(), "--threads", "1"]
TWO_SEEDS = ["--set", "sweep={seeds: [7, 8]}"]
WITH_BROKEN = ["--set", "sweep={cases: {ok: {}, broken: {fleet.memory_fraction: 1.0e-9}}, seeds: [7]}"]


def _rows(sweep_dir) -> list[dict]:
    with open(sweep_dir / "sweep.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_ray_missing_is_one_line_input_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    assert main(["sweep", *SMOKE, *TWO_SEEDS, "--out", str(tmp_path / "s"), "--executor", "ray"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'pip install "edgesim[ray]"' in err
    assert not (tmp_path / "s").exists()


def test_address_and_gpus_need_ray_executor(tmp_path, capsys):
    assert main(["sweep", *SMOKE, *TWO_SEEDS, "--out", str(tmp_path / "s"), "--address", "auto"]) == 2
    assert "--address: only with --executor ray" in capsys.readouterr().err
    assert main(["sweep", *SMOKE, *TWO_SEEDS, "--out", str(tmp_path / "s"), "--gpus-per-task", "0.5"]) == 2
    assert "--gpus-per-task: only with --executor ray" in capsys.readouterr().err


@needs_ray
def test_ray_sweep_matches_local_executor(tmp_path):
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    assert main(["sweep", *SMOKE, *TWO_SEEDS, "--out", str(local), "--workers", "2"]) == 0
    assert main(["sweep", *SMOKE, *TWO_SEEDS, "--out", str(on_ray), "--executor", "ray"]) == 0
    assert not ray.is_initialized()  # the executor stopped the instance it started
    assert [r["status"] for r in _rows(on_ray)] == ["completed", "completed"]
    for run in ("run-000", "run-001"):
        for table in ("metrics.csv", "events.csv", "scenario.yaml"):
            assert (on_ray / run / table).read_bytes() == (local / run / table).read_bytes(), (run, table)
    assert [r["seed"] for r in _rows(on_ray)] == [r["seed"] for r in _rows(local)] == ["7", "8"]


@pytest.fixture
def ray_instance():
    """A small local Ray instance that this process is connected to, as a user's script might be."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@needs_ray
def test_ray_sweep_records_failures_and_resumes(tmp_path, capsys, ray_instance):
    out = tmp_path / "sweep"
    assert main(["sweep", *SMOKE, *WITH_BROKEN, "--out", str(out), "--executor", "ray"]) == 0
    rows = _rows(out)
    assert [r["case"] for r in rows] == ["ok", "broken"]
    assert rows[0]["status"] == "completed" and rows[0]["rounds"] == "2"
    assert rows[1]["status"] == "invalid" and "cannot hold the footprint" in rows[1]["reason"]

    # Resuming skips the finished variant (its files stay as they were) and retries the invalid one.
    capsys.readouterr()
    summary_mtime = (out / "run-000" / "summary.json").stat().st_mtime_ns
    assert main(["sweep", *SMOKE, *WITH_BROKEN, "--out", str(out), "--executor", "ray", "--resume"]) == 0
    assert "1 of 2 variants already finished" in capsys.readouterr().err
    assert (out / "run-000" / "summary.json").stat().st_mtime_ns == summary_mtime
    assert [r["status"] for r in _rows(out)] == ["completed", "invalid"]
    assert ray.is_initialized()  # the executor used the existing connection and left it open


@needs_ray
def test_gpus_no_node_has_are_an_input_error_not_a_hang(tmp_path, capsys, ray_instance):
    assert main(["sweep", *SMOKE, *TWO_SEEDS, "--out", str(tmp_path / "s"), "--executor", "ray",
                 "--gpus-per-task", "1"]) == 2
    assert "--gpus-per-task 1: no node of the Ray cluster has that many GPUs (the largest has 0)" in \
        capsys.readouterr().err
