"""The algorithms a scenario can name: each ``algorithm.name`` with its config block and its strategy class.

``register_algorithm`` adds one, built in or a user's (see ``edgesim.registry`` for plugins); the
scenario's ``algorithm:`` key accepts every registered name.
"""

from __future__ import annotations

from edgesim.fl.akafl import Akafl, AkaflConfig
from edgesim.fl.async_baselines import FedAsync, FedAsyncConfig, FedBuff, FedBuffConfig, KAsyncSgd, KAsyncSgdConfig
from edgesim.fl.bnn_fl import BnnFl, BnnFlConfig
from edgesim.fl.config import AlgorithmConfig
from edgesim.fl.fedavg import FedAvg, FedAvgConfig
from edgesim.fl.fedprox import FedProxConfig
from edgesim.fl.flat_softmax import FlatSoftmax, FlatSoftmaxConfig
from edgesim.fl.hmoe import Hmoe, HmoeConfig
from edgesim.fl.mpt_fl import MptFl, MptFlConfig
from edgesim.fl.strategy import AlgorithmSetup, Strategy
from edgesim.registry import Kinds

ALGORITHMS: Kinds[AlgorithmConfig] = Kinds("algorithm", tag="name")
_STRATEGIES: dict[type[AlgorithmConfig], type[Strategy]] = {}


def register_algorithm(config: type[AlgorithmConfig], strategy: type[Strategy]) -> None:
    """Make ``algorithm.name`` accept the names of ``config`` (its ``name: Literal[...]``), run by ``strategy``.
    ``config`` subclasses ``AlgorithmConfig`` (or one of the built-in configs); ``strategy`` implements
    ``edgesim.fl.strategy.Strategy`` and is built as ``strategy(config, setup)``."""
    if not (isinstance(strategy, type) and issubclass(strategy, Strategy)):
        raise TypeError(f"{strategy!r} is not a Strategy subclass")
    ALGORITHMS.register(config)
    _STRATEGIES[config] = strategy


for _config, _strategy in ((FedAvgConfig, FedAvg), (FedProxConfig, FedAvg), (MptFlConfig, MptFl),
                           (BnnFlConfig, BnnFl), (FlatSoftmaxConfig, FlatSoftmax), (HmoeConfig, Hmoe),
                           (KAsyncSgdConfig, KAsyncSgd), (FedBuffConfig, FedBuff), (FedAsyncConfig, FedAsync),
                           (AkaflConfig, Akafl)):
    register_algorithm(_config, _strategy)

AlgorithmConfigField = ALGORITHMS.field
"""The pydantic type of the scenario's ``algorithm:`` block."""


def strategy_class(name: str) -> type[Strategy]:
    """The strategy class that runs ``algorithm.name`` = ``name`` (``KeyError`` for an unknown name)."""
    return _STRATEGIES[ALGORITHMS.get(name)]


def build_strategy(config: AlgorithmConfig, setup: AlgorithmSetup) -> Strategy:
    return _STRATEGIES[type(config)](config, setup)
