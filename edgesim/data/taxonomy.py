"""The taxonomy a scenario's dataset uses: built in (CIFAR-100, WordNet) or an edge-list file."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from edgesim.data import DatasetConfig, resolve_data_dir
from edgesim.data import class_names as dataset_class_names
from edgesim.errors import InputError
from edgesim.taxonomy.cifar100 import cifar100_taxonomy
from edgesim.taxonomy.edgelist import edgelist_taxonomy
from edgesim.taxonomy.tree import Taxonomy
from edgesim.taxonomy.wordnet import load_wordnet_taxonomy


def dataset_taxonomy(config: DatasetConfig, class_names: Sequence[str] | None = None) -> Taxonomy:
    """Build ``config.taxonomy`` over the dataset's classes (a validated scenario holds an edge-list path
    absolute; a relative one here is taken from the working directory). Without ``class_names`` they are read cheaply from the dataset's index files; the built-in
    CIFAR-100 tree needs none (its classes come from the official table shipped with edgesim)."""
    if config.name == "cifar100" and config.taxonomy.kind == "builtin":
        taxonomy = cifar100_taxonomy()
        if class_names is not None and tuple(class_names) != taxonomy.leaves:
            raise InputError("dataset: the CIFAR-100 archive's fine label names differ from the official table")
        return taxonomy
    if class_names is None:
        class_names = dataset_class_names(config)
    if config.taxonomy.kind == "edgelist":
        return edgelist_taxonomy(Path(config.taxonomy.path).expanduser(), class_names)
    if config.name == "tiny_imagenet":
        return load_wordnet_taxonomy(resolve_data_dir(config), class_names, config.download)
    raise InputError(f"dataset.taxonomy: {config.name} has no built-in taxonomy; "
                     "give one as an edge-list file (taxonomy: {kind: edgelist, path: FILE})")
