"""Predictions over a class taxonomy and their scores.

- ``beam_predict``: top-down search over per-node experts. A path's score is the
  sum of the experts' child log-probabilities along it. Width 1 is the paper's
  greedy descent (one expert per level); a wider beam keeps the best ``width``
  partial paths per level; ``width=None`` searches every path, i.e. the leaf
  with the largest product of path probabilities.
- ``flat_predictions``: a flat softmax's argmax leaf and its "majority"
  prediction, the deepest node whose leaves hold more than half the mass.
- ``hierarchical_scores``: leaf accuracy and the information metrics of a
  prediction.

- ``path_loss``: the hierarchical cross-entropy, minus the log of the true
  leaf's path probability.

Experts are given as a callable ``expert_log_probs(node, rows) -> (len(rows),
children)`` on the CPU; ``ExpertOutputs`` is one that runs each expert at most
once per row (on whatever device the inputs are), so greedy descent, beams and
true paths share their forward passes. Scoring runs on the CPU.
"""

from __future__ import annotations

import heapq
from typing import Callable

import numpy as np
import torch

from edgesim.taxonomy import InformationMetric, Taxonomy

ExpertLogProbs = Callable[[str, np.ndarray], torch.Tensor]


def beam_predict(taxonomy: Taxonomy, expert_log_probs: ExpertLogProbs, count: int,
                 width: int | None = 1) -> np.ndarray:
    """Leaf node index predicted for each of ``count`` examples (``width=None``: exhaustive)."""
    experts = set(taxonomy.experts)
    # beams[i]: list of (score, node) for example i; a node is final once it is a leaf
    beams: list[list[tuple[float, str]]] = [[(0.0, taxonomy.root)] for _ in range(count)]
    while True:
        wanted: dict[str, list[int]] = {}
        for i, beam in enumerate(beams):
            for _, node in beam:
                if node in experts:
                    wanted.setdefault(node, []).append(i)
        if not wanted:
            break
        expanded: list[list[tuple[float, str]]] = [[(s, n) for s, n in beam if n not in experts] for beam in beams]
        for node in sorted(wanted, key=taxonomy.index):
            rows = np.array(sorted(set(wanted[node])), dtype=np.int64)
            log_probs = expert_log_probs(node, rows).double().numpy()
            children = taxonomy.children(node)
            for row, child_scores in zip(rows, log_probs):
                base = next(s for s, n in beams[row] if n == node)
                expanded[row].extend((base + float(c), child) for c, child in zip(child_scores, children))
        beams = [_best(candidates, width, taxonomy) for candidates in expanded]
    return np.array([taxonomy.index(beam[0][1]) for beam in beams], dtype=np.int64)


class ExpertOutputs:
    """Lazily computed, cached expert log-probabilities over the rows of one input batch."""

    def __init__(self, taxonomy: Taxonomy, x: torch.Tensor, log_probs: Callable[[str, torch.Tensor], torch.Tensor]):
        self.taxonomy, self.x, self.log_probs = taxonomy, x, log_probs
        self._values: dict[str, torch.Tensor] = {}
        self._done: dict[str, np.ndarray] = {}

    def __call__(self, node: str, rows: np.ndarray) -> torch.Tensor:
        if node not in self._values:
            self._values[node] = torch.zeros(len(self.x), len(self.taxonomy.children(node)), dtype=torch.float64)
            self._done[node] = np.zeros(len(self.x), dtype=bool)
        values, done = self._values[node], self._done[node]
        missing = rows[~done[rows]]
        if len(missing):
            values[missing] = self.log_probs(node, self.x[missing]).double().cpu()
            done[missing] = True
        return values[rows]


def path_loss(taxonomy: Taxonomy, expert_log_probs: ExpertLogProbs, true_leaves: np.ndarray) -> float:
    """Mean over examples of minus the summed log-probabilities of the children on the true path."""
    total = np.zeros(len(true_leaves))
    for node in taxonomy.experts:
        route = taxonomy.route(node)[true_leaves]
        rows = np.nonzero(route >= 0)[0]
        if len(rows):
            picked = expert_log_probs(node, rows).numpy()[np.arange(len(rows)), route[rows]]
            total[rows] -= picked
    return float(total.mean())


def _best(candidates: list[tuple[float, str]], width: int | None, taxonomy: Taxonomy) -> list[tuple[float, str]]:
    """The ``width`` best candidates, best first; ties go to the lower node index (deterministic)."""
    key = lambda c: (-c[0], taxonomy.index(c[1]))  # noqa: E731
    if width is None:
        return sorted(candidates, key=key)
    return heapq.nsmallest(width, candidates, key=key)


def flat_predictions(taxonomy: Taxonomy, leaf_probs: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(argmax leaf, majority node) indices for a flat model's leaf probabilities ``(N, leaves)``, on the CPU."""
    leaf = leaf_probs.argmax(dim=1).numpy().astype(np.int64)
    membership = torch.from_numpy(taxonomy.membership()).to(leaf_probs.dtype)
    node_probs = leaf_probs @ membership.T  # (N, nodes)
    depths = torch.tensor([taxonomy.depth(n) for n in taxonomy.nodes], dtype=torch.float64)
    # the nodes above one half form a chain from the root; take its deepest
    masked_depth = torch.where(node_probs > 0.5, depths, torch.full_like(depths, -1.0))
    majority = masked_depth.argmax(dim=1).numpy().astype(np.int64)
    return leaf, majority


def hierarchical_scores(metric: InformationMetric, true_leaves: np.ndarray, predicted: np.ndarray,
                        suffix: str = "") -> dict[str, float]:
    """``accuracy`` (exact leaf) and ``info_precision/recall/f1``, keys ending in ``suffix``."""
    scores = {"accuracy": float(np.mean(predicted == true_leaves)), **metric.scores(true_leaves, predicted)}
    return {f"{key}{suffix}": value for key, value in scores.items()}
