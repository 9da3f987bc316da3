"""Named, independent random streams derived from one root seed.

Every consumer asks for its own stream by name (and optional integer ids), so
adding a new consumer never shifts the numbers another one draws. Nothing here
touches the global ``random``, ``np.random`` or torch generators.
"""

from __future__ import annotations

import zlib

import numpy as np


class Streams:
    """Factory of independent ``numpy.random.Generator`` objects and integer seeds."""

    def __init__(self, root_seed: int):
        self.root_seed = int(root_seed)

    def _sequence(self, name: str, ids: tuple[int, ...]) -> np.random.SeedSequence:
        key = (zlib.crc32(name.encode("utf-8")),) + tuple(int(i) for i in ids)
        return np.random.SeedSequence(entropy=self.root_seed, spawn_key=key)

    def rng(self, name: str, *ids: int) -> np.random.Generator:
        """A generator for the stream ``name`` (e.g. ``rng("device", 3)``)."""
        return np.random.Generator(np.random.PCG64(self._sequence(name, ids)))

    def seed(self, name: str, *ids: int) -> int:
        """A 63-bit integer seed for the stream (for ``torch.Generator.manual_seed``)."""
        return int(self._sequence(name, ids).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
