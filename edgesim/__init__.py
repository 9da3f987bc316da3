"""edgesim: time-to-accuracy of federated learning on simulated edge fleets.

``edgesim.simulate`` and ``edgesim.Result`` (``edgesim.api``) are the Python API, and the ``register_*``
functions (``edgesim.extend``) add algorithms, protocols, selectors, distributions, straggler models and
models; they are imported on first use, so the command line starts without torch when it does not need it.
"""

__version__ = "0.1.0"
_API = ("Result", "simulate")
_EXTEND = ("register_algorithm", "register_distribution", "register_model", "register_protocol",
           "register_selector", "register_straggler")
__all__ = [*_API, *_EXTEND]


def __getattr__(name: str):
    if name in _API:
        from edgesim import api

        return getattr(api, name)
    if name in _EXTEND:
        from edgesim import extend

        return getattr(extend, name)
    raise AttributeError(f"module 'edgesim' has no attribute {name!r}")
