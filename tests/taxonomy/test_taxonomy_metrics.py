"""Information precision/recall/F1 on a hand-built tree (leaf and internal predictions, 0/0 = 1)."""

import numpy as np
import pytest

from edgesim.taxonomy import InformationMetric, Taxonomy
from edgesim.taxonomy.cifar100 import cifar100_taxonomy

# 8 leaves, so I(root)=0, I(A)=I(B)=1, I(A2)=2, I(leaf)=3 bits.
EDGES = [("root", "A"), ("root", "B"), ("A", "a1"), ("A", "a2"), ("A", "A2"), ("A2", "a3"), ("A2", "a4")]
EDGES += [("B", f"b{i}") for i in range(1, 5)]
LEAVES = ["b1", "a1", "a3", "a2", "b2", "a4", "b3", "b4"]
TREE = Taxonomy.from_edges(EDGES, LEAVES)

# (truth, prediction, precision, recall, f1), worked out by hand.
CASES = [
    ("a1", "a1", 1, 1, 1),  # exact
    ("a3", "a4", 2 / 3, 2 / 3, 2 / 3),  # siblings under A2
    ("a1", "A2", 1 / 2, 1 / 3, 2 / 5),  # internal node beside the truth: lca A
    ("a3", "A", 1, 1 / 3, 1 / 2),  # an ancestor of the truth: fully precise
    ("b1", "root", 1, 0, 0),  # predicting the root: 0/0 precision counts as 1
    ("b1", "a1", 0, 0, 0),  # only the root in common: F1 0, not 0/0
]


def _indices(names):
    return np.array([TREE.index(n) for n in names])


def test_information_of_nodes():
    metric = InformationMetric(TREE)
    assert metric.information[_indices(["root", "A", "B", "A2", "a1", "b4"])].tolist() == [0, 1, 1, 2, 3, 3]


@pytest.mark.parametrize("truth, prediction, precision, recall, f1", CASES)
def test_single_examples(truth, prediction, precision, recall, f1):
    scores = InformationMetric(TREE).scores(_indices([truth]), _indices([prediction]))
    assert scores == pytest.approx({"info_precision": precision, "info_recall": recall, "info_f1": f1}, abs=1e-12)


def test_means_over_examples():
    truth, predicted = _indices([c[0] for c in CASES]), _indices([c[1] for c in CASES])
    scores = InformationMetric(TREE).scores(truth, predicted)
    assert scores == pytest.approx({"info_precision": 25 / 36, "info_recall": 7 / 18, "info_f1": 77 / 180}, abs=1e-12)


def test_lca():
    metric = InformationMetric(TREE)
    found = metric.lca(_indices(["a3", "a1", "b2", "a4", "A2"]), _indices(["a4", "a3", "b3", "root", "a3"]))
    assert found.tolist() == _indices(["A2", "A", "B", "root", "A2"]).tolist()


def test_bad_inputs():
    metric = InformationMetric(TREE)
    with pytest.raises(ValueError, match="class indices"):
        metric.scores(np.array([8]), np.array([0]))  # node 8 is the root, not a class
    with pytest.raises(ValueError, match="node indices"):
        metric.scores(np.array([0]), np.array([12]))
    with pytest.raises(ValueError, match="equal non-empty"):
        metric.scores(np.array([0, 1]), np.array([0]))


def test_chance_level_is_the_mean_f1_against_every_leaf():
    # Against the 8 leaves, worked out by hand: b1 scores 1 + 3 x 1/3 (its B siblings) = 2 -> 2/8;
    # a1 scores 1 + 3 x 1/3 (lca A) -> 2/8; a3 scores 1 + 2/3 (a4, lca A2) + 2 x 1/3 (a1, a2) -> 7/24.
    metric = InformationMetric(TREE)
    assert metric.chance_f1(_indices(["b1"])) == pytest.approx(1 / 4)
    assert metric.chance_f1(_indices(["a3"])) == pytest.approx(7 / 24)
    assert metric.chance_f1(_indices(["b1", "a1", "a3", "a3"])) == pytest.approx((1 / 4 + 1 / 4 + 2 * 7 / 24) / 4)
    with pytest.raises(ValueError, match="class indices"):
        metric.chance_f1(np.array([8]))


def test_chance_level_on_cifar100_matches_its_closed_form():
    # A random leaf is the right fine class 1 time in 100 and in the right superclass 5 in 100.
    chance = InformationMetric(cifar100_taxonomy()).chance_f1(np.arange(100))
    assert chance == pytest.approx(0.01 + np.log2(20) / np.log2(100) * (0.05 - 0.01))
