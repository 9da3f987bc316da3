"""The algorithms a scenario can name, and the union of their config blocks.

A class's ``protocol`` says which simulated protocol runs it: ``sync``
(rounds) or ``kasync`` (K-asynchronous aggregation).
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from edgesim.fl.akafl import Akafl, AkaflConfig
from edgesim.fl.async_baselines import FedAsync, FedAsyncConfig, FedBuff, FedBuffConfig, KAsyncSgd, KAsyncSgdConfig
from edgesim.fl.bnn_fl import BnnFl, BnnFlConfig
from edgesim.fl.fedavg import FedAvg, FedAvgConfig
from edgesim.fl.fedprox import FedProxConfig
from edgesim.fl.flat_softmax import FlatSoftmax, FlatSoftmaxConfig
from edgesim.fl.hmoe import Hmoe, HmoeConfig
from edgesim.fl.mpt_fl import MptFl, MptFlConfig

ALGORITHMS = {
    "fedavg": (FedAvgConfig, FedAvg),
    "fedprox": (FedProxConfig, FedAvg),  # FedAvg whose trainer adds the proximal term
    "mpt_fl": (MptFlConfig, MptFl),
    "bnn_fl": (BnnFlConfig, BnnFl),
    "flat_softmax": (FlatSoftmaxConfig, FlatSoftmax),
    "hmoe": (HmoeConfig, Hmoe),
    "kasync_sgd": (KAsyncSgdConfig, KAsyncSgd),
    "fedbuff": (FedBuffConfig, FedBuff),
    "fedasync": (FedAsyncConfig, FedAsync),
    "wkafl": (AkaflConfig, Akafl),
    "akafl": (AkaflConfig, Akafl),
    "akafl_r": (AkaflConfig, Akafl),
    "akafl_rj": (AkaflConfig, Akafl),
}

_CONFIGS = tuple(dict.fromkeys(config for config, _ in ALGORITHMS.values()))

AlgorithmConfigUnion = Annotated[Union[_CONFIGS], Field(discriminator="name")]


def algorithm_class(name: str):
    return ALGORITHMS[name][1]


def build_algorithm(config, setup):
    return algorithm_class(config.name)(config, setup)
