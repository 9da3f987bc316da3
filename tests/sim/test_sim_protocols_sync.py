"""Synchronous rounds with fixed task times: closes, over-selection, deadlines, versions, waiting.

Every device has 10 ms latency, downloads 1 MB at 8 Mbit/s (1 s), trains 1 GFLOP and uploads
0.5 MB at 4 Mbit/s (1 s). Compute speeds 1, 0.5 and 0.25 GFLOP/s make the three devices'
tasks take 0.01 + 1 + {1, 2, 4} + 0.01 + 1 = 3.02, 4.02 and 6.02 s.
"""

from dataclasses import dataclass, field

import numpy as np
import pytest
import simpy

from edgesim.sim.availability import HOUR, WindowAvailability
from edgesim.sim.event_log import EventLog
from edgesim.sim.fleet import Fleet
from edgesim.sim.links import FlowScheduler
from edgesim.sim.protocols import ProtocolContext, RoundRules
from edgesim.sim.protocols.sync import SyncServer
from edgesim.sim.task import TaskRunner
from edgesim.work import Outcome, TaskCost
from sim_fixtures import make_device, read_events

TASK_S = [3.02, 4.02, 6.02]


@dataclass
class StubOwner:
    stop_after: int
    costs_by_round: bool = True
    eligible: object = lambda client: True
    closes: list = field(default_factory=list)

    def cost(self, task):
        return TaskCost(download_bytes=1_000_000, flops=1e9, upload_bytes=500_000, footprint_bytes=0) \
            if self.eligible(task.client) else None

    def aggregate(self, round, version, arrivals, oldest_held_version, now):
        assert all(a.base_version == version and a.staleness == 0 for a in arrivals)
        self.closes.append((round, version, [f"d-{a.client}" for a in arrivals], now))
        return Outcome(stop=round >= self.stop_after)


def simulate(tmp_path, settings, stop_after, availability=None, owner=None):
    env = simpy.Environment()
    path = tmp_path / "events.csv"
    log = EventLog(path)
    devices = [make_device(f"d-{i}", i, latency_ms=10.0, flops_per_s=f)
               for i, f in enumerate([1e9, 0.5e9, 0.25e9])]
    fleet = Fleet(env, devices, log)
    availability = availability or [iter([(0.0, True)]) for _ in devices]
    fleet.start(availability, [iter(()) for _ in devices])
    owner = owner or StubOwner(stop_after)
    server = SyncServer(env, fleet, TaskRunner(env, FlowScheduler(env), log), log, owner,
                        ProtocolContext(np.random.default_rng(0), settings))
    env.process(server.process())
    env.run(until=server.stopped | env.timeout(1e6))
    log.close()
    return server, owner, read_events(path), env


def rows_of(rows, kind):
    return [r for r in rows if r["kind"] == kind]


def times(rows, kind):
    return [float(r["sim_time_s"]) for r in rows_of(rows, kind)]


def test_round_lasts_as_long_as_the_slowest_selected_device(tmp_path):
    settings = RoundRules(clients_per_round=3, min_clients=3)
    server, owner, rows, env = simulate(tmp_path, settings, stop_after=3)
    ends = rows_of(rows, "round_end")
    assert [float(r["duration_s"]) for r in ends] == [pytest.approx(max(TASK_S), abs=1e-6)] * 3
    assert times(rows, "round_start") == pytest.approx([0.0, 6.02, 12.04], abs=1e-6)
    assert times(rows, "round_end") == pytest.approx([6.02, 12.04, 18.06], abs=1e-6)
    assert [r["model_version"] for r in rows_of(rows, "round_start")] == ["0", "1", "2"]
    assert [(c[0], c[1], c[2]) for c in owner.closes] == [
        (1, 0, ["d-0", "d-1", "d-2"]), (2, 1, ["d-0", "d-1", "d-2"]), (3, 2, ["d-0", "d-1", "d-2"])
    ]
    applied = rows_of(rows, "update_applied")
    assert len(applied) == 9 and {r["staleness"] for r in applied} == {"0"}
    assert {r["bytes"] for r in applied} == {"500000"}
    assert rows_of(rows, "update_discarded") == []
    assert server.stopped.triggered and server.version == 3 and server.round == 3
    assert env.now == pytest.approx(18.06)


def test_every_device_finishes_at_its_own_analytic_time(tmp_path):
    settings = RoundRules(clients_per_round=3, min_clients=3)
    _, _, rows, _ = simulate(tmp_path, settings, stop_after=1)
    arrivals = {r["device"]: float(r["sim_time_s"]) for r in rows_of(rows, "upload_end")}
    assert arrivals == {"d-0": pytest.approx(3.02), "d-1": pytest.approx(4.02), "d-2": pytest.approx(6.02)}


def test_over_selection_closes_at_the_nth_arrival_and_discards_the_rest(tmp_path):
    # 2 wanted, ceil(2 * 1.5) = 3 selected: the round closes when d-1 arrives (4.02 s); d-2's
    # update at 6.02 s is discarded. Round 2 starts at once with the two ready devices.
    settings = RoundRules(clients_per_round=2, min_clients=2, over_selection=0.5)
    server, owner, rows, _ = simulate(tmp_path, settings, stop_after=2)
    assert [r["device"] for r in rows_of(rows, "selected") if r["round"] == "1"] == ["d-0", "d-1", "d-2"]
    assert [r["device"] for r in rows_of(rows, "selected") if r["round"] == "2"] == ["d-0", "d-1"]
    assert times(rows, "round_end") == pytest.approx([4.02, 8.04], abs=1e-6)
    assert [float(r["duration_s"]) for r in rows_of(rows, "round_end")] == pytest.approx([4.02, 4.02], abs=1e-6)
    discarded = rows_of(rows, "update_discarded")
    assert [(r["device"], float(r["sim_time_s"]), r["round"], r["model_version"]) for r in discarded] == [
        ("d-2", pytest.approx(6.02), "1", "0")
    ]
    assert [c[2] for c in owner.closes] == [["d-0", "d-1"], ["d-0", "d-1"]]
    assert server.version == 2


def test_deadline_discards_the_slow_device(tmp_path):
    # Deadline 5 s: d-0 and d-1 are in; the round closes at 5 s; d-2 arrives at 6.02 and is
    # discarded. Round 2 needs all three ready, so it waits for d-2 and starts at 6.02.
    settings = RoundRules(clients_per_round=3, min_clients=3, deadline_s=5.0)
    server, owner, rows, _ = simulate(tmp_path, settings, stop_after=2)
    assert times(rows, "round_end") == pytest.approx([5.0, 11.02], abs=1e-6)
    assert times(rows, "round_start") == pytest.approx([0.0, 6.02], abs=1e-6)
    assert [c[2] for c in owner.closes] == [["d-0", "d-1"], ["d-0", "d-1"]]
    assert [(r["device"], float(r["sim_time_s"]), r["round"]) for r in rows_of(rows, "update_discarded")] == [
        ("d-2", pytest.approx(6.02), "1")
    ]
    assert server.version == 2


def test_version_advances_only_when_updates_are_accepted(tmp_path):
    # Deadline 2 s: nobody arrives (fastest is 3.02 s), so the version stays 0 for round 2.
    settings = RoundRules(clients_per_round=3, min_clients=3, deadline_s=2.0)
    server, owner, rows, _ = simulate(tmp_path, settings, stop_after=2)
    assert [(c[0], c[1], c[2]) for c in owner.closes] == [(1, 0, []), (2, 0, [])]
    assert [r["model_version"] for r in rows_of(rows, "round_start")] == ["0", "0"]
    assert times(rows, "round_end") == pytest.approx([2.0, 8.02], abs=1e-6)
    assert rows_of(rows, "update_applied") == []
    # round 1's three late updates (round 2's would arrive after the run stopped at 8.02 s)
    assert [(r["device"], r["round"]) for r in rows_of(rows, "update_discarded")] == [
        ("d-0", "1"), ("d-1", "1"), ("d-2", "1")
    ]
    assert server.version == 0


def test_partial_acceptance_advances_the_version_once(tmp_path):
    # Deadline 3.5 s: only d-0 (3.02 s) is in -> version 1 for round 2.
    settings = RoundRules(clients_per_round=3, min_clients=3, deadline_s=3.5)
    server, owner, rows, _ = simulate(tmp_path, settings, stop_after=2)
    assert [(c[0], c[1], c[2]) for c in owner.closes] == [(1, 0, ["d-0"]), (2, 1, ["d-0"])]
    assert [r["model_version"] for r in rows_of(rows, "round_start")] == ["0", "1"]
    assert server.version == 2


def test_stopped_fires_when_the_owner_says_so(tmp_path):
    settings = RoundRules(clients_per_round=3, min_clients=3)
    server, owner, rows, env = simulate(tmp_path, settings, stop_after=2)
    assert server.stopped.triggered
    assert len(owner.closes) == 2 and server.round == 2
    assert len(rows_of(rows, "round_start")) == 2
    assert env.now == pytest.approx(12.04)


def test_ineligible_devices_are_never_selected(tmp_path):
    settings = RoundRules(clients_per_round=2, min_clients=2)
    owner = StubOwner(stop_after=2, eligible=lambda client: client != 0)
    _, owner, rows, _ = simulate(tmp_path, settings, stop_after=2, owner=owner)
    assert {r["device"] for r in rows_of(rows, "selected")} == {"d-1", "d-2"}
    assert times(rows, "round_end") == pytest.approx([6.02, 12.04], abs=1e-6)


def test_wait_ready_holds_the_round_until_windows_open(tmp_path):
    # Local time 06:00 at t=0. d-0 opens at 07:00 (1 h), d-1 and d-2 at 09:00 (3 h). A round
    # needing 2 ready devices cannot start before 3 h.
    settings = RoundRules(clients_per_round=2, min_clients=2)
    rng = np.random.default_rng(0)
    availability = [
        WindowAvailability(windows=[(7, 20)]).changes(rng, 6.0),
        WindowAvailability(windows=[(9, 20)]).changes(rng, 6.0),
        WindowAvailability(windows=[(9, 20)]).changes(rng, 6.0),
    ]
    _, owner, rows, _ = simulate(tmp_path, settings, stop_after=1,
                                 availability=availability)
    assert [(r["device"], float(r["sim_time_s"])) for r in rows_of(rows, "available")] == [
        ("d-0", 1 * HOUR), ("d-1", 3 * HOUR), ("d-2", 3 * HOUR)
    ]
    assert times(rows, "round_start") == [3 * HOUR]
    assert len(rows_of(rows, "selected")) == 2
    assert owner.closes[0][3] > 3 * HOUR


def test_wait_ready_with_min_clients_equal_to_fleet(tmp_path):
    settings = RoundRules(clients_per_round=3, min_clients=3)
    rng = np.random.default_rng(0)
    availability = [WindowAvailability(windows=[(h, 20)]).changes(rng, 6.0) for h in (7, 8, 10)]
    _, _, rows, _ = simulate(tmp_path, settings, stop_after=1,
                             availability=availability)
    assert times(rows, "round_start") == [4 * HOUR]
    assert times(rows, "round_end") == pytest.approx([4 * HOUR + 6.02], abs=1e-6)


def test_a_task_that_raises_ends_the_run_with_its_own_error(tmp_path, monkeypatch):
    """The round's callback once read the failed task's exception as a result (an AttributeError instead)."""
    def broken(self, device, plan):
        yield self.env.timeout(1)
        raise RuntimeError("the task's own error")

    monkeypatch.setattr(TaskRunner, "run", broken)
    with pytest.raises(RuntimeError, match="the task's own error"):
        simulate(tmp_path, RoundRules(clients_per_round=2, min_clients=2), stop_after=1)
