"""How close do server rules for 1-bit mask uploads come to score averaging, from the same client updates?

Runs the first rounds of MPT-FL 1/32 at the Table 2 settings with score upload and, at every round, builds
the new mask each rule would give from that round's ten client updates. It prints, per scored layer, how
many entries each rule's mask differs from score averaging's, in units of the entries score averaging
itself changed (leaving the mask alone scores 1.0). The rules: the step rule of ``upload: mask`` at three
server learning rates, the clients' vote share, and a posterior-mean rule that was tried and dropped (defined
here; analysis/mpt_fl/REPORT.md, "1-bit uploads", reports both).

Usage (EDGESIM_DATA set; about a minute a round on one busy core):
    python analysis/mpt_fl_mask_diagnostic.py [ROUNDS]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
from scipy import optimize

from edgesim import simulate
from edgesim.fl import mpt_fl
from edgesim.fl.aggregate import scores_from_masks, weighted_average
from edgesim.models.scored import top_k_mask

SCENARIO = "scenarios/paper/mpt_fl_mnist.yaml"


def posterior_rule(scores: torch.Tensor, masks: list[torch.Tensor], weights: list[float], keep: float,
                   nodes: int = 48) -> torch.Tensor:
    """New scores from masks: each magnitude moves by its posterior mean change. A client's new magnitude is
    modelled as ``|S| + mu + N(0, sigma^2)``, so it keeps a weight with probability ``Phi((|S| - t + mu) /
    sigma)``; ``sigma`` is fitted per tensor so that the expected number of masks disagreeing with the
    server's matches the observed one; the prior is ``mu ~ N(0, sigma^2)``; Gauss-Hermite quadrature."""
    magnitude = scores.abs().double()
    kept = top_k_mask(magnitude, keep).bool()
    distance = magnitude - magnitude[kept].min()
    n = len(masks)
    keeping = n * weighted_average([m.double() for m in masks], weights)
    dissent = torch.where(kept, n - keeping, keeping)
    observed = float(dissent.sum())
    change = torch.zeros_like(distance)
    if observed <= 0:
        return scores.clone()
    far, scale = distance.abs(), float(distance.abs().max())

    def excess(log_sigma: float) -> float:
        return n * float(torch.special.ndtr(-far / math.exp(log_sigma)).sum()) - observed

    low, high = math.log(scale * 1e-9), math.log(scale)
    sigma = scale if excess(high) <= 0 else math.exp(low) if excess(low) >= 0 else math.exp(
        optimize.brentq(excess, low, high))
    informative = (far < 8 * sigma) | (dissent > 0)
    d, k = distance[informative], keeping[informative]
    z_nodes, z_weights = np.polynomial.hermite_e.hermegauss(nodes)
    mu = sigma * torch.from_numpy(z_nodes)
    z = (d[None, :] + mu[:, None]) / sigma
    log_post = (k * torch.special.log_ndtr(z) + (n - k) * torch.special.log_ndtr(-z)
                + torch.from_numpy(np.log(z_weights / z_weights.sum()))[:, None])
    change[informative] = (torch.softmax(log_post, dim=0) * mu[:, None]).sum(dim=0)
    signs = torch.where(scores < 0, -1.0, 1.0).double()
    return (signs * (magnitude + change).clamp_min(0)).to(scores.dtype)


def compare(self, base, updates, averaged) -> dict:
    weights = [u.num_samples for u in updates]
    row = {}
    for name, layer in self.scored.items():
        key = f"{name}.scores"
        masks = [top_k_mask(u.state[key].abs(), layer.keep) for u in updates]
        before = top_k_mask(base[key].abs(), layer.keep)
        target = top_k_mask(averaged[key].abs(), layer.keep)
        changed = max(int((target != before).sum()), 1)
        rules = {f"step {lr}": scores_from_masks(base[key], masks, weights, layer.keep, lr) for lr in (1.0, 0.1, 0.03)}
        rules["vote share"] = weighted_average(masks, weights) + 1e-6 * base[key].abs() / base[key].abs().max()
        rules["posterior"] = posterior_rule(base[key], masks, weights, layer.keep)
        row[name] = {rule: int((top_k_mask(new.abs(), layer.keep) != target).sum()) / changed
                     for rule, new in rules.items()}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rounds", nargs="?", type=int, default=3, help="rounds of MPT-FL 1/32 to replay (default 3)")
    rounds = parser.parse_args().rounds
    torch.set_num_threads(1)
    score_fold = mpt_fl.MptFl.fold
    folded = []

    def fold(self, base, updates):
        averaged = score_fold(self, base, updates)
        folded.append(1)
        for layer, distances in compare(self, base, updates, averaged).items():
            print(f"round {len(folded)} layer {layer}: " + ", ".join(f"{r} {v:.2f}" for r, v in distances.items()),
                  flush=True)
        return averaged

    mpt_fl.MptFl.fold = fold
    simulate(SCENARIO, overrides={"stop.max_rounds": rounds, "algorithm.lr_schedule.rounds": 300,
                                  "evaluation.every_rounds": rounds, "dataset.test_subset": 500})


if __name__ == "__main__":
    main()
