"""Which taxonomy a scenario's dataset gets: built in, from an edge list, or a clear error."""

import pytest

from edgesim.data import DatasetConfig
from edgesim.errors import InputError
from edgesim.taxonomy import TaxonomyConfig, cifar100_fine_names
from edgesim.data.taxonomy import dataset_taxonomy


def test_cifar100_is_built_in_and_needs_no_archive(tmp_path):
    config = DatasetConfig(name="cifar100", data_dir=str(tmp_path), download=False)
    taxonomy = dataset_taxonomy(config)
    assert taxonomy.summary()["experts"] == 21
    assert dataset_taxonomy(config, cifar100_fine_names()).leaves == taxonomy.leaves
    with pytest.raises(InputError, match="fine label names differ"):
        dataset_taxonomy(config, tuple(reversed(cifar100_fine_names())))


def test_an_edge_list_gives_any_dataset_a_taxonomy(tmp_path):
    tree = tmp_path / "tree.txt"
    tree.write_text("root a\nroot b\na 0\na 1\nb 2\nb 3\nb 4\n")
    config = DatasetConfig(name="synthetic", synthetic={"num_classes": 5},
                           taxonomy=TaxonomyConfig(kind="edgelist", path=str(tree)))
    taxonomy = dataset_taxonomy(config)
    assert taxonomy.leaves == ("0", "1", "2", "3", "4")
    assert taxonomy.experts == ("root", "a", "b")


def test_no_built_in_taxonomy_for_mnist():
    with pytest.raises(InputError, match="mnist has no built-in taxonomy"):
        dataset_taxonomy(DatasetConfig(name="mnist"))
