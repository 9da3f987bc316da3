"""Buffered asynchronous server (FedBuff's protocol) with fixed task times: clients never wait, the buffer is
aggregated the instant it holds K, staleness, concurrency and the random draw of who starts.

Cycles of d-0, d-1, d-2 take 3.02, 4.02 and 6.02 s (``sim_fixtures.SPEEDS``), and each restarts the instant
its upload ends.
"""

import numpy as np
import pytest

from edgesim.sim.protocols.buffered import BufferedServer
from sim_fixtures import RecordingOwner, rows_of, run_protocol


def simulate(tmp_path, owner, concurrency=None, seed=0, **kwargs):
    return run_protocol(tmp_path, owner, lambda env, fleet, tasks, log: BufferedServer(
        env, fleet, tasks, log, owner, concurrency, np.random.default_rng(seed), owner.k), **kwargs)


def starts(rows, device):
    return [(round(float(r["sim_time_s"]), 6), int(r["model_version"])) for r in rows_of(rows, "download_start", device)]


def test_clients_restart_at_once_and_the_buffer_is_aggregated_when_it_holds_k(tmp_path):
    owner = RecordingOwner(stop_after=3, k=2)
    server, rows, env = simulate(tmp_path, owner)
    assert owner.calls == [
        (1, 0, 4.02, [("d-0", 0, 0), ("d-1", 0, 0)]),  # d-0 arrived at 3.02 and trained on at once
        (2, 1, 6.04, [("d-2", 0, 1), ("d-0", 0, 1)]),  # d-0's second cycle began at 3.02, still on version 0
        (3, 2, 9.06, [("d-1", 1, 1), ("d-0", 2, 0)]),  # d-1 from 4.02 on version 1; d-0 from 6.04 on 2
    ]
    assert starts(rows, "d-0")[:3] == [(0.0, 0), (3.02, 0), (6.04, 2)]  # no idle wait between cycles
    # the client that completed the buffer trains on the model its upload helped make
    assert starts(rows, "d-1")[:2] == [(0.0, 0), (4.02, 1)]
    assert server.version == 3 and env.now == pytest.approx(9.06)
    assert owner.oldest[:2] == [0, 0]  # d-2 still trains on version 0 at both aggregations


def test_k_follows_the_owners_decisions_and_is_capped_at_the_participants(tmp_path):
    owner = RecordingOwner(stop_after=3, k=1, next_k={1: 5})
    server, _, _ = simulate(tmp_path, owner)
    assert [len(call[3]) for call in owner.calls] == [1, 3, 3]
    assert server.k == 3


def test_concurrency_keeps_at_most_that_many_clients_training(tmp_path):
    owner = RecordingOwner(stop_after=12, k=1)
    _, rows, _ = simulate(tmp_path, owner, concurrency=2)
    edges = sorted([(float(r["sim_time_s"]), +1) for r in rows_of(rows, "download_start")]
                   + [(float(r["sim_time_s"]), -1) for r in rows_of(rows, "upload_end")], key=lambda e: (e[0], e[1]))
    training, most = 0, 0
    for _, change in edges:
        training += change
        most = max(most, training)
    assert most == 2
    assert {r["device"] for r in rows_of(rows, "download_start")} == {"d-0", "d-1", "d-2"}


def test_who_starts_when_more_are_ready_than_slots_is_drawn_from_the_servers_stream(tmp_path):
    firsts = set()
    for seed in range(8):
        owner = RecordingOwner(stop_after=1, k=1)
        _, rows, _ = simulate(tmp_path, owner, concurrency=1, seed=seed)
        firsts.add(rows_of(rows, "download_start")[0]["device"])
        again, rows_again, _ = simulate(tmp_path, RecordingOwner(stop_after=1, k=1), concurrency=1, seed=seed)
        assert rows_of(rows_again, "download_start")[0]["device"] == rows_of(rows, "download_start")[0]["device"]
    assert len(firsts) > 1


def test_a_device_that_cannot_take_part_never_trains_and_k_zero_is_refused(tmp_path):
    owner = RecordingOwner(stop_after=2, accepts=lambda client: client != 0)
    _, rows, _ = simulate(tmp_path, owner)
    assert not rows_of(rows, "download_start", "d-0")
    with pytest.raises(ValueError, match="K must be >= 1"):
        simulate(tmp_path, RecordingOwner(stop_after=1, k=0))
