"""Energy: each phase at its power for its duration, lost work counted, the idle baseline outside the phases,
and a task's rows carrying what its phases cost."""

import pytest
import simpy

from edgesim.sim.energy import COMPUTE, TRANSFER, DevicePower, EnergyMeter
from edgesim.sim.event_log import EventLog
from edgesim.sim.links import FlowScheduler
from edgesim.sim.task import TaskPlan, TaskRunner
from sim_fixtures import make_device, read_events

POWER = DevicePower(idle_w=0.5, active_w=3.0, radio_w=1.2)


def test_a_phase_costs_its_power_for_its_duration():
    meter = EnergyMeter()
    assert meter.phase(POWER, COMPUTE, 2.0) == 6.0
    assert meter.phase(POWER, TRANSFER, 1.0) == pytest.approx(1.7)  # idle + radio
    meter.lost(2.5)
    assert (meter.compute_j, meter.transfer_j, meter.total_j, meter.wasted_j) == (6.0, pytest.approx(1.7),
                                                                                  pytest.approx(7.7), 2.5)
    # the idle baseline: 10 s of two devices at 0.5 W, less the 3 s the phases already count at idle
    assert meter.idle_j([POWER, POWER], 10.0) == pytest.approx(2 * 0.5 * 10 - 0.5 * 3)


def run_task(tmp_path, interrupt_at=None):
    env = simpy.Environment()
    log = EventLog(tmp_path / "events.csv")
    meter = EnergyMeter()
    runner = TaskRunner(env, FlowScheduler(env), log, meter)
    device = make_device(latency_ms=0.0)  # 8 Mbit/s down, 4 up, 1 GFLOP/s
    device.power = POWER
    process = env.process(runner.run(device, TaskPlan(1, 0, 1_000_000, 2e9, 500_000)))
    if interrupt_at is not None:
        env.process(_interrupt(env, process, interrupt_at))
    env.run()
    log.close()
    return process.value, meter, read_events(tmp_path / "events.csv")


def _interrupt(env, process, at):
    yield env.timeout(at)
    process.interrupt("failure")


def test_a_tasks_phases_carry_their_energy_and_it_adds_up(tmp_path):
    result, meter, rows = run_task(tmp_path)  # download 1 s, compute 2 s, upload 1 s
    energy = {r["kind"]: float(r["energy_j"]) for r in rows if r["energy_j"]}
    assert energy == {"download_end": pytest.approx(1.7), "compute_end": pytest.approx(6.0),
                      "upload_end": pytest.approx(1.7)}
    assert result.energy_j == pytest.approx(9.4) == meter.total_j and meter.wasted_j == 0


def test_an_interrupted_task_counts_its_energy_so_far_as_lost(tmp_path):
    result, meter, rows = run_task(tmp_path, interrupt_at=2.0)  # one second into the compute
    assert not result.arrived and result.energy_j == pytest.approx(1.7 + 3.0)
    assert meter.wasted_j == pytest.approx(4.7) == meter.total_j
    assert [r["kind"] for r in rows][-1] == "compute_interrupted" and float(rows[-1]["energy_j"]) == 3.0
