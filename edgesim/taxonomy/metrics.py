"""Information-weighted hierarchical precision, recall and F1 over a taxonomy.

The information of a node is ``I(v) = -log2(leaves(v) / leaves(root))``. For a
true leaf ``y``, a predicted node ``p`` (a leaf or an internal node) and their
lowest common ancestor ``a``: recall ``I(a)/I(y)``, precision ``I(a)/I(p)``
(``0/0 = 1``), F1 their harmonic mean (0 when both are 0). Scores are means over
examples. For leaf predictions on CIFAR-100 the F1 equals
``acc_fine + (log2 20 / log2 100) * (acc_coarse - acc_fine)``.

The chance level (``chance_f1``) is the expected F1 of a leaf drawn uniformly
at random for every example: on the pruned WordNet tree of Tiny ImageNet it is
about 0.107 (ALGORITHMS.md §3.6), so an Info-F1 means little until it stands
beside it.
"""

from __future__ import annotations

import numpy as np

from edgesim.taxonomy.tree import Taxonomy


class InformationMetric:
    """Vectorised information precision/recall/F1 for one taxonomy (node indices as in ``taxonomy.nodes``)."""

    def __init__(self, taxonomy: Taxonomy):
        nodes = taxonomy.nodes
        root = taxonomy.index(taxonomy.root)
        self.num_leaves = len(taxonomy.leaves)
        # The root is its own parent, so walking up past it stays put.
        self.parent = np.array(
            [root if taxonomy.parent(n) is None else taxonomy.index(taxonomy.parent(n)) for n in nodes], dtype=np.int64
        )
        self.depth = np.array([taxonomy.depth(n) for n in nodes], dtype=np.int64)
        total = taxonomy.leaf_count(taxonomy.root)
        counts = np.array([taxonomy.leaf_count(n) for n in nodes], dtype=np.float64)
        self.information = -np.log2(counts / total)

    def lca(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Node index of the lowest common ancestor of each pair ``a[i], b[i]``."""
        a, b = np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)
        while np.any(a != b):
            da, db = self.depth[a], self.depth[b]
            up_a, up_b = (a != b) & (da >= db), (a != b) & (db >= da)
            a = np.where(up_a, self.parent[a], a)
            b = np.where(up_b, self.parent[b], b)
        return a

    def scores(self, true_leaves: np.ndarray, predicted_nodes: np.ndarray) -> dict[str, float]:
        """Mean ``info_precision``, ``info_recall`` and ``info_f1`` over examples.

        ``true_leaves`` are class indices; ``predicted_nodes`` are node indices and may be internal nodes.
        """
        truth = np.asarray(true_leaves, dtype=np.int64)
        predicted = np.asarray(predicted_nodes, dtype=np.int64)
        if truth.ndim != 1 or truth.shape != predicted.shape or truth.size == 0:
            raise ValueError(f"expected two equal non-empty 1-d arrays, got shapes {truth.shape} and {predicted.shape}")
        if truth.min() < 0 or truth.max() >= self.num_leaves:
            raise ValueError(f"true labels must be class indices in [0, {self.num_leaves})")
        if predicted.min() < 0 or predicted.max() >= len(self.parent):
            raise ValueError(f"predictions must be node indices in [0, {len(self.parent)})")
        precision, recall, f1 = self._per_example(truth, predicted)
        return {
            "info_precision": float(precision.mean()),
            "info_recall": float(recall.mean()),
            "info_f1": float(f1.mean()),
        }


    def chance_f1(self, true_leaves: np.ndarray) -> float:
        """Expected mean ``info_f1`` when every example's prediction is a leaf drawn uniformly at random:
        the mean over examples of the mean F1 against every leaf (exact, no sampling)."""
        labels, counts = np.unique(np.asarray(true_leaves, dtype=np.int64), return_counts=True)
        if labels.size == 0 or labels.min() < 0 or labels.max() >= self.num_leaves:
            raise ValueError(f"true labels must be a non-empty array of class indices in [0, {self.num_leaves})")
        truth = np.repeat(labels, self.num_leaves)
        leaves = np.tile(np.arange(self.num_leaves), labels.size)  # leaf i is node i
        f1_per_label = self._per_example(truth, leaves)[2].reshape(labels.size, self.num_leaves).mean(axis=1)
        return float(np.average(f1_per_label, weights=counts))

    def _per_example(self, truth: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        shared = self.information[self.lca(truth, predicted)]
        precision = _ratio(shared, self.information[predicted])
        recall = _ratio(shared, self.information[truth])
        total = precision + recall
        f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
        return precision, recall, f1


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` with ``0/0 = 1`` (the numerator never exceeds the denominator)."""
    return np.divide(numerator, denominator, out=np.ones_like(numerator), where=denominator > 0)
