"""Small convolutional networks for 1-channel 28x28 digit tasks (and any input shape).

- ``small_cnn``: two 5x5 convolutions (8·width and 16·width channels) and one
  linear layer; a few hundred kFLOP per sample, for quick scenarios.
- ``wkafl_cnn``: the CNN of WKAFL / AKAFL-RJ: conv5x5(32) relu pool conv5x5(64)
  relu pool fc(512) relu fc(classes); 582,026 parameters on 28x28x1.
- ``mlp``: one hidden layer of 200 units.
"""

from __future__ import annotations

from torch import nn


def _flat_features(input_shape: tuple[int, int, int], convs: int, kernel: int, channels: int) -> int:
    """Size after ``convs`` blocks of (valid conv ``kernel`` + 2x2 max-pool)."""
    _, h, w = input_shape
    for _ in range(convs):
        h, w = (h - kernel + 1) // 2, (w - kernel + 1) // 2
    if h < 1 or w < 1:
        raise ValueError(f"input {input_shape} is too small for {convs} conv{kernel}+pool blocks")
    return channels * h * w


def small_cnn(input_shape, num_classes, width=1):
    c1, c2 = 8 * width, 16 * width
    return nn.Sequential(
        nn.Conv2d(input_shape[0], c1, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(_flat_features(input_shape, 2, 5, c2), num_classes),
    )


def wkafl_cnn(input_shape, num_classes, width=1):
    c1, c2 = 32 * width, 64 * width
    return nn.Sequential(
        nn.Conv2d(input_shape[0], c1, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(_flat_features(input_shape, 2, 5, c2), 512), nn.ReLU(),
        nn.Linear(512, num_classes),
    )


def mlp(input_shape, num_classes, width=1):
    features = input_shape[0] * input_shape[1] * input_shape[2]
    return nn.Sequential(nn.Flatten(), nn.Linear(features, 200 * width), nn.ReLU(), nn.Linear(200 * width, num_classes))
