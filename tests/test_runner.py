"""A run's ending: completed, stalled (no update applied) with its reason, and what a failed pre-flight leaves."""

from __future__ import annotations

import pandas as pd
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


FLICKERING = {"name": "pi", "profile": "raspberry_pi_4", "count": 4, "network": "wifi5",
              "battery": {"capacity_wh": 1e-12, "charge_w": 3}}
"""Batteries that a download empties (idle 2.7 W + radio 0.8 W against a 3 W charger) and the charger refills
within nanoseconds once idle: every task is cut off at once and the device rejoins, so the clock barely moves."""


@pytest.mark.parametrize("algorithm", [{"name": "fedavg"}, {"name": "fedbuff", "k": 2}])
def test_a_clock_that_cannot_progress_is_a_stall_long_before_the_horizon(tmp_path, algorithm):
    summary = run(tmp_path, fleet={"groups": [FLICKERING]}, algorithm=algorithm,
                  stop={"max_rounds": None, "horizon_s": "1h"})
    assert summary["status"] == "stalled" and summary["stop_reason"] is None and summary["sim_time_s"] < 1.0
    assert summary["reason"].startswith("the clock cannot progress: the last 10,000 events spanned ")
    assert summary["reason"].endswith(")") and "at that pace" in summary["reason"]


def test_a_horizon_before_the_first_update_is_a_stall_that_says_what_the_server_waited_for(tmp_path):
    summary = run(tmp_path, stop={"horizon_s": 0.01})
    assert summary["status"] == "stalled"
    assert summary["reason"] == "no update was applied before the horizon: round 1 was still open (it started at 0 s)"


def test_a_stall_says_why_the_devices_could_not_take_work(tmp_path):
    never_plugged = {"kind": "hourly", "probability": [0.0] * 24}
    flat = {"name": "pi", "profile": "raspberry_pi_4", "count": 4, "network": "wifi5",
            "battery": {"capacity_wh": 5, "initial_soc": 0.1, "charging": never_plugged}}
    summary = run(tmp_path, fleet={"groups": [flat]}, stop={"horizon_s": "1h"})
    assert summary["status"] == "stalled" and summary["battery_low_at_start"] == 4
    assert summary["reason"].endswith("(0 were ready at the end); at the end, of the 4 devices, 4 had a low battery")


def test_a_failed_pre_flight_leaves_no_run_directory_behind(tmp_path):
    with pytest.raises(InputError, match="cannot hold the footprint"):
        run(tmp_path, fleet={"groups": [{"name": "pi", "profile": "raspberry_pi_4", "count": 4, "network": "wifi5"}],
                             "memory_fraction": 1e-9})
    assert not (tmp_path / "run").exists()


def test_the_summary_adds_up_the_energy_of_the_events_and_of_lost_work(tmp_path):
    summary = run(tmp_path, server={"clients_per_round": 2, "over_selection": 1.0})  # 4 selected, 2 kept a round
    events = pd.read_csv(tmp_path / "run" / "events.csv")
    assert summary["energy_j"] == pytest.approx(events["energy_j"].sum())
    assert summary["energy_j"] == pytest.approx(summary["energy_compute_j"] + summary["energy_transfer_j"])
    compute = events[events["kind"] == "compute_end"]
    assert summary["energy_compute_j"] == pytest.approx(6.4 * compute["duration_s"].sum())  # the Pi 4 at 6.4 W
    assert summary["updates_discarded"] > 0 and 0 < summary["energy_lost_share"] < 1  # the late arrivals' work
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert metrics["energy_j"].is_monotonic_increasing and metrics["energy_j"].iloc[-1] <= summary["energy_j"]
    assert summary["energy_idle_j"] > 0 and summary["battery_devices"] == 0
    assert summary["battery_dropouts"] is summary["battery_low_at_start"] is None  # no batteries: not applicable


def test_an_energy_budget_stops_the_run_once_spent(tmp_path):
    spent = run(tmp_path / "free")["energy_j"]
    summary = run(tmp_path, stop={"max_rounds": 3, "energy_budget_j": spent / 3})
    assert summary["stop_reason"] == "energy_budget" and summary["rounds"] < 3


def test_a_battery_group_needs_a_capacity_and_charging_over_a_trace_needs_one():
    battery = {"name": "pi", "profile": "raspberry_pi_4", "count": 4, "network": "wifi5", "battery": {}}
    with pytest.raises(InputError, match=r"fleet.groups\[0\].battery.capacity_wh: the profile raspberry_pi_4 has no "
                                         "battery_wh"):
        scenario(fleet={"groups": [battery]})
    with pytest.raises(InputError, match=r"fleet.groups\[0\].battery.charging: trace charges over the availability"):
        scenario(fleet={"groups": [{**battery, "battery": {"capacity_wh": 5, "charging": "trace"}}]})


def test_events_as_parquet_hold_the_csv_rows_and_such_a_run_cannot_resume(tmp_path):
    from edgesim.plots.data import read_events
    from edgesim.plots.dispatch import plot_any

    csv = run(tmp_path / "csv")
    parquet = run_scenario(scenario(output={"events": "parquet"}), tmp_path / "pq", show_progress=False,
                           compute=Compute("cpu")).summary
    assert (tmp_path / "pq" / "events.parquet").is_file() and not (tmp_path / "pq" / "events.csv").exists()
    pd.testing.assert_frame_equal(read_events(tmp_path / "pq"), read_events(tmp_path / "csv" / "run"))
    assert parquet["energy_j"] == csv["energy_j"] and parquet["checkpoints"]["taken"] == 0
    assert any(path.name == "timeline.png" for path in plot_any(tmp_path / "pq"))
    (tmp_path / "pq" / "summary.json").unlink()  # as if it had been killed
    with pytest.raises(InputError, match="writes its events as Parquet .* cannot be continued"):
        run_scenario(scenario(output={"events": "parquet"}), tmp_path / "pq", mode="resume", show_progress=False)
