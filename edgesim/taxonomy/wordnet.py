"""A tree over WordNet classes (Tiny ImageNet) from ImageNet's ``wordnet.is_a.txt`` hypernym relation.

The relation is a DAG: some synsets have several hypernyms. The tree is chosen
by one deterministic rule, applied after restricting the relation to the
classes and their ancestors:

* every node keeps the parent nearest the root ``n00001740`` (entity), by
  shortest path length in the relation, ties broken by the smallest wnid;
  this is a breadth-first shortest-path tree from the root;
* nodes that do not reach the root are dropped;
* ``Taxonomy.from_edges`` then prunes nodes left without classes below them
  and passes single-child chains through.

A class that is an ancestor of another class in the relation is an error
(``InputError``), whichever parents the rule would pick.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import networkx as nx

from edgesim.download import fetch
from edgesim.errors import InputError
from edgesim.taxonomy.edgelist import read_edges
from edgesim.taxonomy.tree import Taxonomy, ancestor_closure, short_list

WORDNET_ROOT = "n00001740"  # entity
WORDNET_IS_A_NAME = "wordnet.is_a.txt"
WORDNET_IS_A_SHA256 = "ff7206572ae989d1de8acbd6cbd921854fefd32dcdcb50eab11b81e797e28cd1"
# Where ImageNet historically published the file (its download-API page); the checksum guards the content.
WORDNET_IS_A_URLS = ("http://www.image-net.org/archive/wordnet.is_a.txt",)


def wordnet_is_a_file(data_dir: Path, allow_download: bool = True) -> Path:
    """``<data_dir>/wordnet.is_a.txt`` once its sha256 is verified, downloading it first if it is missing."""
    path = Path(data_dir) / WORDNET_IS_A_NAME
    return fetch(path, list(WORDNET_IS_A_URLS), sha256=WORDNET_IS_A_SHA256, allow_download=allow_download)


def load_wordnet_taxonomy(data_dir: Path, wnids: Sequence[str], allow_download: bool = True) -> Taxonomy:
    """The WordNet tree over ``wnids`` from the verified ``<data_dir>/wordnet.is_a.txt``."""
    return wordnet_taxonomy(wordnet_is_a_file(data_dir, allow_download), wnids)


def wordnet_taxonomy(is_a_path: Path, wnids: Sequence[str]) -> Taxonomy:
    """The tree over ``wnids`` (classes, in class order) chosen from an is-a file by the module's rule."""
    relation = nx.DiGraph(read_edges(is_a_path))
    missing = [w for w in wnids if w not in relation]
    if missing:
        raise InputError(f"{is_a_path}: {len(missing)} classes are not in the relation: {short_list(missing)}")
    part = relation.subgraph(ancestor_closure(relation, wnids))
    nested = sorted(w for w in wnids if part.out_degree(w))
    if nested:
        raise InputError(
            f"{is_a_path}: classes must be leaves, but {short_list(nested)} are hypernyms of other classes"
        )
    distance = _distances_from_root(part)
    unreached = [w for w in wnids if w not in distance]
    if unreached:
        raise InputError(f"{is_a_path}: classes that do not reach the root {WORDNET_ROOT}: {short_list(unreached)}")
    edges = [(nearest_parent(part, node, distance), node) for node in sorted(distance) if node != WORDNET_ROOT]
    try:
        return Taxonomy.from_edges(edges, wnids)
    except InputError as exc:
        raise InputError([f"{is_a_path}: {problem}" for problem in exc.problems]) from None


def nearest_parent(relation: nx.DiGraph, node: str, distance: dict[str, int]) -> str:
    """The parent of ``node`` nearest the root, ties broken by the smallest wnid."""
    return min((p for p in relation.predecessors(node) if p in distance), key=lambda p: (distance[p], p))


def _distances_from_root(relation: nx.DiGraph) -> dict[str, int]:
    """Shortest path length from ``WORDNET_ROOT`` to every node it reaches (empty if it is absent)."""
    if WORDNET_ROOT not in relation:
        return {}
    return nx.single_source_shortest_path_length(relation, WORDNET_ROOT)


def parse_words(text: str) -> dict[str, str]:
    """``wnid -> first synonym`` from the text of a ``words.txt`` (``wnid<TAB>word, word, ...`` lines)."""
    names = {}
    for line in text.splitlines():
        wnid, _, words = line.partition("\t")
        if wnid.strip() and words.strip():
            names[wnid.strip()] = words.split(",")[0].strip()
    return names
