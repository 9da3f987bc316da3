"""The flat-softmax baseline of hierarchical classification (Valmadre, NeurIPS 2022).

FedAvg on a model with one logit per leaf class, scored over the taxonomy: a
node's probability is the sum of its leaves'. ``accuracy`` and ``info_*``
score the argmax leaf; ``info_*_majority`` score the deepest node holding
more than half the probability (a prediction that may stop above the leaves).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from edgesim.fl.fedavg import FedAvg, FedAvgConfig
from edgesim.fl.hierarchy import flat_predictions, hierarchical_scores
from edgesim.taxonomy import InformationMetric

_EVAL_BATCH = 2000


class FlatSoftmaxConfig(FedAvgConfig):
    name: Literal["flat_softmax"] = "flat_softmax"


class FlatSoftmax(FedAvg):
    needs_taxonomy = True
    metric_columns = FedAvg.metric_columns + ("info_precision", "info_recall", "info_f1",
                                              "info_precision_majority", "info_recall_majority",
                                              "info_f1_majority")

    def __init__(self, config: FlatSoftmaxConfig, setup):
        super().__init__(config, setup)
        self.metric = InformationMetric(setup.taxonomy)

    @torch.inference_mode()
    def evaluate(self, x, y):
        self.model.load_state_dict(self.state)
        self.model.eval()
        log_probs = torch.cat([F.log_softmax(self.model(x[s:s + _EVAL_BATCH]).double(), dim=1).cpu()
                               for s in range(0, len(x), _EVAL_BATCH)])
        y = y.cpu()
        leaf, majority = flat_predictions(self.setup.taxonomy, log_probs.exp())
        truth = y.numpy()
        majority_scores = self.metric.scores(truth, majority)
        return {"loss": float(F.nll_loss(log_probs, y)), **hierarchical_scores(self.metric, truth, leaf),
                **{f"{k}_majority": v for k, v in majority_scores.items()}}

    def describe(self):
        return {**super().describe(), "taxonomy": self.setup.taxonomy.summary(),
                "info_f1_chance": self.metric.chance_f1(self.setup.dataset.test_y.cpu().numpy())}
