"""A deterministic synthetic image-classification task for runs without MNIST.

Each class has one smooth random prototype image (4x4-pixel blocks of unit-variance
noise); a sample is its class prototype plus i.i.d. Gaussian pixel noise of std
``noise``. Labels are balanced and shuffled. Everything is drawn from the given
generator, so the same generator state gives the same data.
"""

from __future__ import annotations

import numpy as np
import torch

from edgesim.data.config import SyntheticConfig

_BLOCK = 4  # prototype smoothness: side of the constant-valued pixel blocks


def make_synthetic(
    config: SyntheticConfig, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(train_x, train_y, test_x, test_y)``: float32 ``N x C x H x W`` images and int64 labels."""
    c, h, w = config.shape
    coarse = rng.standard_normal((config.num_classes, c, -(-h // _BLOCK), -(-w // _BLOCK)), dtype=np.float32)
    prototypes = coarse.repeat(_BLOCK, axis=2).repeat(_BLOCK, axis=3)[:, :, :h, :w]
    train = _samples(prototypes, config.train_size, config.noise, rng)
    test = _samples(prototypes, config.test_size, config.noise, rng)
    return (*train, *test)


def _samples(
    prototypes: np.ndarray, n: int, noise: float, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    labels = rng.permutation(np.arange(n) % len(prototypes))
    x = prototypes[labels] + np.float32(noise) * rng.standard_normal((n, *prototypes.shape[1:]), dtype=np.float32)
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))
