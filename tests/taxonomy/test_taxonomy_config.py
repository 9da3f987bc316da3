"""The taxonomy: section: defaults, the edge-list path rule, strictness."""

import pytest
from pydantic import ValidationError

from edgesim.taxonomy import TaxonomyConfig


def test_defaults_and_edgelist():
    assert TaxonomyConfig() == TaxonomyConfig(kind="builtin", path=None)
    assert TaxonomyConfig(kind="edgelist", path="/data/tree.txt").path == "/data/tree.txt"


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"kind": "edgelist"}, "path is required for kind edgelist"),
        ({"kind": "builtin", "path": "tree.txt"}, "only used with kind edgelist"),
        ({"kind": "wordnet"}, "'builtin' or 'edgelist'"),
        ({"depth": 3}, "Extra inputs are not permitted"),
    ],
)
def test_rejects(fields, message):
    with pytest.raises(ValidationError, match=message):
        TaxonomyConfig(**fields)


def test_frozen():
    with pytest.raises(ValidationError):
        TaxonomyConfig().kind = "edgelist"
