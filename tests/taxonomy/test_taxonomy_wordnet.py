"""The WordNet parent rule on small hand-written relations, and the real Tiny ImageNet tree when EDGESIM_DATA has it."""

import os
import zipfile
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from edgesim.errors import InputError
from edgesim.taxonomy import (WORDNET_IS_A_SHA256, InformationMetric, load_wordnet_taxonomy, wordnet_is_a_file,
                              wordnet_taxonomy)
from edgesim.taxonomy.wordnet import WORDNET_ROOT, parse_words

# l1: parents nC (2 steps from the root) and nB (1 step) -> nB.  l2: nA and nB tie -> nA (smaller wnid).
# nC is then left with l3 only and passes through; n99 does not reach the root and is dropped.
RELATION = f"""{WORDNET_ROOT} nA
{WORDNET_ROOT} nB
nA nC
nC l1
nC l3
nB l1
nA l2
nB l2
nB l4
n99 l4
nA unrelated
"""


def write(tmp_path, text, name="is_a.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_nearest_parent_rule(tmp_path):
    t = wordnet_taxonomy(write(tmp_path, RELATION), ["l1", "l2", "l3", "l4"])
    assert t.root == WORDNET_ROOT
    assert sorted(t.graph.edges) == sorted(
        [(WORDNET_ROOT, "nA"), (WORDNET_ROOT, "nB"), ("nA", "l2"), ("nA", "l3"), ("nB", "l1"), ("nB", "l4")]
    )


def test_class_above_another_class_is_an_error(tmp_path):
    with pytest.raises(InputError, match="nC are hypernyms of other classes"):
        wordnet_taxonomy(write(tmp_path, RELATION), ["l1", "l3", "nC"])


def test_classes_must_reach_the_root(tmp_path):
    with pytest.raises(InputError, match=f"do not reach the root {WORDNET_ROOT}: l5"):
        wordnet_taxonomy(write(tmp_path, RELATION + "n99 l5\n"), ["l1", "l5"])
    with pytest.raises(InputError, match="1 classes are not in the relation: l9"):
        wordnet_taxonomy(write(tmp_path, RELATION), ["l1", "l9"])


def test_load_verifies_the_checksum(tmp_path):
    write(tmp_path, RELATION, name="wordnet.is_a.txt")
    with pytest.raises(InputError, match="sha256 checksum mismatch"):
        load_wordnet_taxonomy(tmp_path, ["l1", "l2"], allow_download=False)
    with pytest.raises(InputError, match="downloading is off"):
        load_wordnet_taxonomy(tmp_path / "empty", ["l1", "l2"], allow_download=False)


def test_parse_words():
    text = "n00001740\tentity\nn02124075\tEgyptian cat\nn01443537\tgoldfish, Carassius auratus\n"
    assert parse_words(text) == {"n00001740": "entity", "n02124075": "Egyptian cat", "n01443537": "goldfish"}


REAL = Path(os.environ.get("EDGESIM_DATA", "/nonexistent"))
ZIP = REAL / "tiny-imagenet-200-half.zip"


@pytest.mark.skipif(
    not ((REAL / "wordnet.is_a.txt").is_file() and ZIP.is_file()),
    reason="EDGESIM_DATA has no wordnet.is_a.txt and tiny-imagenet-200-half.zip",
)
def test_real_tiny_imagenet_tree():
    with zipfile.ZipFile(ZIP) as archive:
        wnids = archive.read("tiny-imagenet-200/wnids.txt").decode().split()
    assert len(wnids) == 200
    t = load_wordnet_taxonomy(REAL, wnids, allow_download=False)
    assert t.leaves == tuple(wnids)
    assert nx.is_arborescence(t.graph)
    assert {n for n in t.graph if t.graph.out_degree(n) == 0} == set(wnids)
    assert all(t.path(w)[0] == t.root for w in wnids)
    assert all(len(t.children(e)) >= 2 for e in t.experts)
    # entity has a single child (physical entity) above the classes, so it passes through.
    assert t.root == "n00001930"
    assert t.summary() == {
        "nodes": 293, "leaves": 200, "experts": 93, "depth": 10,
        "min_children": 2, "max_children": 14, "mean_leaf_depth": pytest.approx(6.615),
    }
    # ALGORITHMS.md §3.6: a uniformly random leaf scores Info-F1 about 0.107 on this tree (balanced classes)
    assert InformationMetric(t).chance_f1(np.arange(200)) == pytest.approx(0.107, abs=0.001)
    again = load_wordnet_taxonomy(REAL, wnids, allow_download=False)
    assert sorted(again.graph.edges) == sorted(t.graph.edges) and again.nodes == t.nodes
    assert wordnet_is_a_file(REAL, allow_download=False) == REAL / "wordnet.is_a.txt"
    assert len(WORDNET_IS_A_SHA256) == 64
