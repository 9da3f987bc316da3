"""Named random streams (edgesim.seeding)."""

import random

import numpy as np
import torch

from edgesim.seeding import Streams


def draws(rng, n=5):
    return rng.random(n).tolist()


def test_same_seed_name_and_ids_give_equal_streams():
    assert draws(Streams(7).rng("device", 3)) == draws(Streams(7).rng("device", 3))
    assert Streams(7).seed("train", 2, 5) == Streams(7).seed("train", 2, 5)


def test_names_ids_and_roots_separate_streams():
    base = draws(Streams(7).rng("device", 3))
    assert draws(Streams(7).rng("failures", 3)) != base
    assert draws(Streams(7).rng("device", 4)) != base
    assert draws(Streams(7).rng("device")) != base
    assert draws(Streams(8).rng("device", 3)) != base
    assert draws(Streams(7).rng("device", 3, 0)) != base
    seeds = {Streams(7).seed("train", r, c) for r in range(5) for c in range(5)}
    assert len(seeds) == 25


def test_seed_is_a_non_negative_63_bit_int():
    for root in (0, 1, 2**40):
        for i in range(50):
            value = Streams(root).seed("model-init", i)
            assert isinstance(value, int)
            assert 0 <= value < 2**63
    torch.Generator().manual_seed(Streams(0).seed("x"))  # accepted by torch


def test_streams_do_not_touch_global_generators():
    random.seed(1)
    np.random.seed(1)
    expected = (random.random(), np.random.random())
    random.seed(1)
    np.random.seed(1)
    Streams(3).rng("a", 1).random(10)
    Streams(3).seed("b")
    assert (random.random(), np.random.random()) == expected
