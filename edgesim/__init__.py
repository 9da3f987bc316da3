"""edgesim: time-to-accuracy of federated learning on simulated edge fleets.

``edgesim.simulate`` and ``edgesim.Result`` (``edgesim.api``) are the Python API; they are imported on
first use, so the command line starts without torch when it does not need it.
"""

__version__ = "0.1.0"
__all__ = ["Result", "simulate"]


def __getattr__(name: str):
    if name in __all__:
        from edgesim import api

        return getattr(api, name)
    raise AttributeError(f"module 'edgesim' has no attribute {name!r}")
