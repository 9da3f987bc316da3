"""Archiving a sweep (analysis/archive_sweep.py) keeps every finished run's tables, byte for byte, and no more."""

from __future__ import annotations

import gzip
import shutil

import pytest

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


def test_archive_refuses_to_drop_finished_runs_a_fresh_sweep_has_not_finished(tmp_path):
    archived, fresh = tmp_path / "archived", tmp_path / "fresh"
    write_run(tmp_path / "first", "run-000", {1: 0.5}, name="table2")
    write_sweep(tmp_path / "first", [{"variant": 0, "run_dir": "run-000", "status": "completed"},
                                     {"variant": 1, "run_dir": "run-001", "status": "pending"}])
    archive(tmp_path / "first", archived)
    before = {p.relative_to(archived): p.read_bytes() for p in archived.rglob("*") if p.is_file()}

    # the same sweep begun afresh elsewhere: run-000 not run there, run-001 finished
    write_run(fresh, "run-001", {1: 0.7}, name="table2")
    write_sweep(fresh, [{"variant": 0, "run_dir": "run-000", "status": "pending"},
                        {"variant": 1, "run_dir": "run-001", "status": "completed"}])
    with pytest.raises(ValueError, match=r"run-000.*--resume"):
        archive(fresh, archived)
    assert {p.relative_to(archived): p.read_bytes() for p in archived.rglob("*") if p.is_file()} == before

    # continued from the archive, as the message says, it archives
    shutil.copytree(archived / "run-000", fresh / "run-000")
    write_sweep(fresh, [{"variant": 0, "run_dir": "run-000", "status": "completed"},
                        {"variant": 1, "run_dir": "run-001", "status": "completed"}])
    assert archive(fresh, archived) == ["run-000", "run-001"]


def test_archive_refuses_a_failed_run_over_a_completed_one_and_a_finished_run_without_its_folder(tmp_path):
    sweep_dir, archived = tmp_path / "sweep", tmp_path / "archived"
    write_run(sweep_dir, "run-000", {1: 0.5})
    write_sweep(sweep_dir, [{"variant": 0, "run_dir": "run-000", "status": "completed"}])
    archive(sweep_dir, archived)

    write_sweep(sweep_dir, [{"variant": 0, "run_dir": "run-000", "status": "failed"}])
    with pytest.raises(ValueError, match=r"not finished or completed \(run-000\)"):
        archive(sweep_dir, archived)

    write_sweep(sweep_dir, [{"variant": 0, "run_dir": "run-000", "status": "completed"},
                            {"variant": 1, "run_dir": "run-001", "status": "completed"}])
    with pytest.raises(ValueError, match=r"finished runs without a folder \(run-001\)"):
        archive(sweep_dir, archived)
    assert "run-001" not in (archived / "sweep.csv").read_text()


def test_archive_refuses_another_sweeps_runs_under_the_same_names(tmp_path):
    archived = tmp_path / "archived"
    write_run(tmp_path / "table", "run-000", {1: 0.5})
    write_sweep(tmp_path / "table", [{"variant": 0, "run_dir": "run-000", "status": "completed"}])
    archive(tmp_path / "table", archived)
    before = {p.relative_to(archived): p.read_bytes() for p in archived.rglob("*") if p.is_file()}

    write_run(tmp_path / "other", "run-000", {1: 0.9}, algorithm={"name": "fedprox"})
    write_sweep(tmp_path / "other", [{"variant": 0, "run_dir": "run-000", "status": "completed"}])
    with pytest.raises(ValueError, match=r"another scenario under the same names \(run-000\)"):
        archive(tmp_path / "other", archived)
    assert {p.relative_to(archived): p.read_bytes() for p in archived.rglob("*") if p.is_file()} == before


def test_archive_refuses_a_sweep_of_another_scenario_before_advising_to_merge_them(tmp_path):
    archived = tmp_path / "archived"
    write_run(tmp_path / "table2", "run-000", {1: 0.5}, name="mpt_fl_mnist")
    write_sweep(tmp_path / "table2", [{"variant": 0, "run_dir": "run-000", "status": "completed"}])
    archive(tmp_path / "table2", archived)
    # a Fig. 1 sweep whose first run has begun: its folders' names are Table 2's, its scenario is not
    write_run(tmp_path / "sparsity", "run-000", {1: 0.4}, name="mpt_fl_sparsity")
    write_sweep(tmp_path / "sparsity", [{"variant": 0, "run_dir": "run-000", "status": "interrupted"}])
    with pytest.raises(ValueError, match=r"archived holds runs of scenario mpt_fl_mnist, .*sparsity of "
                                         r"mpt_fl_sparsity: archive this sweep into its own folder"):
        archive(tmp_path / "sparsity", archived)
