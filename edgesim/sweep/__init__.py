"""Sweeps: every variant of a scenario's ``sweep:`` block, one run directory each, and ``sweep.csv``."""

from edgesim.sweep.local import run_sweep

__all__ = ["run_sweep"]
