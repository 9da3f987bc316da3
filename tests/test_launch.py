"""The entry point's OpenMP setting: passive waiting on a busy machine, short spinning on an idle one, and
whatever the user set left alone."""

from __future__ import annotations

import pytest

from edgesim import launch


@pytest.mark.parametrize("busy, expected", [(2.0, {"OMP_WAIT_POLICY": "PASSIVE"}),
                                            (0.1, {"GOMP_SPINCOUNT": launch.SPIN_COUNT})])
def test_the_wait_policy_follows_the_load(monkeypatch, busy, expected):
    monkeypatch.setattr(launch, "busy_cores", lambda: busy)
    environ = {}
    launch.settle_openmp_waiting(environ)
    assert environ == expected


@pytest.mark.parametrize("users", [{"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "1"}])
def test_the_users_setting_wins(monkeypatch, users):
    monkeypatch.setattr(launch, "busy_cores", lambda: 2.0)
    environ = dict(users)
    launch.settle_openmp_waiting(environ)
    assert environ == users


def test_busy_cores_is_a_share_of_this_machine():
    import os

    assert 0.0 <= launch.busy_cores(0.05) <= (os.cpu_count() or 1) + 0.01
