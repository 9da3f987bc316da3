"""The run directory, a transaction owned by one process: where a run's files go and how they are written.

Files: ``scenario.yaml`` (the resolved scenario), ``events.csv``, ``metrics.csv``,
``summary.json``, and ``checkpoint/`` while the run can be resumed. Opening
one (``RunDirectory.open``) takes a lock (``flock`` on ``.lock``) that the
operating system releases when the process ends, however it ends, so two
processes never write one directory. Modes:

- ``new``: the directory must be missing or empty;
- ``overwrite``: edgesim's files in it are removed first, by name, whether an
  earlier run or a sweep left them (``owned_files``); other files are left alone;
- ``resume``: it must hold a run's ``scenario.yaml``.

``summary.json`` is strict JSON (non-finite numbers become ``null``), written
atomically, and names the SHA-256 of the ``scenario.yaml`` beside it
(``scenario_sha256``), so a summary is never taken for that of another
scenario. Every failure to create or write is an ``OutputError``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import re
from datetime import datetime
from pathlib import Path

from edgesim.contract import (CHECKPOINT_DIR, EVENTS_FILE, EVENTS_PARQUET_FILE, LABELS_FILE, METRICS_FILE, REPORT_FILE,
                              RUN_FIGURES, SCENARIO_FILE, SUMMARY_FILE, SWEEP_FIGURES, SWEEP_FILE, SWEEP_SUMMARY_CSV,
                              SWEEP_SUMMARY_MD)
from edgesim.errors import InputError, OutputError
from edgesim.results.checkpoint import remove_checkpoint
from edgesim.results.tables import output_error

LOCK_FILE = ".lock"
MODES = ("new", "overwrite", "resume")
RUN_FILES = (SCENARIO_FILE, EVENTS_FILE, EVENTS_PARQUET_FILE, METRICS_FILE, SUMMARY_FILE, *RUN_FIGURES, REPORT_FILE)
SWEEP_FILES = (SWEEP_FILE, LABELS_FILE, SWEEP_SUMMARY_CSV, SWEEP_SUMMARY_MD, *SWEEP_FIGURES, REPORT_FILE)
VARIANT_DIR = re.compile(r"run-[0-9]{3,}")
"""A sweep's variant directories: ``run-000``, ``run-001``, ..."""


def default_run_dir(name: str, root: Path = Path("runs")) -> Path:
    """``runs/<name>-<timestamp>`` for a scenario's ``name`` (cut down to letters, digits, ``._-``), made unique
    if it exists."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = name_slug(name)
    candidate = root / f"{slug}-{stamp}"
    suffix = 1
    while candidate.exists():
        suffix += 1
        candidate = root / f"{slug}-{stamp}-{suffix}"
    return candidate


def name_slug(name: str) -> str:
    """A scenario name cut down to a safe file-name part: letters, digits and ``._-``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "run"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def strict_json(value):
    """``value`` with every non-finite float replaced by ``None`` (JSON has no NaN or infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(item) for item in value]
    return value


def read_summary(path: Path) -> dict | None:
    """The ``summary.json`` in run directory ``path``, or ``None`` if it has none (or an unreadable one)."""
    try:
        summary = json.loads((Path(path) / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def summary_belongs(path: Path, summary: dict) -> bool:
    """Whether ``summary`` was written for the ``scenario.yaml`` now in run directory ``path``."""
    try:
        text = (Path(path) / SCENARIO_FILE).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return False
    return summary.get("scenario_sha256") == sha256_text(text)


class DirectoryLock:
    """A directory held by this process: made if missing (parents too), then locked with ``flock`` on its
    ``.lock`` file, which the system releases when the process ends, however it ends. ``OutputError`` if it
    cannot be made or another process holds it. ``abandon`` undoes the opening: it removes the lock file
    and the directories it made, as long as nothing else was put in them."""

    def __init__(self, path: Path, what: str = "run directory"):
        self.path = Path(path)
        self._made = [p for p in (self.path, *self.path.parents) if not p.exists()]  # deepest first
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise OutputError(f"{path}: a file is in the way of the {what}") from None
        except OSError as exc:
            raise output_error(self.path, exc, f"create the {what}") from None
        self._made_lock = not (self.path / LOCK_FILE).exists()
        try:
            self._fd = lock(self.path, what)
        except OutputError:
            self._fd = None
            self._remove_made()
            raise

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def abandon(self) -> None:
        self.release()
        if self._made_lock:
            (self.path / LOCK_FILE).unlink(missing_ok=True)
        self._remove_made()

    def _remove_made(self) -> None:
        for directory in self._made:
            try:
                directory.rmdir()
            except OSError:  # not empty (or gone): leave it and what lies above it
                return


def owned_files(path: Path) -> list[Path]:
    """What edgesim wrote into ``path``, a run or a sweep directory, by name: the run files and their
    temporaries, ``checkpoint/``, ``sweep.csv``, figures, and in each ``run-NNN/`` variant directory its run
    files, checkpoint and lock. This is what ``--overwrite`` removes; nothing else is."""
    found = [path / name for base in (*RUN_FILES, *SWEEP_FILES) for name in (base, f"{base}.tmp")]
    found.append(path / CHECKPOINT_DIR)
    for variant in sorted(path.glob("run-*")):
        if VARIANT_DIR.fullmatch(variant.name) and variant.is_dir() and not variant.is_symlink():
            found += [variant / name for base in RUN_FILES for name in (base, f"{base}.tmp")]
            found += [variant / CHECKPOINT_DIR, variant / LOCK_FILE]
    return [p for p in found if p.exists() or p.is_symlink()]


def refuse_to_remove(out: Path, scenario_file: Path) -> None:
    """``InputError`` when overwriting ``out`` would remove ``scenario_file`` (or the folder holding it)."""
    target = Path(scenario_file).resolve()
    for owned in owned_files(Path(out)):
        if target == owned.resolve() or owned.resolve() in target.parents:
            raise InputError(f"--out {out} --overwrite would remove the scenario file itself ({scenario_file}); "
                             "copy it elsewhere or choose another --out")


def clear_owned_files(path: Path, what: str = "run directory") -> None:
    """Remove ``owned_files(path)``, then the variant directories that leaves empty; ``OutputError`` on failure."""
    try:
        for owned in owned_files(path):
            if owned.name == CHECKPOINT_DIR and owned.is_dir() and not owned.is_symlink():
                remove_checkpoint(owned)
            else:
                owned.unlink(missing_ok=True)
        for variant in path.glob("run-*"):
            if VARIANT_DIR.fullmatch(variant.name) and variant.is_dir() and not variant.is_symlink():
                try:
                    variant.rmdir()
                except OSError:  # it holds something of someone else's
                    pass
    except OSError as exc:
        raise output_error(path, exc, f"clear the {what}") from None


def other_entries(path: Path) -> list[Path]:
    """What ``path`` holds besides its lock file."""
    return [p for p in path.iterdir() if p.name != LOCK_FILE]


class RunDirectory:
    """An open, locked run directory (see the module docstring); a context manager that unlocks on exit."""

    def __init__(self, path: Path, lock: DirectoryLock):
        self.path = path
        self._lock = lock

    @classmethod
    def open(cls, path: Path, mode: str = "new") -> RunDirectory:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        path = Path(path)
        if mode == "resume" and not (path / SCENARIO_FILE).is_file():
            raise OutputError(not_a_run_directory(path))
        run_dir = cls(path, DirectoryLock(path))
        try:
            if mode == "new":
                run_dir._require_empty()
            elif mode == "overwrite":
                clear_owned_files(path)
        except BaseException:
            run_dir.abandon()
            raise
        return run_dir

    def __enter__(self) -> RunDirectory:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._lock.release()

    def abandon(self) -> None:
        """Leave no trace of having opened the directory (a run that never started): see ``DirectoryLock``."""
        self._lock.abandon()

    # --- paths

    @property
    def events(self) -> Path:
        return self.path / EVENTS_FILE

    def events_in(self, format: str) -> Path:
        """The event table's path when it is written as ``format`` (``csv`` or ``parquet``)."""
        return self.path / (EVENTS_PARQUET_FILE if format == "parquet" else EVENTS_FILE)

    @property
    def metrics(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT_DIR

    # --- files

    def write_scenario(self, text: str) -> str:
        """Write the resolved scenario's text (``edgesim.scenario.scenario_text``); returns its SHA-256."""
        self._write_atomically(self.path / SCENARIO_FILE, text)
        return sha256_text(text)

    def write_summary(self, summary: dict) -> None:
        text = json.dumps(strict_json(summary), indent=2, allow_nan=False) + "\n"
        self._write_atomically(self.path / SUMMARY_FILE, text)

    def remove_summary(self) -> None:
        """A run that starts (again) has no summary until it ends."""
        (self.path / SUMMARY_FILE).unlink(missing_ok=True)

    def _write_atomically(self, path: Path, text: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise output_error(path, exc) from None

    def _require_empty(self) -> None:
        entries = other_entries(self.path)
        if not entries:
            return
        if (self.path / SWEEP_FILE).is_file():
            raise OutputError(f"{self.path}: holds a sweep ({SWEEP_FILE}), which `edgesim sweep SCENARIO --out "
                              f"{self.path} --resume` continues; give --overwrite to replace it with this run, or "
                              "another --out")
        summary = read_summary(self.path)
        if summary is not None:
            held = f"holds a {summary.get('status', 'finished')} run of {summary.get('scenario')!r}"
        elif (self.path / SCENARIO_FILE).is_file():
            held = "holds an unfinished run"
        else:
            held = f"is not empty ({len(entries)} {'entry' if len(entries) == 1 else 'entries'})"
        raise OutputError(f"{self.path}: {held}; give --resume to continue it, --overwrite to replace it, "
                          "or another --out")


def not_a_run_directory(path: Path) -> str:
    """The message for ``--resume path`` where ``path`` holds no run, naming the sweep it holds if it is one."""
    hint = (f"; it holds a sweep ({SWEEP_FILE}): `edgesim sweep SCENARIO --out {path} --resume` continues it"
            if (path / SWEEP_FILE).is_file() else "")
    return f"--resume {path}: not a run directory (it has no {SCENARIO_FILE}){hint}"


def lock(path: Path, what: str = "run directory") -> int:
    """Hold ``path/.lock`` exclusively for this process (``flock``; the system releases it when the process
    ends, however it ends); ``OutputError`` if another process holds it. Returns the lock's descriptor."""
    lock_path = path / LOCK_FILE
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise output_error(path, exc, f"write to the {what}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "another process"
        os.close(fd)
        raise OutputError(f"{path}: another edgesim process ({holder}) is writing into it") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}\n".encode(), 0)
    return fd
