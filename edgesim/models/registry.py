"""Name -> builder registry; builds on the meta device, then initialises from a seed.

Modules are created on ``meta`` so construction draws nothing from torch's
global generator; every parameter is then initialised from a private
``torch.Generator`` seeded by the caller (PyTorch's default schemes).
"""

from __future__ import annotations

import math

import torch
from torch import nn

import edgesim.models.cnn as cnn
from edgesim.models.config import ModelConfig
from edgesim.models.kits import DENSE, LayerKit
from edgesim.registry import load_plugins

_BUILDERS = {
    "small_cnn": cnn.small_cnn,
    "wkafl_cnn": cnn.wkafl_cnn,
    "conv4": cnn.conv4,
    "mlp": cnn.mlp,
}


def model_names() -> list[str]:
    load_plugins()
    return sorted(_BUILDERS)


def register_model(name: str, builder=None):
    """Add a builder ``(input_shape, num_classes, width, kit) -> nn.Module`` as ``model.name`` = ``name``;
    ``width`` is a float multiplier (``cnn.scaled`` rounds a channel count by it). Without ``builder`` it is
    a decorator. A name already taken is an error."""
    if builder is None:
        return lambda function: register_model(name, function)
    if name in _BUILDERS and _BUILDERS[name] is not builder:
        raise ValueError(f"model {name!r} is already registered")
    _BUILDERS[name] = builder
    return builder


def _default_init(module: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default init for conv/linear layers, drawn from ``generator``."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
        if module.bias is not None:
            fan_in = module.weight[0].numel()
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(module.bias, -bound, bound, generator=generator)
    elif isinstance(module, nn.modules.batchnorm._NormBase):
        module.reset_parameters()  # constant start values, no randomness
    elif hasattr(module, "reset_parameters_from"):
        module.reset_parameters_from(generator)  # edgesim's own layers
    elif any(True for _ in module.parameters(recurse=False)) or any(True for _ in module.buffers(recurse=False)):
        raise TypeError(f"build_model does not know how to initialise {type(module).__name__}")


def parameter_count(config: ModelConfig, input_shape, num_classes: int, kit: LayerKit = DENSE) -> int:
    """Parameters and buffer elements of ``config.name`` built for ``input_shape``, counted on the meta device
    (no memory is allocated, so even a model too large to build is counted)."""
    with torch.device("meta"):
        model = _BUILDERS[config.name](tuple(input_shape), num_classes, config.width, kit)
    return sum(t.numel() for t in (*model.parameters(), *model.buffers()))


def build_model(config: ModelConfig, input_shape, num_classes: int, seed: int, kit: LayerKit = DENSE,
                device: torch.device | str = "cpu") -> nn.Module:
    """Build ``config.name`` for ``input_shape`` (C, H, W) from ``kit``'s layers, with deterministic weights
    (drawn on the CPU, so the same on every device), then move it to ``device``."""
    with torch.device("meta"):
        model = _BUILDERS[config.name](tuple(input_shape), num_classes, config.width, kit)
    model = model.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        _default_init(module, generator)
    return model.to(device)
