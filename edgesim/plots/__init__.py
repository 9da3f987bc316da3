"""Figures drawn only from the files of a run directory or a sweep directory.

``plot_run`` writes accuracy, staleness and timeline figures (plus the
asynchronous ones when ``metrics.csv`` has their columns) next to a run's
files; ``plot_sweep`` writes comparison figures into a sweep directory;
``plot_any`` picks one of the two from the directory's contents.
"""

from edgesim.plots.dispatch import plot_any
from edgesim.plots.run import plot_run
from edgesim.plots.sweep_figures import plot_sweep

__all__ = ["plot_any", "plot_run", "plot_sweep"]
