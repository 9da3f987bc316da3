"""The algorithms a scenario can name, and the union of their config blocks."""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from edgesim.fl.bnn_fl import BnnFl, BnnFlConfig
from edgesim.fl.fedavg import FedAvg, FedAvgConfig
from edgesim.fl.mpt_fl import MptFl, MptFlConfig

ALGORITHMS = {
    "fedavg": (FedAvgConfig, FedAvg),
    "mpt_fl": (MptFlConfig, MptFl),
    "bnn_fl": (BnnFlConfig, BnnFl),
}

AlgorithmConfigUnion = Annotated[
    Union[tuple(config for config, _ in ALGORITHMS.values())], Field(discriminator="name")
]


def build_algorithm(config, setup):
    return ALGORITHMS[config.name][1](config, setup)
