"""What the end-to-end tests feed edgesim: scenario paths and the data they can use here.

Tests never touch the network. Real MNIST is used when the data directory
(``EDGESIM_DATA``) holds it; otherwise scenarios are switched to the
synthetic dataset, so the suite passes on any machine.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
DIGIT_TREE = """# parent child
root round
root straight
root mixed
round 0
round 6
round 8
round 9
straight 1
straight 4
straight 7
mixed 2
mixed 3
mixed 5
"""
"""A taxonomy of the ten digits by shape (round strokes, straight strokes, mixed), as an edge list."""


def mnist_available() -> bool:
    root = os.environ.get("EDGESIM_DATA")
    return bool(root) and (Path(root) / "mnist" / "train-images-idx3-ubyte.gz").is_file()


def data_edits() -> list[str]:
    """``--set`` edits that keep a scenario runnable here (nothing if real MNIST is present)."""
    if mnist_available():
        return []
    return ["dataset.name=synthetic", "dataset.download=false", "dataset.test_subset=null"]


def data_options() -> list[str]:
    """``data_edits`` as command-line options."""
    return [option for edit in data_edits() for option in ("--set", edit)]
