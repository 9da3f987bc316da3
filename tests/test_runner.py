"""A run's ending: completed, stalled (no update applied) with its reason, and what a failed pre-flight leaves."""

from __future__ import annotations

import pytest

from edgesim.compute import Compute
from edgesim.errors import InputError
from edgesim.runner import run_scenario
from edgesim.scenario import validate


def scenario(**sections):
    raw = {"name": "runner", "seed": 2,
           "fleet": {"groups": [{"name": "pi", "profile": "raspberry_pi_4", "count": 4, "network": "wifi5"}]},
           "dataset": {"name": "synthetic", "synthetic": {"train_size": 400, "test_size": 100}},
           "server": {"clients_per_round": 2}, "stop": {"max_rounds": 3}}
    raw.update(sections)
    return validate(raw)


def run(tmp_path, **sections) -> dict:
    return run_scenario(scenario(**sections), tmp_path / "run", show_progress=False, compute=Compute("cpu")).summary


def test_a_run_that_trains_is_completed(tmp_path):
    summary = run(tmp_path)
    assert (summary["status"], summary["reason"], summary["stop_reason"]) == ("completed", None, "max_rounds")
    assert summary["rounds"] == summary["model_version"] == 3 and summary["checkpoints"]["taken"] == 4


def test_rounds_that_all_close_empty_are_a_stall_not_a_completion(tmp_path):
    summary = run(tmp_path, server={"clients_per_round": 2, "deadline_s": 0.001})
    assert summary["status"] == "stalled" and summary["stop_reason"] is None and summary["model_version"] == 0
    assert summary["reason"].startswith("no update was applied: all 3 rounds closed without an update")
    # the same when the horizon ends them: the reason counts the empty rounds
    summary = run(tmp_path / "horizon", server={"clients_per_round": 2, "deadline_s": 0.001},
                  stop={"max_rounds": None, "horizon_s": 0.5})
    assert summary["status"] == "stalled" and summary["rounds"] > 3
    assert summary["reason"].startswith(f"no update was applied before the horizon: all {summary['rounds']} rounds "
                                        "closed without an update")


def test_a_horizon_before_the_first_update_is_a_stall_that_says_what_the_server_waited_for(tmp_path):
    summary = run(tmp_path, stop={"horizon_s": 0.01})
    assert summary["status"] == "stalled"
    assert summary["reason"] == "no update was applied before the horizon: round 1 was still open (it started at 0 s)"


def test_a_failed_pre_flight_leaves_no_run_directory_behind(tmp_path):
    with pytest.raises(InputError, match="cannot hold the footprint"):
        run(tmp_path, fleet={"groups": [{"name": "pi", "profile": "raspberry_pi_4", "count": 4, "network": "wifi5"}],
                             "memory_fraction": 1e-9})
    assert not (tmp_path / "run").exists()
