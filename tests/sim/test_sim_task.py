"""One task's timeline: download, compute, upload; straggler factors; interrupts by failures."""

import numpy as np
import pytest
import simpy

from edgesim.sim.event_log import EventLog
from edgesim.sim.failures import TraceFailures
from edgesim.sim.fleet import Fleet
from edgesim.sim.links import FlowScheduler, Link
from edgesim.sim.stragglers import BimodalStragglers, LogNormalStragglers
from edgesim.sim.task import TaskPlan, TaskRunner
from sim_fixtures import make_device, read_events

# 1 MB down at 8 Mbit/s = 1 s, 0.5 GFLOP at 1 GFLOP/s = 0.5 s, 0.5 MB up at 4 Mbit/s = 1 s; 20 ms latency.
PLAN = TaskPlan(round=3, version=2, download_bytes=1_000_000, flops=5e8, upload_bytes=500_000)


def run_task(tmp_path, device, plan=PLAN):
    env = simpy.Environment()
    log = EventLog(tmp_path / "events.csv")
    runner = TaskRunner(env, FlowScheduler(env), log)
    process = env.process(runner.run(device, plan))
    env.run()
    log.close()
    return process.value, tmp_path / "events.csv"


def by_kind(rows):
    return {row["kind"]: row for row in rows}


def test_phases_end_at_latency_plus_bytes_over_bandwidth(tmp_path):
    device = make_device(latency_ms=20.0, flops_per_s=1e9, down_bps=8e6, up_bps=4e6)
    result, path = run_task(tmp_path, device)
    rows = read_events(path)
    assert [r["kind"] for r in rows] == [
        "download_start", "download_end", "compute_start", "compute_end", "upload_start", "upload_end"
    ]
    kinds = by_kind(rows)
    download_end = 0.020 + 1_000_000 * 8 / 8e6  # 1.02
    compute_end = download_end + 5e8 / 1e9  # 1.52
    upload_end = compute_end + 0.020 + 500_000 * 8 / 4e6  # 2.54
    assert float(kinds["download_end"]["sim_time_s"]) == pytest.approx(download_end, abs=1e-6)
    assert float(kinds["compute_end"]["sim_time_s"]) == pytest.approx(compute_end, abs=1e-6)
    assert float(kinds["upload_end"]["sim_time_s"]) == pytest.approx(upload_end, abs=1e-6)
    assert float(kinds["download_end"]["duration_s"]) == pytest.approx(1.02, abs=1e-6)
    assert float(kinds["compute_end"]["duration_s"]) == pytest.approx(0.5, abs=1e-6)
    assert float(kinds["upload_end"]["duration_s"]) == pytest.approx(1.02, abs=1e-6)
    assert kinds["download_end"]["bytes"] == "1000000"
    assert kinds["upload_end"]["bytes"] == "500000"
    assert {(r["device"], r["round"], r["model_version"]) for r in rows} == {("d-0", "3", "2")}
    assert result.arrived is True
    assert result.time == pytest.approx(2.54)
    assert result.device is device and result.plan == PLAN


def test_device_slowdown_stretches_compute(tmp_path):
    device = make_device(latency_ms=0.0)
    device.slowdown = 2.5
    result, path = run_task(tmp_path, device)
    kinds = by_kind(read_events(path))
    assert float(kinds["compute_end"]["duration_s"]) == pytest.approx(0.5 * 2.5, abs=1e-6)
    assert result.time == pytest.approx(1.0 + 1.25 + 1.0)


def test_lognormal_straggler_multiplies_compute_by_the_drawn_factor(tmp_path):
    stragglers = LogNormalStragglers(sigma=0.5, median=1.5)
    device = make_device(stragglers=stragglers, rng=np.random.default_rng(123))
    _, path = run_task(tmp_path, device)
    # Constant latency draws nothing, so the task factor is the rng's first draw.
    expected_factor = 1.5 * np.exp(np.random.default_rng(123).normal(0.0, 0.5))
    assert expected_factor != pytest.approx(1.0, abs=1e-3)
    kinds = by_kind(read_events(path))
    assert float(kinds["compute_end"]["duration_s"]) == pytest.approx(0.5 * expected_factor, abs=1e-6)
    # the transfers are untouched
    assert float(kinds["upload_end"]["duration_s"]) == pytest.approx(1.02, abs=1e-6)


def test_bimodal_per_task_straggler_always_slow_at_fraction_one(tmp_path):
    device = make_device(stragglers=BimodalStragglers(per="task", fraction=1.0, factor=3.0))
    _, path = run_task(tmp_path, device)
    kinds = by_kind(read_events(path))
    assert float(kinds["compute_end"]["duration_s"]) == pytest.approx(1.5, abs=1e-6)


def test_shared_link_transfer_takes_its_share(tmp_path):
    # Two devices download 1 MB (8 Mbit) each through one 8 Mbit/s link, no latency, fast access:
    # 4 Mbit/s each, both done at 2 s.
    env = simpy.Environment()
    log = EventLog(tmp_path / "events.csv")
    runner = TaskRunner(env, FlowScheduler(env), log)
    link = Link("home.down", 8e6)
    plan = TaskPlan(1, 0, 1_000_000, 0.0, 0)
    devices = [make_device(f"d-{i}", i, latency_ms=0.0, down_bps=1e9, links_down=(link,)) for i in range(2)]
    processes = [env.process(runner.run(d, plan)) for d in devices]
    env.run()
    log.close()
    assert [p.value.time for p in processes] == [pytest.approx(2.0), pytest.approx(2.0)]
    ends = [r for r in read_events(tmp_path / "events.csv") if r["kind"] == "download_end"]
    assert [float(r["duration_s"]) for r in ends] == [pytest.approx(2.0), pytest.approx(2.0)]


# --- interrupts --------------------------------------------------------------------------------


def start_task(env, runner, device, plan):
    """What the sync server does: mark the device busy and hold its process."""
    device.busy = True
    device.task = env.process(runner.run(device, plan))
    return device.task


def test_failure_during_compute_loses_the_task(tmp_path):
    env = simpy.Environment()
    log = EventLog(tmp_path / "events.csv")
    runner = TaskRunner(env, FlowScheduler(env), log)
    device = make_device("pi-0")
    failures = TraceFailures.model_validate(
        {"kind": "trace", "outages": [{"device": "pi-0", "at_s": 1.2, "duration_s": 5.0},
                                      {"device": "other-0", "at_s": 0.5, "duration_s": 1.0}]}
    )
    fleet = Fleet(env, [device], log)
    fleet.start([iter([(0.0, True)])], [failures.outages(device.id, np.random.default_rng(0))])
    task = start_task(env, runner, device, PLAN)  # compute runs 1.02 .. 1.52
    observed = {}

    def probe():
        yield env.timeout(1.3)
        observed["up_during"] = device.up

    env.process(probe())
    env.run()
    log.close()
    rows = read_events(tmp_path / "events.csv")
    tail = [(r["kind"], float(r["sim_time_s"])) for r in rows[3:]]
    assert [r["kind"] for r in rows[:3]] == ["download_start", "download_end", "compute_start"]
    assert tail == [("failure", pytest.approx(1.2)), ("compute_interrupted", pytest.approx(1.2)),
                    ("recovery", pytest.approx(6.2))]
    interrupted = rows[4]
    assert float(interrupted["duration_s"]) == pytest.approx(1.2 - 1.02, abs=1e-6)
    assert float(rows[3]["duration_s"]) == pytest.approx(5.0)
    assert task.value.arrived is False
    assert task.value.time == pytest.approx(1.2)
    assert observed["up_during"] is False
    assert device.up is True


def test_unavailability_interrupts_upload(tmp_path):
    env = simpy.Environment()
    log = EventLog(tmp_path / "events.csv")
    runner = TaskRunner(env, FlowScheduler(env), log)
    device = make_device()
    fleet = Fleet(env, [device], log)
    fleet.start([iter([(0.0, True), (2.0, False)])], [iter(())])
    task = start_task(env, runner, device, PLAN)  # upload runs 1.52 .. 2.54
    env.run()
    log.close()
    rows = read_events(tmp_path / "events.csv")
    assert [(r["kind"], float(r["sim_time_s"])) for r in rows[-2:]] == [
        ("unavailable", pytest.approx(2.0)), ("upload_interrupted", pytest.approx(2.0))
    ]
    assert float(rows[-1]["duration_s"]) == pytest.approx(2.0 - 1.52, abs=1e-6)
    assert task.value.arrived is False
    assert device.available is False


def test_interrupted_shared_transfer_is_removed_from_the_scheduler(tmp_path):
    # A and B download 8 Mbit each through an 8 Mbit/s link (4 Mbit/s each). B fails at 0.5 s:
    # A has 8 - 2 = 6 Mbit left, now at 8 Mbit/s -> done at 0.5 + 0.75 = 1.25 s (not 2 s).
    env = simpy.Environment()
    log = EventLog(tmp_path / "events.csv")
    scheduler = FlowScheduler(env)
    runner = TaskRunner(env, scheduler, log)
    link = Link("home.down", 8e6)
    a = make_device("a-0", 0, latency_ms=0.0, down_bps=1e9, links_down=(link,))
    b = make_device("b-0", 1, latency_ms=0.0, down_bps=1e9, links_down=(link,))
    fleet = Fleet(env, [a, b], log)
    fleet.start([iter([(0.0, True)])] * 2, [iter(()), iter([(0.5, 10.0)])])
    plan = TaskPlan(1, 0, 1_000_000, 0.0, 0)
    task_a = start_task(env, runner, a, plan)
    task_b = start_task(env, runner, b, plan)
    seen = {}

    def probe():
        yield env.timeout(0.75)
        seen["flows"] = len(scheduler.flows)
        seen["rate"] = scheduler.flows[0].rate_bps

    env.process(probe())
    env.run()
    log.close()
    rows = read_events(tmp_path / "events.csv")
    lost = [r for r in rows if r["kind"] == "download_interrupted"]
    assert [(r["device"], float(r["sim_time_s"]), float(r["duration_s"])) for r in lost] == [
        ("b-0", pytest.approx(0.5), pytest.approx(0.5))
    ]
    a_end = [r for r in rows if r["kind"] == "download_end" and r["device"] == "a-0"]
    assert float(a_end[0]["sim_time_s"]) == pytest.approx(1.25, abs=1e-6)
    assert seen == {"flows": 1, "rate": 8e6}
    assert task_a.value.arrived is True and task_b.value.arrived is False
    assert scheduler.flows == []
