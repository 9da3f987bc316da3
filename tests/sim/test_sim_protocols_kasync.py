"""K-asynchronous server with fixed task times: buffer order, staleness, adaptive K, remodel, failures.

Every device has 10 ms latency, downloads 1 MB at 8 Mbit/s (1 s), trains 1 GFLOP and uploads
0.5 MB at 4 Mbit/s (1 s). Compute speeds 1, 0.5 and 0.25 GFLOP/s (compute 1, 2, 4 s) make the
cycles of d-0, d-1, d-2 take 0.01 + 1 + {1, 2, 4} + 0.01 + 1 = 3.02, 4.02 and 6.02 s. Within a
cycle the download ends at +1.01 s and the compute at +1.01 + {1, 2, 4} s.
"""

import numpy as np
import pytest
from scipy import stats

from edgesim.sim.failures import TraceFailures
from edgesim.sim.protocols.kasync import KAsyncServer
from edgesim.sim.stragglers import ExponentialStragglers
from edgesim.sim.task import TaskRunner
from edgesim.work import TaskCost
from sim_fixtures import RecordingOwner, make_device, rows_of, run_protocol


def simulate(tmp_path, owner, **kwargs):
    return run_protocol(tmp_path, owner, lambda env, fleet, tasks, log: KAsyncServer(env, fleet, tasks, log, owner,
                                                                                     owner.k), **kwargs)


def starts(rows, device):
    """(time, model_version) of each cycle the device started."""
    return [(round(float(r["sim_time_s"]), 6), int(r["model_version"])) for r in rows_of(rows, "download_start", device)]


def test_k1_schedule_versions_and_staleness(tmp_path):
    # d-0 cycles 0-3.02 (v0), 3.02-6.04 (v1), 6.04-9.06 (v4); d-1 0-4.02 (v0), 4.02-8.04 (v2);
    # d-2 0-6.02 (v0), 6.02-12.04 (v3). Staleness = version at aggregation - base version.
    owner = RecordingOwner(stop_after=7)
    server, rows, env = simulate(tmp_path, owner)
    assert owner.calls == [
        (1, 0, 3.02, [("d-0", 0, 0)]),
        (2, 1, 4.02, [("d-1", 0, 1)]),
        (3, 2, 6.02, [("d-2", 0, 2)]),
        (4, 3, 6.04, [("d-0", 1, 2)]),
        (5, 4, 8.04, [("d-1", 2, 2)]),
        (6, 5, 9.06, [("d-0", 4, 1)]),
        (7, 6, 12.04, [("d-2", 3, 3)]),
    ]
    applied = rows_of(rows, "update_applied")
    assert [(r["device"], r["round"], r["model_version"], r["staleness"], r["bytes"]) for r in applied] == [
        ("d-0", "1", "0", "0", "500000"), ("d-1", "2", "0", "1", "500000"), ("d-2", "3", "0", "2", "500000"),
        ("d-0", "4", "1", "2", "500000"), ("d-1", "5", "2", "2", "500000"), ("d-0", "6", "4", "1", "500000"),
        ("d-2", "7", "3", "3", "500000"),
    ]
    aggregates = rows_of(rows, "aggregate", "server")
    assert [(r["round"], r["model_version"]) for r in aggregates] == [(str(i), str(i)) for i in range(1, 8)]
    assert [float(r["duration_s"]) for r in aggregates] == pytest.approx(
        [3.02, 1.0, 2.0, 0.02, 2.0, 1.02, 2.98], abs=1e-6)
    assert starts(rows, "d-0") == [(0.0, 0), (3.02, 1), (6.04, 4), (9.06, 6)]
    assert starts(rows, "d-1") == [(0.0, 0), (4.02, 2), (8.04, 5)]
    assert starts(rows, "d-2") == [(0.0, 0), (6.02, 3)]
    # a task row's round is the iteration under way when the cycle started
    assert [r["round"] for r in rows_of(rows, "download_start", "d-0")] == ["1", "2", "5", "7"]
    assert rows_of(rows, "update_discarded") == [] and rows_of(rows, "remodel") == []
    assert server.version == 7 and server.iteration == 7 and env.now == pytest.approx(12.04)
    assert server.model_version_of == {"d-0": 6, "d-1": 5, "d-2": 3}
    assert len(server.buffer) == 0


def test_k2_first_aggregation_at_the_second_arrival(tmp_path):
    # d-0 arrives 3.02 and idles; d-1 arrives 4.02 -> iteration 1 with both; only they get v1.
    # d-2 keeps computing on v0 (arrives 6.02) and is applied with d-0's second update (4.02 + 3.02
    # = 7.04) at version 1: staleness 1. Then d-1 (v1, 8.04) and d-0 (v2, 7.04 + 3.02 = 10.06).
    owner = RecordingOwner(stop_after=3, k=2)
    server, rows, _ = simulate(tmp_path, owner)
    assert owner.calls == [
        (1, 0, 4.02, [("d-0", 0, 0), ("d-1", 0, 0)]),
        (2, 1, 7.04, [("d-2", 0, 1), ("d-0", 1, 0)]),
        (3, 2, 10.06, [("d-1", 1, 1), ("d-0", 2, 0)]),
    ]
    assert starts(rows, "d-0") == [(0.0, 0), (4.02, 1), (7.04, 2)]
    assert starts(rows, "d-1") == [(0.0, 0), (4.02, 1)]
    assert starts(rows, "d-2") == [(0.0, 0), (7.04, 2)]
    # d-0 held its v0 update idle from 3.02 to 4.02
    assert [round(float(r["sim_time_s"]), 6) for r in rows_of(rows, "upload_end", "d-0")] == [3.02, 7.04, 10.06]
    assert server.version == 3 and server.k == 2


def test_next_k_sets_k_for_the_next_iteration(tmp_path):
    # K=1: d-0 alone at 3.02. Then K=3: d-1 (4.02, v0), d-2 (6.02, v0), d-0 (6.04, v1) at
    # version 1. Then K=1: all restart at 6.04 on v2; d-0 first at 9.06.
    owner = RecordingOwner(stop_after=3, k=1, next_k={1: 3, 2: 1})
    server, rows, _ = simulate(tmp_path, owner)
    assert owner.calls == [
        (1, 0, 3.02, [("d-0", 0, 0)]),
        (2, 1, 6.04, [("d-1", 0, 1), ("d-2", 0, 1), ("d-0", 1, 0)]),
        (3, 2, 9.06, [("d-0", 2, 0)]),
    ]
    assert server.k == 1
    assert [len(rows_of(rows, "update_applied", d)) for d in ("d-0", "d-1", "d-2")] == [3, 1, 1]


def test_remodel_interrupts_a_stale_device_mid_compute(tmp_path):
    # Threshold 2 at every iteration: remodel devices whose model is >= 3 versions old.
    # Up to 8.04 as in the K=1 schedule; d-2 restarted at 6.02 on v3 (compute 7.03-11.03).
    # 9.06: d-0 (v4) -> version 6; d-2 holds v3: staleness 3 > 2 -> remodelled, its compute
    # is interrupted after 2.03 s and it restarts on v6 (arrives 9.06 + 6.02 = 15.08).
    # 12.06: d-1 (v5) -> 7; 12.08: d-0 (v6) -> 8; 15.08: d-2 (v6) at version 8: staleness 2
    # (without remodel it would have arrived at 12.04 with staleness 3).
    owner = RecordingOwner(stop_after=9, remodel=lambda iteration: 2)
    server, rows, _ = simulate(tmp_path, owner)
    assert owner.calls == [
        (1, 0, 3.02, [("d-0", 0, 0)]),
        (2, 1, 4.02, [("d-1", 0, 1)]),
        (3, 2, 6.02, [("d-2", 0, 2)]),
        (4, 3, 6.04, [("d-0", 1, 2)]),
        (5, 4, 8.04, [("d-1", 2, 2)]),
        (6, 5, 9.06, [("d-0", 4, 1)]),
        (7, 6, 12.06, [("d-1", 5, 1)]),
        (8, 7, 12.08, [("d-0", 6, 1)]),
        (9, 8, 15.08, [("d-2", 6, 2)]),
    ]
    remodels = rows_of(rows, "remodel")
    assert [(r["device"], round(float(r["sim_time_s"]), 6), r["round"], r["model_version"], r["staleness"])
            for r in remodels] == [("d-2", 9.06, "6", "6", "3")]
    interrupted = rows_of(rows, "compute_interrupted")
    assert [(r["device"], round(float(r["sim_time_s"]), 6), r["model_version"]) for r in interrupted] == [
        ("d-2", 9.06, "3")]
    assert float(interrupted[0]["duration_s"]) == pytest.approx(2.03, abs=1e-6)
    assert starts(rows, "d-2") == [(0.0, 0), (6.02, 3), (9.06, 6)]
    kinds = [r["kind"] for r in rows if r["device"] == "d-2" and float(r["sim_time_s"]) == pytest.approx(9.06)]
    assert kinds == ["remodel", "compute_interrupted", "download_start"]
    assert rows_of(rows, "update_discarded") == []


def test_remodel_discards_an_arrival_waiting_in_the_buffer(tmp_path):
    # Two identical 3.02 s devices arrive together at 3.02, d-0 first (start order). K=1: d-0's
    # update makes version 1; d-1's v0 update waits in the buffer with staleness 1 > 0 and is
    # discarded (remodel at iteration 1 only); d-1 restarts on v1. At 6.04 both arrive again:
    # d-0 (v1) -> version 2, then at the same instant d-1 (v1) at version 2: staleness 1.
    owner = RecordingOwner(stop_after=3, remodel=lambda iteration: 0 if iteration == 1 else None)
    server, rows, _ = simulate(tmp_path, owner, speeds=[1e9, 1e9])
    assert owner.calls == [
        (1, 0, 3.02, [("d-0", 0, 0)]),
        (2, 1, 6.04, [("d-0", 1, 0)]),
        (3, 2, 6.04, [("d-1", 1, 1)]),
    ]
    discarded = rows_of(rows, "update_discarded")
    assert [(r["device"], round(float(r["sim_time_s"]), 6), r["round"], r["model_version"], r["staleness"],
             r["bytes"]) for r in discarded] == [("d-1", 3.02, "1", "0", "1", "500000")]
    assert [(r["device"], r["round"], r["model_version"], r["staleness"]) for r in rows_of(rows, "remodel")] == [
        ("d-1", "1", "1", "1")]
    assert [r for r in rows if r["kind"].endswith("_interrupted")] == []
    assert starts(rows, "d-1") == [(0.0, 0), (3.02, 1)]  # iteration 3 stops the run
    assert starts(rows, "d-0") == [(0.0, 0), (3.02, 1), (6.04, 2)]
    assert server.version == 3 and len(server.buffer) == 0


def test_failure_interrupts_a_cycle_and_the_device_restarts_on_the_current_version(tmp_path):
    # d-2 fails at 2 s (mid-compute, started 1.01) for 5 s. It restarts at 7 s on version 3
    # (3.02 d-0 -> 1, 4.02 d-1 -> 2, 6.04 d-0 -> 3) and arrives at 13.02, after 8.04 d-1 -> 4,
    # 9.06 d-0 -> 5, 12.06 d-1 -> 6, 12.08 d-0 -> 7: staleness 7 - 3 = 4.
    failures = TraceFailures.model_validate({"kind": "trace", "outages": [
        {"device": "d-2", "at_s": 2.0, "duration_s": 5.0}]})
    owner = RecordingOwner(stop_after=8)
    server, rows, _ = simulate(tmp_path, owner, failures=failures)
    interrupted = rows_of(rows, "compute_interrupted")
    assert [(r["device"], round(float(r["sim_time_s"]), 6)) for r in interrupted] == [("d-2", 2.0)]
    assert float(interrupted[0]["duration_s"]) == pytest.approx(0.99, abs=1e-6)
    assert starts(rows, "d-2") == [(0.0, 0), (7.0, 3)]
    assert owner.calls[-1] == (8, 7, 13.02, [("d-2", 3, 4)])
    assert [c[2] for c in owner.calls] == [3.02, 4.02, 6.04, 8.04, 9.06, 12.06, 12.08, 13.02]
    assert rows_of(rows, "remodel") == []


def test_failure_while_waiting_in_the_buffer_keeps_the_arrival(tmp_path):
    # K=2: d-0's update arrives at 3.02; d-0 fails at 3.5 for 2 s while idle. d-1 arrives at 4.02:
    # d-0's update is aggregated anyway, but d-0 is down, so it restarts on v1 at recovery (5.5)
    # and arrives at 8.52. d-2 (v0, 6.02) goes with d-1 (v1, 4.02 + 4.02 = 8.04).
    failures = TraceFailures.model_validate({"kind": "trace", "outages": [
        {"device": "d-0", "at_s": 3.5, "duration_s": 2.0}]})
    owner = RecordingOwner(stop_after=2, k=2)
    server, rows, _ = simulate(tmp_path, owner, failures=failures)
    assert owner.calls == [
        (1, 0, 4.02, [("d-0", 0, 0), ("d-1", 0, 0)]),
        (2, 1, 8.04, [("d-2", 0, 1), ("d-1", 1, 0)]),
    ]
    assert [r for r in rows if r["kind"].endswith("_interrupted")] == []
    assert starts(rows, "d-0") == [(0.0, 0), (5.5, 1)]
    assert server.model_version_of["d-0"] == 1


def test_a_device_not_ready_at_time_zero_starts_when_it_becomes_ready(tmp_path):
    # d-2 is unavailable until 5 s: it starts on version 2 (d-0 at 3.02, d-1 at 4.02).
    availability = [iter([(0.0, True)]), iter([(0.0, True)]), iter([(0.0, False), (5.0, True)])]
    owner = RecordingOwner(stop_after=3)
    server, rows, _ = simulate(tmp_path, owner, availability=availability)
    assert starts(rows, "d-2") == [(5.0, 2)]
    assert owner.calls[-1] == (3, 2, 6.04, [("d-0", 1, 1)])


def test_stop_ends_the_simulation(tmp_path):
    owner = RecordingOwner(stop_after=2)
    server, rows, env = simulate(tmp_path, owner)
    assert server.stopped.triggered
    assert env.now == pytest.approx(4.02)
    assert len(owner.calls) == 2 and server.iteration == 2 and server.version == 2
    assert len(rows_of(rows, "aggregate")) == 2
    # the devices of the last aggregation get no new model
    assert starts(rows, "d-1") == [(0.0, 0)]


def test_ineligible_devices_never_start(tmp_path):
    owner = RecordingOwner(stop_after=2, accepts=lambda client: client != 0)
    server, rows, _ = simulate(tmp_path, owner)
    assert [r for r in rows if r["device"] == "d-0"] == []
    assert owner.calls == [(1, 0, 4.02, [("d-1", 0, 0)]), (2, 1, 6.02, [("d-2", 0, 1)])]
    assert "d-0" not in server.model_version_of


def test_k_beyond_the_participants_is_capped(tmp_path):
    owner = RecordingOwner(stop_after=1, k=5)
    server, _, _ = simulate(tmp_path, owner)
    assert owner.calls == [(1, 0, 6.02, [("d-0", 0, 0), ("d-1", 0, 0), ("d-2", 0, 0)])]
    assert server.k == 3


def test_k_below_one_is_refused(tmp_path):
    with pytest.raises(ValueError, match="K must be >= 1"):
        simulate(tmp_path, RecordingOwner(stop_after=1, k=0))


def test_a_cycle_that_raises_ends_the_run_with_its_own_error(tmp_path, monkeypatch):
    def broken(self, device, plan):
        yield self.env.timeout(1)
        raise RuntimeError("the cycle's own error")

    monkeypatch.setattr(TaskRunner, "run", broken)
    with pytest.raises(RuntimeError, match="the cycle's own error"):
        simulate(tmp_path, RecordingOwner(k=1, stop_after=2))


def test_identical_memoryless_devices_arrive_as_uniformly_random_clients(tmp_path):
    # ALGORITHMS.md §2.7: P identical devices with exponential task times and no communication cost are
    # WKAFL's K random clients per iteration: every device equally likely, mean tau about P / K
    count, k = 20, 2
    devices = [make_device(f"d-{i}", i, latency_ms=0.0, stragglers=ExponentialStragglers(shift=0.0),
                           rng=np.random.default_rng(i)) for i in range(count)]
    owner = RecordingOwner(stop_after=3000, k=k, task_cost=TaskCost(download_bytes=0, flops=1e9, upload_bytes=0,
                                                               footprint_bytes=0))
    simulate(tmp_path, owner, devices=devices)
    assert len(owner.calls) == 3000
    arrivals = [arrival for call in owner.calls[100:] for arrival in call[3]]
    counts = np.bincount([int(device[2:]) for device, _, _ in arrivals], minlength=count)
    assert stats.chisquare(counts).pvalue > 1e-3
    staleness = np.mean([tau for _, _, tau in arrivals])  # version - base; WKAFL's tau is one more
    assert staleness + 1 == pytest.approx(count / k, rel=0.05)
