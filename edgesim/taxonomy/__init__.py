"""Class taxonomies: trees over dataset classes whose branching nodes own experts, and metrics on them.

Typical use::

    taxonomy = cifar100_taxonomy()                     # or load_wordnet_taxonomy / edgelist_taxonomy
    targets = taxonomy.route(taxonomy.experts[0])[y]   # expert's training targets, -1 = not its sample
    InformationMetric(taxonomy).scores(y, predicted_node_indices)

``draw_taxonomy`` and ``render_summary`` come from ``edgesim.taxonomy.draw``, imported
on first use so that matplotlib is loaded only when a tree is drawn.
"""

from __future__ import annotations

from edgesim.taxonomy.cifar100 import cifar100_fine_names, cifar100_taxonomy
from edgesim.taxonomy.config import TaxonomyConfig
from edgesim.taxonomy.edgelist import edgelist_taxonomy, read_edges
from edgesim.taxonomy.metrics import InformationMetric
from edgesim.taxonomy.tree import Taxonomy
from edgesim.taxonomy.wordnet import WORDNET_IS_A_SHA256, load_wordnet_taxonomy, wordnet_is_a_file, wordnet_taxonomy

__all__ = [
    "InformationMetric",
    "Taxonomy",
    "TaxonomyConfig",
    "WORDNET_IS_A_SHA256",
    "cifar100_fine_names",
    "cifar100_taxonomy",
    "draw_taxonomy",
    "edgelist_taxonomy",
    "load_wordnet_taxonomy",
    "read_edges",
    "render_summary",
    "wordnet_is_a_file",
    "wordnet_taxonomy",
]
_DRAWING = ("draw_taxonomy", "render_summary")


def __getattr__(name: str) -> object:
    """Load the drawing functions (and matplotlib) only when they are asked for."""
    if name in _DRAWING:
        from edgesim.taxonomy import draw

        return getattr(draw, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
