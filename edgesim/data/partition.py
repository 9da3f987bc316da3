"""Splitting the train set over clients: iid, label shards, Dirichlet label skew, AKAFL-style.

``partition`` returns one sorted int64 array of train-set indices per client.
All randomness comes from the generator passed in.
"""

from __future__ import annotations

import numpy as np

from edgesim.data.config import AkaflPartition, DirichletPartition, IidPartition, PartitionConfig, ShardsPartition
from edgesim.errors import InputError

DIRICHLET_TRIES = 100


def partition(
    labels: np.ndarray, num_clients: int, config: PartitionConfig, rng: np.random.Generator
) -> list[np.ndarray]:
    """Indices into the train set for each of ``num_clients`` clients, each sorted ascending."""
    labels = np.asarray(labels)
    if num_clients < 1:
        raise InputError(f"number of clients must be at least 1, got {num_clients}")
    split = _PARTITIONERS[config.kind]
    return [np.sort(part).astype(np.int64) for part in split(labels, num_clients, config, rng)]


def _by_class(labels: np.ndarray) -> dict[int, np.ndarray]:
    """Train indices of each class present, in ascending class order."""
    return {int(k): np.flatnonzero(labels == k) for k in np.unique(labels)}


def _iid(labels: np.ndarray, num_clients: int, config: IidPartition, rng: np.random.Generator) -> list[np.ndarray]:
    if num_clients > len(labels):
        raise InputError(f"dataset.partition: iid split of {len(labels)} train samples over {num_clients} clients "
                         "would leave clients empty; use fewer clients")
    return np.array_split(rng.permutation(len(labels)), num_clients)


def _shards(
    labels: np.ndarray, num_clients: int, config: ShardsPartition, rng: np.random.Generator
) -> list[np.ndarray]:
    pools = _by_class(labels)
    classes = np.array(list(pools))
    c, n = config.classes_per_client, config.samples_per_class
    if c > len(classes):
        raise InputError(f"dataset.partition.classes_per_client: {c} exceeds the {len(classes)} classes in the data")
    # Each client takes the c least-used classes so far (ties broken at random): balanced and distinct.
    usage = np.zeros(len(classes), dtype=np.int64)
    chosen = []
    for _ in range(num_clients):
        picks = np.lexsort((rng.random(len(classes)), usage))[:c]
        usage[picks] += 1
        chosen.append(picks)
    shuffled = {}
    for k, used in zip(classes, usage):
        if used * n > len(pools[k]):
            raise InputError(
                f"dataset.partition.samples_per_class: {used} clients x {n} samples of class {k} need "
                f"{used * n}, but it has {len(pools[k])}; lower samples_per_class or classes_per_client, "
                "or use fewer clients"
            )
        shuffled[k] = rng.permutation(pools[k])
    taken = dict.fromkeys(shuffled, 0)
    parts = []
    for picks in chosen:
        chunks = []
        for k in classes[picks]:
            chunks.append(shuffled[k][taken[k] : taken[k] + n])
            taken[k] += n
        parts.append(np.concatenate(chunks))
    return parts


def _dirichlet(
    labels: np.ndarray, num_clients: int, config: DirichletPartition, rng: np.random.Generator
) -> list[np.ndarray]:
    if num_clients * config.min_samples > len(labels):
        raise InputError(f"dataset.partition.min_samples: {num_clients} clients x {config.min_samples} exceeds "
                         f"the {len(labels)} train samples")
    pools = list(_by_class(labels).values())
    for _ in range(DIRICHLET_TRIES):
        chunks: list[list[np.ndarray]] = [[] for _ in range(num_clients)]
        for pool in pools:
            shares = rng.dirichlet(np.full(num_clients, config.alpha))
            cuts = (np.cumsum(shares)[:-1] * len(pool)).astype(np.int64)
            for client, chunk in enumerate(np.split(rng.permutation(pool), cuts)):
                chunks[client].append(chunk)
        parts = [np.concatenate(c) for c in chunks]
        if min(len(p) for p in parts) >= config.min_samples:
            return parts
    raise InputError(
        f"dataset.partition: Dirichlet(alpha={config.alpha}) split gave some client fewer than "
        f"min_samples={config.min_samples} samples in {DIRICHLET_TRIES} tries; raise dataset.partition.alpha, "
        "lower dataset.partition.min_samples, or use fewer clients"
    )


def _akafl(labels: np.ndarray, num_clients: int, config: AkaflPartition, rng: np.random.Generator) -> list[np.ndarray]:
    pools = _by_class(labels)
    classes = np.array(list(pools))
    if max(config.classes) > len(classes):
        raise InputError(f"dataset.partition.classes: {max(config.classes)} classes per client exceeds the "
                         f"{len(classes)} classes in the data")
    parts = []
    for client in range(num_clients):
        c = int(rng.choice(config.classes))
        n = int(rng.integers(config.samples_min, config.samples_max + 1))
        picked = rng.choice(classes, size=c, replace=False)
        counts = 1 + rng.multinomial(n - c, rng.dirichlet(np.ones(c)))
        chunks = []
        for k, count in zip(picked, counts):
            if count > len(pools[k]):
                raise InputError(f"dataset.partition.samples_max: client {client} needs {count} samples of "
                                 f"class {k}, which has only {len(pools[k])}; lower samples_max")
            chunks.append(rng.choice(pools[k], size=count, replace=False))
        parts.append(np.concatenate(chunks))
    return parts


_PARTITIONERS = {"iid": _iid, "shards": _shards, "dirichlet": _dirichlet, "akafl": _akafl}
