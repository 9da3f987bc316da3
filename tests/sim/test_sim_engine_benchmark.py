"""The engine benchmark's bare SimPy loop must stay a faithful copy of the simulation layer:
same SimPy events, rounds, accepted updates and failures (not timed here)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
engine = pytest.importorskip("benchmarks.engine")


@pytest.mark.parametrize("devices, days", [(250, 1.0), (600, 0.4)])
def test_bare_loop_processes_the_same_events(tmp_path, devices, days):
    edge = engine.run_edgesim(devices, days, tmp_path)
    bare = engine.run_bare(devices, days)
    for key in ("events", "rounds", "accepted", "failures"):
        assert edge[key] == bare[key], key
    assert edge["rounds"] > 5 and edge["failures"] > 0
    rows = (tmp_path / "events.csv").read_text(encoding="utf-8").count("\n") - 1
    assert rows == edge["rows"]
