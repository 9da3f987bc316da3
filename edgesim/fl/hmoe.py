"""Hierarchical mixture of experts trained one expert per round (spec: ALGORITHMS.md §3).

Every internal node of the taxonomy with two or more children owns an
expert: the scenario's model with one output per child. Each round the server
picks one expert (``schedule: round_robin`` in breadth-first order, the
default; or ``proportional`` to the training samples routed to it), sends
only that expert, and the selected clients holding data under its node train
it on their relabelled samples (target = the child on the path to the
sample's leaf). The server averages the returned experts weighted by routed
sample counts. Payload, FLOPs and memory of a round are that expert's alone,
so a device too small for the largest expert still trains the small ones.

Inference: top-down greedy descent (the paper) and a beam search over the
experts' path probabilities (``beam_width``; no extra training). Both are
scored every evaluation; ``inference`` says which one fills ``accuracy`` and
``info_*``. ``loss`` is the hierarchical cross-entropy: minus the log of the
true leaf's path probability.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field

from edgesim.fl.config import LocalSGDConfig
from edgesim.fl.expert_width import ExpertWidth, SameWidth
from edgesim.fl.fedavg import fedavg_round
from edgesim.fl.hierarchy import ExpertOutputs, beam_predict, hierarchical_scores, path_loss
from edgesim.fl.local_model import LocalModel, local_model
from edgesim.fl.strategy import AlgorithmSetup, Strategy
from edgesim.fl.trainer import TrainJob, clone_state
from edgesim.fl.training_state import on_device
from edgesim.models import ModelConfig
from edgesim.taxonomy import InformationMetric
from edgesim.work import Aggregation, Decision, Task, TaskCost, TaskKind

_EVAL_BATCH = 2000


class HmoeConfig(LocalSGDConfig):
    name: Literal["hmoe"] = "hmoe"
    schedule: Literal["round_robin", "proportional"] = Field(
        "round_robin", description="which expert a round trains: breadth-first in turn, or drawn in proportion "
                                   "to the training samples routed to it")
    inference: Literal["greedy", "beam"] = Field(
        "greedy", description="the prediction behind accuracy and info_*: greedy descent (the paper) or beam search")
    beam_width: int | None = Field(5, ge=1, description="beam search width; null searches every path")
    expert_width: ExpertWidth = Field(SameWidth(), description="each expert's width multiplier (expert_width.py)")


class _Expert:
    """One node's classifier (its model config, module, cost and trainer), its relabelled targets (on the
    CPU, -1 where a sample is not routed to it) and its global state."""

    def __init__(self, node: str, model_config: ModelConfig, built: LocalModel, targets: torch.Tensor):
        self.node = node
        self.model_config = model_config  # at the expert's own width
        self.model, self.cost, self.trainer = built.model, built.cost, built.trainer
        self.targets = targets
        self.state = clone_state(self.model)

    @cached_property
    def state_bytes(self) -> int:
        """Bytes of the expert's floating-point state (its payload each way; fixed by its shape)."""
        return sum(v.numel() * v.element_size() for v in self.state.values() if v.is_floating_point())


class Hmoe(Strategy):
    needs_taxonomy = True
    costs_by_round = True  # each round trains its own expert
    metric_columns = ("train_loss", "expert", "info_precision", "info_recall", "info_f1",
                      "accuracy_greedy", "info_f1_greedy", "accuracy_beam", "info_f1_beam")

    def __init__(self, config: HmoeConfig, setup: AlgorithmSetup):
        self.config = config
        self.setup = setup
        self.taxonomy = taxonomy = setup.taxonomy
        data = setup.dataset
        self.metric = InformationMetric(taxonomy)
        self.optimizer = config.optimizer_settings()
        train_y = data.train_y.cpu().numpy()
        device = setup.compute.torch_device
        self.experts: list[_Expert] = []
        for i, node in enumerate(taxonomy.experts):
            route = taxonomy.route(node)
            model_config = setup.model.model_copy(
                update={"width": config.expert_width.width(setup.model.width, taxonomy, node)})
            targets = torch.from_numpy(route[train_y])
            built = local_model(setup, model_config, len(taxonomy.children(node)), setup.streams.seed("model-init", i),
                                self.optimizer, train_y=targets.to(device))
            self.experts.append(_Expert(node, model_config, built, targets))
        # routed[c, e]: client c's training samples under expert e
        self.routed_indices = [[idx[(e.targets[idx] >= 0)] for e in self.experts] for idx in setup.client_indices]
        self.routed = np.array([[len(r) for r in client] for client in self.routed_indices], dtype=np.int64)

    # --- which expert a round trains

    def expert_of(self, round: int) -> int:
        """Index (into ``taxonomy.experts``) of the expert trained in ``round`` (1-based)."""
        if self.config.schedule == "round_robin":
            return (round - 1) % len(self.experts)
        share = self.routed.sum(axis=0) / self.routed.sum()
        return int(self.setup.streams.rng("expert", round).choice(len(self.experts), p=share))

    # --- what a round costs

    def task_kinds(self):
        """One kind per expert the schedule can pick: its footprint and the clients holding data under it."""
        share = self.routed.sum(axis=0)
        return [TaskKind(f"rounds of expert {expert.node}", self._footprint(e),
                         lambda client, e=e: bool(self.routed[client, e] > 0))
                for e, expert in enumerate(self.experts)
                if self.config.schedule == "round_robin" or share[e] > 0]

    def cost(self, task: Task) -> TaskCost | None:
        """The round's expert alone: its payload both ways, its FLOPs on the client's routed samples, its
        footprint."""
        e = self.expert_of(task.round)
        routed = int(self.routed[task.client, e])
        if routed == 0:
            return None
        expert = self.experts[e]
        flops = expert.cost.train_flops_per_sample * routed * self.config.local_epochs
        return TaskCost(expert.state_bytes, flops, expert.state_bytes, self._footprint(e))

    def _footprint(self, e: int) -> int:
        return self.experts[e].cost.footprint_bytes(self.config.batch_size, self.optimizer.state_slots)

    def training_state(self):
        return {"experts": [expert.state for expert in self.experts]}

    def load_training_state(self, state):
        device = self.setup.compute.torch_device
        for expert, saved in zip(self.experts, state["experts"], strict=True):
            expert.state = on_device(saved, device)

    # --- training

    def aggregate(self, aggregation: Aggregation) -> Decision:
        """FedAvg's round on the round's expert, over the clients' samples routed to it."""
        round, version = aggregation.round, aggregation.version
        e = self.expert_of(round)
        expert = self.experts[e]
        jobs = [TrainJob(a.client, version, self.routed_indices[a.client][e], self.config.local_epochs,
                         self.config.batch_size, self.setup.streams.seed("train", round, a.client),
                         lr_scale=self.config.lr_schedule.factor(round))
                for a in aggregation.arrivals]
        expert.state, train_loss = fedavg_round(expert.trainer, jobs, expert.state)
        return Decision({"train_loss": train_loss, "expert": expert.node})

    # --- inference

    @torch.inference_mode()
    def log_probs(self, node: str, x: torch.Tensor) -> torch.Tensor:
        """The expert at ``node``'s log-probabilities over its children for inputs ``x``."""
        expert = self.experts[self._expert_index[node]]
        expert.model.load_state_dict(expert.state)
        expert.model.eval()
        return torch.cat([F.log_softmax(expert.model(x[s:s + _EVAL_BATCH]), dim=1)
                          for s in range(0, len(x), _EVAL_BATCH)])

    @cached_property
    def _expert_index(self) -> dict[str, int]:
        return {e.node: i for i, e in enumerate(self.experts)}

    def outputs(self, x: torch.Tensor) -> ExpertOutputs:
        """A cache of every expert's log-probabilities on rows of ``x``, computed once per (expert, row)."""
        return ExpertOutputs(self.taxonomy, x, self.log_probs)

    def evaluate(self, x, y):
        outputs = self.outputs(x)  # greedy paths, beams and true paths overlap: run each expert once per row
        truth = y.cpu().numpy()
        greedy = hierarchical_scores(self.metric, truth, beam_predict(self.taxonomy, outputs, len(x), 1))
        beam = hierarchical_scores(self.metric, truth,
                                   beam_predict(self.taxonomy, outputs, len(x), self.config.beam_width))
        chosen = greedy if self.config.inference == "greedy" else beam
        return {**chosen, "loss": path_loss(self.taxonomy, outputs, truth),
                "accuracy_greedy": greedy["accuracy"], "info_f1_greedy": greedy["info_f1"],
                "accuracy_beam": beam["accuracy"], "info_f1_beam": beam["info_f1"]}

    def describe(self):
        costs = [e.cost for e in self.experts]
        footprints = [c.footprint_bytes(self.config.batch_size, self.optimizer.state_slots) for c in costs]
        return {
            "experts": len(self.experts),
            "parameters": sum(c.parameters for c in costs),
            "model_bytes": sum(c.param_bytes for c in costs),
            "expert_bytes": {"max": max(c.param_bytes for c in costs), "min": min(c.param_bytes for c in costs)},
            "expert_footprint_bytes": {"max": max(footprints), "min": min(footprints)},
            "taxonomy": self.taxonomy.summary(),
            "inference": self.config.inference,
            "info_f1_chance": self.metric.chance_f1(self.setup.dataset.test_y.cpu().numpy()),
        }
