"""Partitioners: sizes, class structure, coverage, determinism, impossible requests."""

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from edgesim.data.config import PartitionConfig
from edgesim.data.partition import partition
from edgesim.errors import InputError
from edgesim.seeding import Streams

LABELS = Streams(0).rng("labels").permutation(np.repeat(np.arange(10), 600))


def cfg(**kw):
    return TypeAdapter(PartitionConfig).validate_python(kw)


def split(config, num_clients=100, labels=LABELS, seed=1):
    return partition(labels, num_clients, config, Streams(seed).rng("partition"))


def assert_well_formed(parts, num_clients):
    assert len(parts) == num_clients
    for p in parts:
        assert p.dtype == np.int64
        assert np.all(np.diff(p) > 0), "sorted, no duplicates within a client"
        assert p.min() >= 0 and p.max() < len(LABELS)


def test_iid_even_disjoint_cover():
    parts = split(cfg(kind="iid"), num_clients=7)
    assert_well_formed(parts, 7)
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1
    everything = np.concatenate(parts)
    assert np.array_equal(np.sort(everything), np.arange(len(LABELS)))


def test_shards_classes_and_sizes_disjoint_balanced():
    parts = split(cfg(kind="shards", classes_per_client=2, samples_per_class=20))
    assert_well_formed(parts, 100)
    usage = np.zeros(10, dtype=int)
    for p in parts:
        classes, counts = np.unique(LABELS[p], return_counts=True)
        assert len(classes) == 2 and np.all(counts == 20)
        usage[classes] += 1
    assert np.all(usage == 20), "each class used by the same number of clients"
    everything = np.concatenate(parts)
    assert len(np.unique(everything)) == len(everything), "no sample given to two clients"
    pairs = {tuple(np.unique(LABELS[p])) for p in parts}
    assert len(pairs) > 5, "class pairs vary, not one fixed rotation"


def test_shards_uneven_usage_differs_by_at_most_one():
    parts = split(cfg(kind="shards", classes_per_client=3, samples_per_class=5), num_clients=7)
    usage = np.bincount(np.concatenate([np.unique(LABELS[p]) for p in parts]), minlength=10)
    assert usage.max() - usage.min() <= 1


def test_shards_impossible_requests():
    with pytest.raises(InputError, match="samples_per_class"):
        split(cfg(kind="shards", samples_per_class=100))  # 20 clients x 100 > 600 per class
    with pytest.raises(InputError, match="classes_per_client"):
        split(cfg(kind="shards", classes_per_client=11))


def test_dirichlet_covers_every_sample_once_and_respects_min():
    parts = split(cfg(kind="dirichlet", alpha=0.3, min_samples=5), num_clients=20)
    assert_well_formed(parts, 20)
    assert min(len(p) for p in parts) >= 5
    everything = np.concatenate(parts)
    assert np.array_equal(np.sort(everything), np.arange(len(LABELS)))


def test_dirichlet_skew_grows_as_alpha_shrinks():
    def mean_classes(alpha):
        parts = split(cfg(kind="dirichlet", alpha=alpha, min_samples=0), num_clients=20)
        return np.mean([len(np.unique(LABELS[p])) for p in parts if len(p)])

    assert mean_classes(0.05) < mean_classes(100.0) == 10


def test_dirichlet_impossible_min_samples():
    with pytest.raises(InputError, match="min_samples"):
        split(cfg(kind="dirichlet", alpha=1.0, min_samples=100), num_clients=100)  # 10000 > 6000
    with pytest.raises(InputError, match="alpha"):
        split(cfg(kind="dirichlet", alpha=0.001, min_samples=50), num_clients=100)


def test_akafl_ranges():
    parts = split(cfg(kind="akafl", classes=[1, 2], samples_min=10, samples_max=49), num_clients=300)
    assert_well_formed(parts, 300)
    sizes = np.array([len(p) for p in parts])
    assert sizes.min() >= 10 and sizes.max() <= 49
    n_classes = np.array([len(np.unique(LABELS[p])) for p in parts])
    assert set(n_classes) == {1, 2}


def test_akafl_config_validation():
    with pytest.raises(ValidationError):
        cfg(kind="akafl", samples_min=20, samples_max=10)
    with pytest.raises(ValidationError):
        cfg(kind="akafl", classes=[3], samples_min=2, samples_max=5)
    with pytest.raises(InputError, match="dataset.partition.classes"):
        split(cfg(kind="akafl", classes=[11], samples_min=20))
    with pytest.raises(ValidationError):
        cfg(kind="dirichlet", alpha=0)
    with pytest.raises(ValidationError):
        cfg(kind="shards", extra=1)


@pytest.mark.parametrize(
    "config",
    [{"kind": "iid"}, {"kind": "shards"}, {"kind": "dirichlet", "alpha": 0.5}, {"kind": "akafl"}],
    ids=lambda c: c["kind"],
)
def test_deterministic_given_seed(config):
    a, b, c = split(cfg(**config), seed=3), split(cfg(**config), seed=3), split(cfg(**config), seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_too_many_clients():
    with pytest.raises(InputError):
        split(cfg(kind="iid"), num_clients=len(LABELS) + 1)
    with pytest.raises(InputError):
        split(cfg(kind="iid"), num_clients=0)
