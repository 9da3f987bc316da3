"""CIFAR-100's packaged superclass tree, and the closed form of information F1 on it."""

import math

import numpy as np
import pytest

from edgesim.taxonomy import InformationMetric, cifar100_fine_names, cifar100_taxonomy


def test_tree_shape():
    t = cifar100_taxonomy()
    names = cifar100_fine_names()
    assert len(names) == 100 and names[:3] == ("apple", "aquarium_fish", "baby") and names[-1] == "worm"
    assert t.leaves == names and t.root == "root"
    assert len(t.children("root")) == 20 and all(c.startswith("coarse:") for c in t.children("root"))
    assert all(len(t.children(c)) == 5 for c in t.children("root"))
    assert t.parent("apple") == "coarse:fruit_and_vegetables" and t.parent("baby") == "coarse:people"
    assert t.summary() == {
        "nodes": 121, "leaves": 100, "experts": 21, "depth": 2,
        "min_children": 5, "max_children": 20, "mean_leaf_depth": 2.0,
    }


def test_f1_closed_form_on_random_leaf_predictions():
    t = cifar100_taxonomy()
    coarse = np.array([t.index(t.parent(leaf)) for leaf in t.leaves])
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 100, size=5000)
    predicted = rng.integers(0, 100, size=5000)
    # Make a good share exact and another share right only at the superclass.
    exact = rng.random(5000) < 0.35
    predicted[exact] = truth[exact]
    siblings = {c: np.flatnonzero(coarse == c) for c in np.unique(coarse)}
    near = (~exact) & (rng.random(5000) < 0.4)
    predicted[near] = [rng.choice(siblings[coarse[y]]) for y in truth[near]]

    fine_acc = np.mean(predicted == truth)
    coarse_acc = np.mean(coarse[predicted] == coarse[truth])
    assert 0.3 < fine_acc < coarse_acc < 0.8
    expected = fine_acc + math.log2(20) / math.log2(100) * (coarse_acc - fine_acc)
    scores = InformationMetric(t).scores(truth, predicted)
    assert math.log2(20) / math.log2(100) == pytest.approx(0.6505, abs=1e-4)
    for name in ("info_precision", "info_recall", "info_f1"):
        assert scores[name] == pytest.approx(expected, abs=1e-9)
