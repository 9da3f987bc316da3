"""Batched local training: several same-shaped jobs in one vmapped computation (for GPUs).

``BatchedTrainer`` has ``LocalTrainer``'s interface. Jobs that take the same
number of mini-batches with the same batch size at every step are stacked
along a leading job axis and trained together: one ``torch.func.vmap`` over
``functional_call`` and ``grad_and_value`` per step, then the optimiser's
update applied as ``torch.optim.SGD`` (momentum, weight decay; dampening 0, no
Nesterov) or ``torch.optim.Adam`` (no AMSGrad) do, with each job's own
learning rate and FedProx's proximal gradient as ``LocalTrainer`` adds it. Each job draws its mini-batches with ``_batches`` from its own
generator seeded by ``job.seed``, as ``LocalTrainer`` does, so the result is
the same computation up to floating-point reduction order.

Jobs that share their shape with no other job, and every job of a model that
cannot be batched (buffers written in training such as BatchNorm running
statistics, dropout, or operations ``vmap`` does not support), run one by one
through an internal ``LocalTrainer``. ``gradients`` batches single mini-batch
gradient jobs (the K-async methods' unit of work) the same way. Batching pays
off on a GPU; on a CPU the sequential trainer is faster, which is why
``make_trainer`` picks this one only on a GPU unless told otherwise
(``--trainer``). Everything runs on the training data's device.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Mapping, Sequence, TypeVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad_and_value, vmap

from edgesim.fl.trainer import (ADAM_BETAS, ADAM_EPS, LocalTrainer, OptimizerSettings, TrainJob, Update, _batches,
                                gradient_batch)

T = TypeVar("T")


def batchable(model: nn.Module) -> bool:
    """Whether ``model`` can be trained functionally: no dropout (whose randomness could not match), and
    buffers only in modules that declare them constant (``constant_buffers``, e.g. MPT's frozen weights);
    other buffers, such as BatchNorm's running statistics, are written in training."""
    for module in model.modules():
        if isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd)):
            return False
        if not getattr(module, "constant_buffers", False) and any(True for _ in module.buffers(recurse=False)):
            return False
    return True


class BatchedTrainer:
    """Runs local-training jobs on one model over one training set, vmapping groups of same-shaped jobs."""

    def __init__(self, model: nn.Module, train_x: torch.Tensor, train_y: torch.Tensor,
                 optimizer: OptimizerSettings):
        self.model = model
        self.train_x = train_x
        self.train_y = train_y
        self.settings = optimizer
        self.device = train_x.device
        self.sequential = LocalTrainer(model, train_x, train_y, optimizer)
        self.batchable = batchable(model)
        self._keys = list(model.state_dict().keys())
        self._trainable = [name for name, p in model.named_parameters() if p.requires_grad]  # gradient order
        self._frozen = [k for k in self._keys if k not in self._trainable]

        def loss_fn(trainable, frozen, x, y):
            logits = functional_call(model, {**trainable, **frozen}, (x,))
            return F.cross_entropy(logits, y)

        self._step = vmap(grad_and_value(loss_fn))

    def run(self, jobs: Sequence[TrainJob], bases: Mapping[int, Mapping[str, torch.Tensor]]) -> list[Update]:
        """Train every job from ``bases[job.version]``; returns updates in job order."""
        if not self.batchable:
            return self.sequential.run(jobs, bases)
        plans = [list(_batches(len(job.indices), job, torch.Generator().manual_seed(job.seed))) for job in jobs]
        return self._grouped([tuple(len(b) for b in plan) for plan in plans],
                             lambda members: self._run_group([jobs[i] for i in members], [plans[i] for i in members],
                                                             bases),
                             lambda i: self.sequential.run([jobs[i]], bases)[0])

    def gradients(self, jobs: Sequence[TrainJob],
                  bases: Mapping[int, Mapping[str, torch.Tensor]]) -> list[tuple[torch.Tensor, float]]:
        """``LocalTrainer.gradient`` of every job, in job order; jobs whose batch has the same size go together."""
        if not self.batchable:
            return self.sequential.gradients(jobs, bases)
        batches = [gradient_batch(job) for job in jobs]
        return self._grouped([(len(b),) for b in batches],
                             lambda members: self._gradient_group([jobs[i] for i in members],
                                                                  [batches[i] for i in members], bases),
                             lambda i: self.sequential.gradient(jobs[i], bases[jobs[i].version]))

    def _grouped(self, shapes: list[tuple[int, ...]], together: Callable[[list[int]], list[T]],
                 alone: Callable[[int], T]) -> list[T]:
        """Results in job order, given each job's shape: ``together(members)`` for each group of two or
        more jobs of the same (non-empty) shape, ``alone(i)`` for the rest and for every job once batching
        has failed."""
        groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for i, shape in enumerate(shapes):
            groups[shape].append(i)
        results: list[T | None] = [None] * len(shapes)
        for shape, members in groups.items():
            if len(members) > 1 and len(shape) > 0 and self.batchable:
                try:
                    group = together(members)
                except torch.OutOfMemoryError:
                    raise
                except (RuntimeError, NotImplementedError):
                    # An operation vmap/torch.func cannot handle (e.g. a custom autograd.Function
                    # without a vmap rule): train this model sequentially from now on.
                    self.batchable = False
                    group = None
                if group is not None:
                    for i, result in zip(members, group):
                        results[i] = result
                    continue
            for i in members:
                results[i] = alone(i)
        return results  # type: ignore[return-value]

    def _stacked(self, jobs: list[TrainJob], bases: Mapping[int, Mapping[str, torch.Tensor]],
                 keys: list[str]) -> dict[str, torch.Tensor]:
        """Each key's base tensors of the jobs, stacked along a new leading job axis."""
        with torch.no_grad():
            return {k: torch.stack([bases[j.version][k].detach() for j in jobs]).to(self.device) for k in keys}

    def _gradient_group(self, jobs: list[TrainJob], batches: list[torch.Tensor],
                        bases: Mapping[int, Mapping[str, torch.Tensor]]) -> list[tuple[torch.Tensor, float]]:
        idx = torch.stack(batches).to(self.device)
        grads, losses = self._step(self._stacked(jobs, bases, self._trainable),
                                   self._stacked(jobs, bases, self._frozen), self.train_x[idx], self.train_y[idx])
        flat = torch.cat([grads[k].reshape(len(jobs), -1) for k in self._trainable], dim=1).detach()
        return [(flat[j].clone(), loss) for j, loss in enumerate(losses.cpu().tolist())]

    def _run_group(self, jobs: list[TrainJob], plans: list[list[torch.Tensor]],
                   bases: Mapping[int, Mapping[str, torch.Tensor]]) -> list[Update]:
        device = self.device
        out_device = {k: bases[jobs[0].version][k].device for k in self._keys}
        params = self._stacked(jobs, bases, self._trainable)
        anchors = dict(params)  # the steps replace params' tensors and never write into these
        mu = self.settings.proximal_mu
        frozen = self._stacked(jobs, bases, self._frozen)
        lrs = [self.settings.lr * job.lr_scale for job in jobs]
        step_rule = _AdamSteps(self.settings, lrs) if self.settings.kind == "adam" else _SgdSteps(self.settings, lrs)
        step_losses = []
        for step in range(len(plans[0])):
            idx = torch.stack([job.indices[plan[step]] for job, plan in zip(jobs, plans)]).to(device)
            grads, losses = self._step(params, frozen, self.train_x[idx], self.train_y[idx])
            step_losses.append(losses.detach())
            with torch.no_grad():
                for k in self._trainable:
                    grad = grads[k].add(params[k] - anchors[k], alpha=mu) if mu else grads[k]
                    params[k] = step_rule.apply(k, params[k], grad)
        losses = torch.stack(step_losses).cpu().tolist()  # (steps, jobs); one sync per group
        sizes = [len(b) for b in plans[0]]
        seen = sum(sizes)
        updates = []
        for j, job in enumerate(jobs):
            loss_sum = 0.0
            for step, size in enumerate(sizes):
                loss_sum += losses[step][j] * size
            state = {}
            for k in self._keys:
                source = params[k] if k in params else frozen[k]
                state[k] = source[j].detach().to(out_device[k]).clone()
            updates.append(Update(job.client, job.version, len(job.indices), state, loss_sum / max(1, seen)))
        return updates


def _descend(p: torch.Tensor, update: torch.Tensor, scales: list[float],
             denom: torch.Tensor | None = None) -> torch.Tensor:
    """``p - scale_j * update_j`` (divided by ``denom_j`` when given) for each job ``j`` on the leading axis,
    with the very operations ``torch.optim`` uses (``add`` with ``alpha``, ``addcdiv`` with ``value``), so
    the result rounds as the sequential trainer's does; one operation when every job has the same scale."""
    if all(scale == scales[0] for scale in scales):
        return p.add(update, alpha=-scales[0]) if denom is None else p.addcdiv(update, denom, value=-scales[0])
    out = torch.empty_like(p)
    for j, scale in enumerate(scales):
        out[j] = (p[j].add(update[j], alpha=-scale) if denom is None
                  else p[j].addcdiv(update[j], denom[j], value=-scale))
    return out


class _SgdSteps:
    """``torch.optim.SGD``'s update (dampening 0, no Nesterov) on job-stacked tensors, one lr per job."""

    def __init__(self, settings: OptimizerSettings, lrs: list[float]):
        self.momentum, self.weight_decay, self.lrs = settings.momentum, settings.weight_decay, lrs
        self.bufs: dict[str, torch.Tensor] = {}

    def apply(self, key: str, p: torch.Tensor, d_p: torch.Tensor) -> torch.Tensor:
        if self.weight_decay:
            d_p = d_p.add(p, alpha=self.weight_decay)
        if self.momentum:
            if key not in self.bufs:
                self.bufs[key] = d_p.clone()
            else:
                self.bufs[key].mul_(self.momentum).add_(d_p)
            d_p = self.bufs[key]
        return _descend(p, d_p, self.lrs)


class _AdamSteps:
    """``torch.optim.Adam``'s update (no AMSGrad) on job-stacked tensors, one lr per job."""

    def __init__(self, settings: OptimizerSettings, lrs: list[float]):
        self.weight_decay, self.lrs = settings.weight_decay, lrs
        self.moments: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.steps: dict[str, int] = defaultdict(int)

    def apply(self, key: str, p: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        beta1, beta2 = ADAM_BETAS
        if self.weight_decay:
            grad = grad.add(p, alpha=self.weight_decay)
        if key not in self.moments:
            self.moments[key] = (torch.zeros_like(p), torch.zeros_like(p))
        exp_avg, exp_avg_sq = self.moments[key]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        self.steps[key] += 1
        step = self.steps[key]
        denom = (exp_avg_sq.sqrt() / (1 - beta2 ** step) ** 0.5).add_(ADAM_EPS)  # as torch rounds it
        return _descend(p, exp_avg, [lr / (1 - beta1 ** step) for lr in self.lrs], denom)
