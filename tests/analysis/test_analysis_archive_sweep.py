"""Archiving a sweep (analysis/archive_sweep.py) keeps every finished run's tables, byte for byte, and no more."""

from __future__ import annotations

import gzip
import shutil

from archive_sweep import archive
from sweep_dirs import write_run, write_sweep


def test_archive_copies_finished_runs_gzipped_and_leaves_unfinished_ones_behind(tmp_path):
    sweep_dir, dest = tmp_path / "sweep", tmp_path / "archived"
    write_run(sweep_dir, "run-000", {1: 0.5, 2: 0.6})
    write_run(sweep_dir, "run-001", {1: 0.4})
    write_run(sweep_dir, "run-002", None)
    (sweep_dir / "run-001" / "checkpoint").mkdir()
    write_sweep(sweep_dir, [{"variant": 0, "run_dir": "run-000", "status": "completed"},
                            {"variant": 1, "run_dir": "run-001", "status": "interrupted"},
                            {"variant": 2, "run_dir": "run-002", "status": "pending"}])

    assert archive(sweep_dir, dest) == ["run-000"]
    assert sorted(p.name for p in dest.iterdir()) == ["run-000", "sweep.csv"]
    assert sorted(p.name for p in (dest / "run-000").iterdir()) == ["metrics.csv.gz", "scenario.yaml",
                                                                     "summary.json"]
    with gzip.open(dest / "run-000" / "metrics.csv.gz", "rb") as packed:
        assert packed.read() == (sweep_dir / "run-000" / "metrics.csv").read_bytes()
    assert (dest / "sweep.csv").read_bytes() == (sweep_dir / "sweep.csv").read_bytes()


def test_archiving_again_gives_the_same_bytes_and_takes_an_archived_run_as_it_is(tmp_path):
    sweep_dir = tmp_path / "sweep"
    write_run(sweep_dir, "run-000", {1: 0.5})
    write_sweep(sweep_dir, [{"variant": 0, "run_dir": "run-000", "status": "completed"}])
    archive(sweep_dir, tmp_path / "first")
    archive(sweep_dir, tmp_path / "second")
    packed = (tmp_path / "first" / "run-000" / "metrics.csv.gz").read_bytes()
    assert (tmp_path / "second" / "run-000" / "metrics.csv.gz").read_bytes() == packed  # no timestamp inside

    # an archived sweep (only metrics.csv.gz) archives again unchanged
    shutil.rmtree(sweep_dir / "run-000")
    shutil.copytree(tmp_path / "first" / "run-000", sweep_dir / "run-000")
    assert archive(sweep_dir, tmp_path / "third") == ["run-000"]
    assert (tmp_path / "third" / "run-000" / "metrics.csv.gz").read_bytes() == packed
