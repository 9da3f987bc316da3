"""What an algorithm hands a checkpoint: its training state as plain data and tensors.

``training_state()`` returns a mapping of numbers, strings, lists, mappings,
tensors and ``None`` (what ``torch.load(weights_only=True)`` reads back);
``load_training_state`` takes the same mapping back, tensors on the CPU.
A part that never changes once made, such as a model version that clients
still hold, is wrapped in ``Immutable`` under a key unique within the run:
a checkpoint then writes it once and keeps it while it is referenced, instead
of writing it again at every checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch


@dataclass(frozen=True)
class Immutable:
    """A part of the training state that will never change (``key``: a file-name-safe id unique in the run)."""

    key: str
    value: Mapping[str, torch.Tensor]


def on_device(state: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """A copy of a state dict with its tensors on ``device``."""
    return {name: tensor.to(device) for name, tensor in state.items()}
