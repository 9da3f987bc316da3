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
