"""The engine benchmarks' bare SimPy loops must stay faithful copies of the simulation layer: same SimPy
events, rounds, accepted updates and failures, with and without shared cells (not timed here)."""

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS.parent))
sys.path.insert(0, str(BENCHMARKS))
engine = pytest.importorskip("benchmarks.engine")
cells = pytest.importorskip("cells")


@pytest.mark.parametrize("devices, days", [(250, 1.0), (600, 0.4)])
def test_bare_loop_processes_the_same_events(tmp_path, devices, days):
    edge = engine.run_edgesim(devices, days, tmp_path / "events.csv")
    bare = engine.run_bare(devices, days)
    for key in ("events", "rounds", "accepted", "failures"):
        assert edge[key] == bare[key], key
    assert edge["rounds"] > 5 and edge["failures"] > 0
    rows = (tmp_path / "events.csv").read_text(encoding="utf-8").count("\n") - 1
    assert rows == edge["rows"]


@pytest.mark.parametrize("devices, cell_count, days", [(300, 3, 0.5), (500, 25, 0.6)])
def test_bare_loop_behind_shared_cells_processes_the_same_events(devices, cell_count, days):
    edge = engine.run_edgesim(devices, days, None, cells=cell_count)
    bare = engine.run_bare(devices, days, cells=cell_count, sharing=cells.bare_cell_sharing)
    for key in ("events", "rounds", "accepted", "failures"):
        assert edge[key] == bare[key], key
    assert edge["rounds"] > 5 and edge["failures"] > 0
    alone = engine.run_edgesim(devices, days, None)  # the same fleet with no cells: no sharing, no timers
    assert edge["events"] > alone["events"]


def test_the_same_run_writes_equal_event_tables_as_csv_and_parquet(tmp_path):
    import pandas as pd

    from edgesim.plots.data import read_events

    for name in ("csv", "parquet"):
        (tmp_path / name).mkdir()
        engine.run_edgesim(300, 0.5, tmp_path / name / f"events.{name}", cells=3, log_format=name)
    csv, parquet = read_events(tmp_path / "csv"), read_events(tmp_path / "parquet")
    assert len(csv) > 10_000
    pd.testing.assert_frame_equal(parquet, csv)
