"""Layer kits: the building blocks a model architecture is written against.

An architecture (``cnn.py``, ``conv4.py``) asks its kit for convolutions,
linear layers and the block that follows each hidden layer; the algorithm
chooses the kit. So one Conv-4 exists, and it comes out dense, with
learned masks over frozen signed weights (MPT), or with binarised latent
weights (BNN), with real (``1/32``) or binary (``1/1``) activations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from edgesim.models.binary import BinaryConv2d, BinaryLinear, SignActivation
from edgesim.models.scored import ScoredConv2d, ScoredLinear


def real_activation(features: int, spatial: bool) -> nn.Module:
    return nn.ReLU()


def binary_activation(features: int, spatial: bool) -> nn.Module:
    """BatchNorm without affine parameters, then sign(x) with the Bi-Real gradient."""
    norm = nn.BatchNorm2d(features, affine=False) if spatial else nn.BatchNorm1d(features, affine=False)
    return nn.Sequential(norm, SignActivation())


@dataclass(frozen=True)
class LayerKit:
    conv: Callable[..., nn.Module]
    """``conv(in_channels, out_channels, kernel, padding=0, bias=True)``"""
    linear: Callable[..., nn.Module]
    """``linear(in_features, out_features, bias=True)``"""
    hidden: Callable[[int, bool], nn.Module] = real_activation
    """The block after a hidden layer: ``hidden(features, spatial)``."""


def _dense_conv(cin, cout, kernel, padding=0, bias=True):
    return nn.Conv2d(cin, cout, kernel, padding=padding, bias=bias)


def _dense_linear(fin, fout, bias=True):
    return nn.Linear(fin, fout, bias=bias)


DENSE = LayerKit(_dense_conv, _dense_linear)


def scored_kit(keep: float, weight_init: str, score_init: str, binary_activations: bool) -> LayerKit:
    """MPT layers (biprop); scored layers have no bias, whatever the architecture asks."""

    def conv(cin, cout, kernel, padding=0, bias=True):
        return ScoredConv2d(cin, cout, kernel, padding, keep, weight_init, score_init)

    def linear(fin, fout, bias=True):
        return ScoredLinear(fin, fout, keep, weight_init, score_init)

    return LayerKit(conv, linear, binary_activation if binary_activations else real_activation)


def binary_kit(binary_activations: bool) -> LayerKit:
    """BNN layers: latent fp32 weights, ``alpha * sign(W)`` forward; no bias."""

    def conv(cin, cout, kernel, padding=0, bias=True):
        return BinaryConv2d(cin, cout, kernel, padding)

    def linear(fin, fout, bias=True):
        return BinaryLinear(fin, fout)

    return LayerKit(conv, linear, binary_activation if binary_activations else real_activation)
