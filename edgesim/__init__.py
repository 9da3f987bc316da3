"""edgesim: time-to-accuracy of federated learning on simulated edge fleets."""

__version__ = "0.1.0"
