"""Local training as jobs: (base model version, client data, hyper-parameters, seed) -> update.

A job is a pure function of its inputs: the same job gives the same update.
``LocalTrainer`` runs jobs one after another on a single reusable model and
optimiser (loading each job's base state and clearing the optimiser's
state), which is the fastest way on a CPU; ``run`` and ``gradients`` take a
whole list so the batched trainer (``edgesim.fl.batched``) can replace the
loop without changing callers. ``edgesim.fl.trainer_choice.make_trainer`` picks one for a ``Compute``.
The model and the data must already be on the device they train on.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal, Mapping, Protocol, Sequence

import torch
import torch.nn.functional as F
from torch import nn



OptimizerKind = Literal["sgd", "adam"]

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


@dataclass(frozen=True)
class OptimizerSettings:
    """A fresh optimiser per job: SGD (``momentum``, L2 ``weight_decay``) or Adam (torch's defaults,
    betas 0.9/0.999, eps 1e-8, L2 ``weight_decay``; momentum unused).

    ``proximal_mu`` > 0 adds FedProx's proximal term ``mu/2 * ||w - w_base||^2`` to every mini-batch's loss
    (Li et al., MLSys 2020, eq. 2; ``w_base`` is the job's base model): its gradient ``mu * (w - w_base)``
    is added to the loss gradient of each trainable parameter before the optimiser's step."""

    lr: float
    momentum: float = 0.0
    weight_decay: float = 0.0
    kind: OptimizerKind = "sgd"
    proximal_mu: float = 0.0

    @property
    def state_slots(self) -> int:
        """Tensors the optimiser keeps per parameter (for memory footprints); the proximal term's base copy
        is one."""
        moments = 2 if self.kind == "adam" else int(bool(self.momentum))
        return moments + int(self.proximal_mu > 0)

    def build(self, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
        if self.kind == "adam":
            return torch.optim.Adam(params, lr=self.lr, betas=ADAM_BETAS, eps=ADAM_EPS,
                                    weight_decay=self.weight_decay)
        return torch.optim.SGD(params, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)


@dataclass(frozen=True)
class TrainJob:
    """Train ``epochs`` passes over the client's data, or exactly ``steps`` mini-batches when set, at the
    optimiser's learning rate times ``lr_scale`` (a round's learning-rate schedule factor)."""

    client: int
    version: int
    indices: torch.Tensor
    epochs: int
    batch_size: int
    seed: int
    steps: int | None = None
    lr_scale: float = 1.0


@dataclass(frozen=True)
class Update:
    client: int
    version: int
    num_samples: int
    state: dict[str, torch.Tensor]
    mean_loss: float


def clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class Trainer(Protocol):
    """What algorithms ask of a trainer (``LocalTrainer`` or ``BatchedTrainer``)."""

    def run(self, jobs: Sequence[TrainJob], bases: Mapping[int, Mapping[str, torch.Tensor]]) -> list[Update]: ...

    def gradients(self, jobs: Sequence[TrainJob],
                  bases: Mapping[int, Mapping[str, torch.Tensor]]) -> list[tuple[torch.Tensor, float]]: ...


def uses_batch_statistics(model: nn.Module) -> bool:
    """Whether ``model`` normalises by batch statistics in training (BatchNorm), which one sample does not
    have: its mini-batches need at least two samples."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


class LocalTrainer:
    """Runs local-training jobs on one model over one training set."""

    def __init__(self, model: nn.Module, train_x: torch.Tensor, train_y: torch.Tensor,
                 optimizer: OptimizerSettings):
        self.model = model
        self.min_batch = 2 if uses_batch_statistics(model) else 1
        self.train_x = train_x
        self.train_y = train_y
        self.settings = optimizer
        self.optimizer = optimizer.build([p for p in model.parameters() if p.requires_grad])

    def run(self, jobs: Sequence[TrainJob], bases: Mapping[int, Mapping[str, torch.Tensor]]) -> list[Update]:
        """Train every job from ``bases[job.version]``; returns updates in job order."""
        return [self._run_one(job, bases[job.version]) for job in jobs]

    def _run_one(self, job: TrainJob, base: Mapping[str, torch.Tensor]) -> Update:
        model, optimizer = self.model, self.optimizer
        model.load_state_dict(base)
        optimizer.state.clear()
        for group in optimizer.param_groups:
            group["lr"] = self.settings.lr * job.lr_scale
        model.train()
        generator = torch.Generator().manual_seed(job.seed)
        x, y = self.train_x[job.indices], self.train_y[job.indices]
        n = len(job.indices)
        mu = self.settings.proximal_mu
        anchors = [(p, base[name]) for name, p in model.named_parameters() if p.requires_grad] if mu else []
        loss_sum, seen = 0.0, 0
        for batch in _batches(n, job, generator, self.min_batch):
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            for p, anchor in anchors:
                p.grad.add_(p.detach() - anchor, alpha=mu)
            optimizer.step()
            loss_sum += loss.item() * len(batch)
            seen += len(batch)
        return Update(job.client, job.version, n, clone_state(model), loss_sum / max(1, seen))

    def gradient(self, job: TrainJob, base: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, float]:
        """The loss gradient at ``base`` on one mini-batch drawn by ``job.seed`` (``gradient_batch``),
        flattened over the trainable parameters, and that batch's loss."""
        model = self.model
        model.load_state_dict(base)
        model.train()
        batch = gradient_batch(job)
        model.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(self.train_x[batch]), self.train_y[batch])
        loss.backward()
        grads = [p.grad.reshape(-1) for p in model.parameters() if p.requires_grad]
        return torch.cat(grads).detach().clone(), loss.item()

    def gradients(self, jobs: Sequence[TrainJob],
                  bases: Mapping[int, Mapping[str, torch.Tensor]]) -> list[tuple[torch.Tensor, float]]:
        """``gradient`` of every job from ``bases[job.version]``, in job order."""
        return [self.gradient(job, bases[job.version]) for job in jobs]


def gradient_batch(job: TrainJob) -> torch.Tensor:
    """The sample indices of a gradient job's one mini-batch: ``job.batch_size`` of the client's samples
    (all of them if it holds fewer), drawn without replacement by ``job.seed``."""
    generator = torch.Generator().manual_seed(job.seed)
    return job.indices[torch.randperm(len(job.indices), generator=generator)[:job.batch_size]]


def _batches(n: int, job: TrainJob, generator: torch.Generator, min_batch: int = 1):
    """Mini-batch index tensors: ``job.epochs`` shuffled passes, or exactly ``job.steps`` batches
    drawn from as many shuffled passes as they need. A pass's last batch is skipped when it holds fewer
    than ``min_batch`` samples (a single sample, for models with BatchNorm); a client with fewer than
    ``min_batch`` samples has none."""
    if job.batch_size < min_batch:
        raise ValueError(f"batch size {job.batch_size} is below the model's smallest batch, {min_batch}")
    if n < min_batch:
        return
    taken = 0
    for epoch in itertools.count():
        if job.steps is None and epoch == job.epochs:
            return
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, job.batch_size):
            if job.steps is not None and taken == job.steps:
                return
            if n - start < min_batch:
                break
            taken += 1
            yield order[start:start + job.batch_size]


def fast_layout(x: torch.Tensor) -> torch.Tensor:
    """``x`` as the model should read it: a batch of images ``N x C x H x W`` in channels-last memory order
    (the same values; PyTorch's CPU convolutions and pooling run about 1.5-2x faster on it), anything else
    unchanged."""
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


@torch.inference_mode()
def evaluate_classifier(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> dict:
    """Accuracy and mean cross-entropy over (x, y), batched, without autograd."""
    model.eval()
    correct, loss_sum = 0, 0.0
    for start in range(0, len(y), batch_size):
        logits = model(fast_layout(x[start:start + batch_size]))
        target = y[start:start + batch_size]
        loss_sum += F.cross_entropy(logits, target, reduction="sum").item()
        correct += int((logits.argmax(dim=1) == target).sum())
    return {"accuracy": correct / len(y), "loss": loss_sum / len(y)}
