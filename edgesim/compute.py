"""Where the real training runs: the torch device and the local-training path.

This is a setting of the host that runs the simulation, not of the simulated
fleet, so it comes from the command line (``--device``, ``--trainer``), not the
scenario; ``summary.json`` records what a run used.

- ``device``: ``auto`` (the first CUDA GPU if torch sees one, else the CPU),
  ``cpu``, ``cuda`` or ``cuda:N``.
- ``trainer``: ``auto`` trains same-shaped client jobs together (vmapped,
  ``BatchedTrainer``) on a GPU and one after another (``LocalTrainer``) on the
  CPU, where batching was measured slower (``benchmarks/batched.py``);
  ``batched`` or ``sequential`` force one path.

Byte-identical result tables are promised on the CPU. On a GPU, results equal
the CPU's up to floating-point tolerance, and repeated runs may differ in the
last bits (GPU reductions are not ordered).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edgesim.errors import InputError

if TYPE_CHECKING:
    import torch

DEVICES = ("auto", "cpu", "cuda", "cuda:N")
TRAINERS = ("auto", "sequential", "batched")
_DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")


@dataclass(frozen=True)
class Compute:
    """A device and trainer choice; ``resolved()`` turns ``auto`` into the device this host has."""

    device: str = "cpu"
    trainer: str = "auto"

    def __post_init__(self) -> None:
        problems = []
        if not _DEVICE_PATTERN.fullmatch(self.device):
            problems.append(f"--device {self.device}: must be one of {', '.join(DEVICES)}")
        if self.trainer not in TRAINERS:
            problems.append(f"--trainer {self.trainer}: must be one of {', '.join(TRAINERS)}")
        if problems:
            raise InputError(problems)

    def resolved(self) -> Compute:
        """The same choice with ``auto`` replaced by a device that exists here (``InputError`` if a named
        CUDA device does not)."""
        import torch  # here, not at the top: the command line reads its options before torch loads

        if self.device == "auto":
            return Compute("cuda:0" if torch.cuda.is_available() else "cpu", self.trainer)
        if self.device.startswith("cuda"):
            count = torch.cuda.device_count() if torch.cuda.is_available() else 0
            index = int(self.device.partition(":")[2] or 0)
            if index >= count:
                seen = f"torch sees {count} CUDA device{'s' if count != 1 else ''}"
                raise InputError(f"--device {self.device}: no such device here ({seen}); use --device cpu or auto")
            return Compute(f"cuda:{index}", self.trainer)
        return self

    @property
    def torch_device(self) -> torch.device:
        """The torch device (resolve ``auto`` first)."""
        import torch

        if self.device == "auto":
            raise ValueError("Compute('auto') must be resolved() before use")
        return torch.device(self.device)

    @property
    def batched(self) -> bool:
        """Whether client jobs are trained together."""
        if self.trainer == "auto":
            return self.torch_device.type == "cuda"
        return self.trainer == "batched"

    def describe(self) -> dict:
        """What ``summary.json`` records."""
        return {"torch_device": self.device, "trainer": "batched" if self.batched else "sequential"}
