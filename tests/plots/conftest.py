"""Fixtures: a synchronous run, an asynchronous run and a sweep, written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from plot_fixtures import write_run, write_sweep


@pytest.fixture
def sync_run(tmp_path: Path) -> Path:
    return write_run(tmp_path / "sync")


@pytest.fixture
def async_run(tmp_path: Path) -> Path:
    return write_run(tmp_path / "async", asynchronous=True)


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    return write_sweep(tmp_path / "sweep")
