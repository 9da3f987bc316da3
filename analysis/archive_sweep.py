"""Copy a sweep's small tables into the repository, so a report can be rebuilt from committed files.

Usage:
    python analysis/archive_sweep.py SWEEP_DIR DEST

Copies ``sweep.csv`` (with ``summary.csv``, ``summary.md`` and ``labels.json``
when the sweep has them) and, for every run that has finished (any status but
``pending``/``running``/``interrupted``), its ``summary.json``,
``scenario.yaml`` and ``metrics.csv`` (gzipped, as ``metrics.csv.gz``, which
``edgesim plot`` and ``sweep_frames`` read in its place; a run already holding only the gzipped file is
copied as it is). Event logs and checkpoints stay behind: they are large and the reports
only need them for the staleness histograms, which are committed as figures.
Running it again refreshes DEST with the runs finished since. It refuses (and copies nothing) where
DEST holds a finished run that SWEEP_DIR's table does not list as finished, or a completed one it lists
otherwise (a sweep started afresh on another machine): copy DEST into SWEEP_DIR first
(``cp -r DEST/. SWEEP_DIR/``) and continue the sweep there with ``--resume``. It also refuses where DEST
holds runs of another scenario (by its ``name:``), where a run the table lists as finished has no folder,
and where a run finished in both ran another scenario in each (another sweep's runs would take its
folders' names).
"""

from __future__ import annotations

import argparse
import gzip
import shutil
from pathlib import Path

import pandas as pd

from edgesim.contract import ARCHIVED_METRICS_FILE, METRICS_FILE, SCENARIO_FILE, SUMMARY_FILE
from sweep_frames import scenario_names

UNFINISHED = {"pending", "running", "interrupted"}
SWEEP_TABLES = ("sweep.csv", "summary.csv", "summary.md", "labels.json")


def archive(sweep_dir: Path, dest: Path) -> list[str]:
    """Copy what a finished run left into ``dest``; returns the run directories copied.

    Raises ``ValueError`` (before copying anything) where ``dest`` holds runs of another scenario (by name),
    where it holds finished runs that ``sweep_dir``'s
    ``sweep.csv`` does not list as finished, or completed ones it lists otherwise (archiving would replace
    their rows), where a run the table lists as finished has no folder, or where a run finished in both has
    another ``scenario.yaml`` in each; ``OSError`` where ``sweep_dir`` has no readable ``sweep.csv``."""
    table = pd.read_csv(sweep_dir / "sweep.csv")
    ours, theirs = scenario_names(sweep_dir), scenario_names(dest)
    if ours and theirs and ours != theirs:
        raise ValueError(f"{dest} holds runs of scenario {', '.join(sorted(theirs))}, {sweep_dir} of "
                         f"{', '.join(sorted(ours))}: archive this sweep into its own folder")
    kept, given = _statuses(dest / "sweep.csv"), dict(zip(table["run_dir"], table["status"]))
    lost = sorted(run for run, status in kept.items() if status not in UNFINISHED and (
        given.get(run, "pending") in UNFINISHED or (status == "completed" and given.get(run) != "completed")))
    if lost:
        raise ValueError(f"{dest} holds runs that {sweep_dir} has not finished or completed ({', '.join(lost)}): "
                         f"archiving would replace them in its tables; copy the archive into the sweep "
                         f"(cp -r {dest}/. {sweep_dir}/) and continue the sweep there with --resume")
    missing = sorted(run for run, status in given.items()
                     if status not in UNFINISHED and not (sweep_dir / run).is_dir())
    if missing:
        raise ValueError(f"{sweep_dir}/sweep.csv lists finished runs without a folder ({', '.join(missing)})")
    other = sorted(run for run, status in given.items() if status not in UNFINISHED
                   and kept.get(run, "pending") not in UNFINISHED
                   and (dest / run / SCENARIO_FILE).read_bytes() != (sweep_dir / run / SCENARIO_FILE).read_bytes())
    if other:
        raise ValueError(f"{dest} holds runs of another scenario under the same names ({', '.join(other)}): "
                         f"archive this sweep into its own folder")
    dest.mkdir(parents=True, exist_ok=True)
    for name in SWEEP_TABLES:
        if (sweep_dir / name).is_file():
            shutil.copyfile(sweep_dir / name, dest / name)
    copied = []
    for _, row in table.iterrows():
        if row["status"] in UNFINISHED:
            continue
        source, target = sweep_dir / row["run_dir"], dest / row["run_dir"]
        target.mkdir(exist_ok=True)
        for name in (SUMMARY_FILE, SCENARIO_FILE):
            shutil.copyfile(source / name, target / name)
        if not (source / METRICS_FILE).is_file():
            shutil.copyfile(source / ARCHIVED_METRICS_FILE, target / ARCHIVED_METRICS_FILE)
            copied.append(row["run_dir"])
            continue
        with open(source / METRICS_FILE, "rb") as plain, gzip.GzipFile(target / ARCHIVED_METRICS_FILE, "wb",
                                                                         mtime=0) as packed:
            shutil.copyfileobj(plain, packed)
        copied.append(row["run_dir"])
    return copied


def _statuses(table: Path) -> dict[str, str]:
    """Each run directory's status in an archived ``sweep.csv`` (none if there is none yet)."""
    if not table.is_file():
        return {}
    rows = pd.read_csv(table)
    return dict(zip(rows["run_dir"], rows["status"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("dest", type=Path)
    args = parser.parse_args()
    try:
        copied = archive(args.sweep_dir, args.dest)
    except (ValueError, OSError, KeyError) as error:  # KeyError: a sweep.csv without its columns
        parser.exit(1, f"archive_sweep.py: {error}\n")
    print(f"{len(copied)} finished runs archived in {args.dest}")


if __name__ == "__main__":
    main()
