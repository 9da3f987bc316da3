"""Semi-synchronous (periodic) server with fixed task times: every period aggregates whatever arrived in it, stale
or not; empty periods still count; clients never wait.

Cycles of d-0, d-1, d-2 take 3.02, 4.02 and 6.02 s (``sim_fixtures.SPEEDS``), and each restarts the instant
its upload ends.
"""

import numpy as np
import pytest

from edgesim.scenario import validate
from edgesim.sim.protocols.periodic import PeriodicProtocol, PeriodicServer
from sim_fixtures import RecordingOwner, rows_of, run_protocol


def simulate(tmp_path, owner, period_s, concurrency=None, **kwargs):
    return run_protocol(tmp_path, owner, lambda env, fleet, tasks, log: PeriodicServer(
        env, fleet, tasks, log, owner, concurrency, np.random.default_rng(0), period_s), **kwargs)


def test_each_period_folds_in_what_arrived_during_it_with_its_staleness(tmp_path):
    owner = RecordingOwner(stop_after=2)
    server, rows, env = simulate(tmp_path, owner, period_s=5.0)
    assert owner.calls == [
        (1, 0, 5.0, [("d-0", 0, 0), ("d-1", 0, 0)]),  # arrived at 3.02 and 4.02
        # 6.02 d-2 (from 0), 6.04 d-0 (second cycle, from 0), 8.04 d-1 (from 0, started 4.02), 9.06 d-0 (from 1)
        (2, 1, 10.0, [("d-2", 0, 1), ("d-0", 0, 1), ("d-1", 0, 1), ("d-0", 1, 0)]),
    ]
    assert owner.oldest == [0, 0]
    assert server.version == 2 and env.now == pytest.approx(10.0)
    applied = rows_of(rows, "update_applied")
    assert [(r["device"], r["round"], r["staleness"]) for r in applied[:2]] == [("d-0", "1", "0"), ("d-1", "1", "0")]
    assert [float(r["duration_s"]) for r in rows_of(rows, "aggregate")] == pytest.approx([5.0, 5.0])


def test_a_period_in_which_nothing_arrived_leaves_the_version_but_counts(tmp_path):
    owner = RecordingOwner(stop_after=4)
    server, rows, _ = simulate(tmp_path, owner, period_s=1.0)
    assert [(call[0], call[1], call[3]) for call in owner.calls] == [
        (1, 0, []), (2, 0, []), (3, 0, []), (4, 0, [("d-0", 0, 0)])]
    assert server.version == 1 and len(rows_of(rows, "aggregate")) == 1


def test_concurrency_limits_the_clients_training_at_once(tmp_path):
    owner = RecordingOwner(stop_after=3)
    _, rows, _ = simulate(tmp_path, owner, period_s=5.0, concurrency=1)
    starts = [(r["device"], float(r["sim_time_s"])) for r in rows_of(rows, "download_start")]
    ends = [float(r["sim_time_s"]) for r in rows_of(rows, "upload_end")]
    assert all(start >= end - 1e-9 for (_, start), end in zip(starts[1:], ends))  # one after another


def test_the_period_is_a_duration_with_units_and_must_be_positive():
    assert PeriodicProtocol(period_s="2m").period_s == 120.0
    scenario = validate({"name": "p", "fleet": {"groups": [{"name": "a", "profile": "laptop", "count": 2,
                                                           "network": "wifi5"}]},
                         "dataset": {"name": "synthetic"}, "algorithm": {"name": "fedbuff"},
                         "server": {"protocol": {"kind": "periodic", "period_s": "30s"}}})
    assert scenario.server.protocol == PeriodicProtocol(period_s=30.0)
    with pytest.raises(ValueError):
        PeriodicProtocol(period_s=0)


def test_a_client_that_trains_again_on_an_unchanged_model_gets_a_fresh_repeat(tmp_path):
    seen = []

    class Recording(RecordingOwner):
        def aggregate(self, round, version, arrivals, oldest_held_version, now):
            seen.extend((f"d-{a.client}", a.base_version, a.repeat) for a in arrivals)
            return super().aggregate(round, version, arrivals, oldest_held_version, now)

    simulate(tmp_path, Recording(stop_after=2), period_s=7.0)
    # the first period: d-0's second cycle (from 3.02 to 6.04) was again on version 0; the second period: its
    # third (from 6.04), d-1's second and d-2's second too, then the first cycles on version 1
    assert seen == [("d-0", 0, 0), ("d-1", 0, 0), ("d-2", 0, 0), ("d-0", 0, 1),
                    ("d-1", 0, 1), ("d-0", 0, 2), ("d-2", 0, 1), ("d-1", 1, 0), ("d-0", 1, 0)]
