"""Convolutional networks, written against a layer kit (see ``kits.py``).

- ``small_cnn``: two 5x5 convolutions (8·width and 16·width channels) and one
  linear layer; a few MFLOP per training sample, for quick scenarios.
- ``wkafl_cnn``: the CNN of WKAFL / AKAFL-RJ: conv5x5(32) pool conv5x5(64) pool
  fc(512) fc(classes); 582,026 parameters on 28x28x1.
- ``conv4``: the Conv-4 of MPT-FL: conv3x3(64) conv3x3(64) pool conv3x3(128)
  conv3x3(128) pool fc(256) fc(256) fc(classes), padding 1, no biases;
  1,932,352 parameters on 28x28x1.
- ``mlp``: one hidden layer of 200 units.

Every channel and unit count is multiplied by ``width`` (rounded, at least 1),
so fractional widths make smaller networks.

Each hidden layer is followed by ``kit.hidden`` after any pooling (ReLU and
max-pooling commute, so this is the usual conv-ReLU-pool for real
activations, and conv-pool-BatchNorm-sign for binary ones).
"""

from __future__ import annotations

from torch import nn

from edgesim.models.kits import LayerKit


def _pooled(input_shape, blocks: int, kernel: int, padding: int) -> tuple[int, int]:
    """Spatial size after ``blocks`` x (conv ``kernel`` with ``padding``, 2x2 max-pool)."""
    _, h, w = input_shape
    for _ in range(blocks):
        h, w = (h - kernel + 1 + 2 * padding) // 2, (w - kernel + 1 + 2 * padding) // 2
    if h < 1 or w < 1:
        raise ValueError(f"input {tuple(input_shape)} is too small for this network")
    return h, w


def scaled(channels: int, width: float) -> int:
    """``channels`` times the ``width`` multiplier, rounded, at least 1."""
    return max(1, round(channels * width))


def small_cnn(input_shape, num_classes, width, kit: LayerKit):
    c1, c2 = scaled(8, width), scaled(16, width)
    h, w = _pooled(input_shape, 2, 5, 0)
    return nn.Sequential(
        kit.conv(input_shape[0], c1, 5), nn.MaxPool2d(2), kit.hidden(c1, True),
        kit.conv(c1, c2, 5), nn.MaxPool2d(2), kit.hidden(c2, True),
        nn.Flatten(), kit.linear(c2 * h * w, num_classes),
    )


def wkafl_cnn(input_shape, num_classes, width, kit: LayerKit):
    c1, c2 = scaled(32, width), scaled(64, width)
    h, w = _pooled(input_shape, 2, 5, 0)
    return nn.Sequential(
        kit.conv(input_shape[0], c1, 5), nn.MaxPool2d(2), kit.hidden(c1, True),
        kit.conv(c1, c2, 5), nn.MaxPool2d(2), kit.hidden(c2, True),
        nn.Flatten(), kit.linear(c2 * h * w, 512), kit.hidden(512, False),
        kit.linear(512, num_classes),
    )


def conv4(input_shape, num_classes, width, kit: LayerKit):
    c1, c2, f = scaled(64, width), scaled(128, width), scaled(256, width)
    _, h, w = input_shape
    h, w = h // 4, w // 4
    return nn.Sequential(
        kit.conv(input_shape[0], c1, 3, padding=1, bias=False), kit.hidden(c1, True),
        kit.conv(c1, c1, 3, padding=1, bias=False), nn.MaxPool2d(2), kit.hidden(c1, True),
        kit.conv(c1, c2, 3, padding=1, bias=False), kit.hidden(c2, True),
        kit.conv(c2, c2, 3, padding=1, bias=False), nn.MaxPool2d(2), kit.hidden(c2, True),
        nn.Flatten(), kit.linear(c2 * h * w, f, bias=False), kit.hidden(f, False),
        kit.linear(f, f, bias=False), kit.hidden(f, False),
        kit.linear(f, num_classes, bias=False),
    )


def mlp(input_shape, num_classes, width, kit: LayerKit):
    features = input_shape[0] * input_shape[1] * input_shape[2]
    hidden = scaled(200, width)
    return nn.Sequential(nn.Flatten(), kit.linear(features, hidden), kit.hidden(hidden, False),
                         kit.linear(hidden, num_classes))
