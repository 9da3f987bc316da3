"""Checkpoints of a run in progress, written so that a crash at any moment leaves the last one whole.

A checkpoint is taken at the end of a round (or K-async iteration), after its
evaluation: ``checkpoint/state.pt`` holds where the run was (round, simulated
time, how many rows and bytes the tables had, the decisions a replay needs,
the progress counters) and the algorithm's training state; each
``Immutable`` part of that state is its own file under ``checkpoint/parts/``,
written once. ``state.pt`` is replaced atomically and only then are parts
that it no longer names deleted, so the files on disk always form one
complete checkpoint. Everything is read back with
``torch.load(weights_only=True)``: a checkpoint holds data, never code.
"""

from __future__ import annotations

import io
import os
import pickle
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from edgesim.errors import InputError
from edgesim.fl.training_state import Immutable
from edgesim.results.tables import output_error

STATE_FILE = "state.pt"
PARTS_DIR = "parts"
FORMAT = 1


@dataclass
class Checkpoint:
    """Where a run was at the end of ``round``, and what it takes to continue from there."""

    round: int
    sim_time_s: float
    events_rows: int
    events_bytes: int
    metrics_bytes: int
    stop: bool
    """What the run decided at this round (True: it stopped here)."""
    progress: dict
    training: dict
    """The algorithm's ``training_state()``."""
    scenario_sha256: str
    torch_threads: int
    wall_time_s: float
    decisions: list = field(default_factory=list)
    """``[[round, {next_k, remodel_staleness, losses}], ...]``: what the clock depended on, by round (older
    checkpoints hold older forms; ``edgesim.coordinator.decisions_from`` reads them all)."""


def save_checkpoint(directory: Path, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` to ``directory`` (see the module docstring); ``OutputError`` if it cannot."""
    parts_dir = Path(directory) / PARTS_DIR
    try:
        parts_dir.mkdir(parents=True, exist_ok=True)
        parts: dict[str, Any] = {}
        data = {f.name: getattr(checkpoint, f.name) for f in fields(checkpoint)}  # not asdict: no tensor copies
        data["training"] = _by_reference(checkpoint.training, parts)
        data["format"] = FORMAT
        for key, value in parts.items():
            path = parts_dir / f"{key}.pt"
            if not path.exists():
                _save_atomically(dict(value), path)
        _save_atomically(data, Path(directory) / STATE_FILE)
        for stale in parts_dir.glob("*.pt"):
            if stale.stem not in parts:
                stale.unlink()
    except OSError as exc:
        raise output_error(Path(directory), exc, "write the checkpoint") from None


def load_checkpoint(directory: Path) -> Checkpoint | None:
    """The checkpoint in ``directory``, or ``None`` if there is none; ``InputError`` if it is unreadable."""
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        if data.pop("format", None) != FORMAT:
            raise ValueError("written by another version of edgesim")
        parts_dir = Path(directory) / PARTS_DIR
        data["training"] = _resolved(data["training"], parts_dir)
        return Checkpoint(**data)
    except (OSError, EOFError, RuntimeError, ValueError, KeyError, TypeError, pickle.UnpicklingError) as exc:
        raise InputError(f"{path}: unreadable checkpoint ({type(exc).__name__}); the run cannot be resumed: "
                         "run its scenario afresh (edgesim run RUN_DIR/scenario.yaml --out RUN_DIR --overwrite)"
                         ) from None


def remove_checkpoint(directory: Path) -> None:
    """Delete a checkpoint's own files, then its folders if that leaves them empty (nothing else is touched)."""
    directory = Path(directory)
    parts_dir = directory / PARTS_DIR
    for path in (*parts_dir.glob("*.pt"), *parts_dir.glob("*.pt.tmp"), directory / STATE_FILE,
                 directory / f"{STATE_FILE}.tmp"):
        path.unlink(missing_ok=True)
    for folder in (parts_dir, directory):
        try:
            folder.rmdir()
        except OSError:  # missing, or holding something of someone else's
            pass


def _save_atomically(value, path: Path) -> None:
    """Serialise in memory first, so that a failed write is the operating system's clear error."""
    buffer = io.BytesIO()
    torch.save(value, buffer)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(buffer.getbuffer())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def _by_reference(value, parts: dict):
    """``value`` with each ``Immutable`` replaced by ``{"immutable": key}`` (collected into ``parts``)."""
    if isinstance(value, Immutable):
        parts[value.key] = value.value
        return {"immutable": value.key}
    if isinstance(value, dict):
        return {key: _by_reference(item, parts) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_by_reference(item, parts) for item in value)
    return value


def _resolved(value, parts_dir: Path):
    """The inverse of ``_by_reference``: references replaced by the parts' contents."""
    if isinstance(value, dict):
        if set(value) == {"immutable"}:
            return torch.load(parts_dir / f"{value['immutable']}.pt", map_location="cpu", weights_only=True)
        return {key: _resolved(item, parts_dir) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_resolved(item, parts_dir) for item in value)
    return value
