"""Predictions over a taxonomy: greedy and beam descent over experts, flat argmax and majority."""

import math

import numpy as np
import pytest
import torch

from edgesim.fl.hierarchy import ExpertOutputs, beam_predict, flat_predictions, hierarchical_scores, path_loss
from edgesim.taxonomy import InformationMetric, Taxonomy

# r -> x (a, b), y (c, d); leaves a, b, c, d are classes 0..3
TREE = Taxonomy.from_edges([("r", "x"), ("r", "y"), ("x", "a"), ("x", "b"), ("y", "c"), ("y", "d")],
                           ["a", "b", "c", "d"])

# One example: the root prefers x (0.55) but x is unsure (a, b at 0.5); y is sure of c (0.95).
PROBS = {"r": [0.55, 0.45], "x": [0.5, 0.5], "y": [0.95, 0.05]}


def experts(calls):
    def log_probs(node, rows):
        calls.append((node, tuple(rows)))
        return torch.log(torch.tensor([PROBS[node]] * len(rows), dtype=torch.float64))
    return log_probs


def leaf_name(index):
    return TREE.nodes[index]


def test_greedy_follows_the_argmax_child_and_runs_one_expert_per_level():
    calls = []
    predicted = beam_predict(TREE, experts(calls), 1, width=1)
    assert leaf_name(predicted[0]) == "a"  # 0.55 * 0.5 = 0.275, ties go to the first child
    assert [node for node, _ in calls] == ["r", "x"]


def test_wider_beam_and_exhaustive_search_find_the_most_probable_leaf():
    for width in (2, None):
        predicted = beam_predict(TREE, experts([]), 1, width=width)
        assert leaf_name(predicted[0]) == "c"  # 0.45 * 0.95 = 0.4275


def test_beam_batches_examples_per_expert():
    calls = []
    beam_predict(TREE, experts(calls), 3, width=2)
    assert calls == [("r", (0, 1, 2)), ("x", (0, 1, 2)), ("y", (0, 1, 2))]


def test_flat_majority_is_the_deepest_node_above_one_half():
    probs = torch.tensor([[0.3, 0.3, 0.2, 0.2],    # x holds 0.6 -> majority x, argmax a
                          [0.1, 0.1, 0.7, 0.1],    # c itself holds 0.7
                          [0.3, 0.2, 0.3, 0.2]],   # x and y hold 0.5 each -> only the root
                         dtype=torch.float64)
    leaf, majority = flat_predictions(TREE, probs)
    assert [leaf_name(i) for i in leaf] == ["a", "c", "a"]
    assert [TREE.nodes[i] for i in majority] == ["x", "c", "r"]


def test_scores_combine_leaf_accuracy_and_information_metrics():
    metric = InformationMetric(TREE)
    truth = np.array([0, 2])
    predicted = np.array([TREE.index("a"), TREE.index("d")])
    scores = hierarchical_scores(metric, truth, predicted, suffix="_x")
    # example 1 exact (1, 1, 1); example 2: LCA(c, d) = y with I = 1 bit of 2 -> P = R = F1 = 0.5
    assert scores == {"accuracy_x": 0.5, "info_precision_x": 0.75, "info_recall_x": 0.75, "info_f1_x": 0.75}
    assert math.isclose(metric.scores(np.array([0]), np.array([TREE.index("x")]))["info_recall"], 0.5)


def test_expert_outputs_run_each_expert_once_per_row_and_path_loss_sums_the_true_path():
    calls = []

    def log_probs(node, x):
        calls.append((node, len(x)))
        return torch.log(torch.tensor([PROBS[node]] * len(x)))

    outputs = ExpertOutputs(TREE, torch.zeros(3, 1), log_probs)
    beam_predict(TREE, outputs, 3, width=1)
    beam_predict(TREE, outputs, 3, width=None)
    loss = path_loss(TREE, outputs, np.array([0, 2, 3]))
    assert calls == [("r", 3), ("x", 3), ("y", 3)]
    expected = -np.mean([np.log(0.55 * 0.5), np.log(0.45 * 0.95), np.log(0.45 * 0.05)])
    assert loss == pytest.approx(expected)
