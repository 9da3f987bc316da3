"""Sweeps: every variant of a scenario's ``sweep:`` block, one run directory each, and ``sweep.csv``.

``LocalExecutor`` runs them in a local process pool; ``edgesim.sweep.ray_executor.RayExecutor``
(imported only when asked for, as it needs Ray) runs them as tasks on a Ray cluster.
"""

from edgesim.sweep.driver import run_sweep
from edgesim.sweep.local import LocalExecutor

__all__ = ["LocalExecutor", "run_sweep"]
