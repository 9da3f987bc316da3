"""Score-over-frozen-weights layers of MPT-FL (biprop, Diffenderfer & Kailkhura 2021).

Each layer holds frozen random weights ``W`` (a buffer: regenerated from the
seed, never trained or sent) and learnable scores ``S`` of the same shape.
With ``keep`` the fraction of weights kept:

- mask ``M = TopK(|S|, keep)``: 1 for the ``ceil(keep * n)`` largest ``|S|``;
- gain ``alpha = ||M * W||_1 / ||M||_1`` (a constant in the backward pass);
- effective weight ``W_eff = alpha * M * sign(W)``: 1-bit weights;
- backward, straight through the mask: ``dL/d|S| = dL/dW_eff * W`` (so
  ``dL/dS = dL/dW_eff * W * sign(S)``).

The k-th largest score is found by selection (NumPy's ``partition`` on the CPU,
``kthvalue`` elsewhere and inside ``torch.func`` transforms), never by sorting.
The layers work under ``vmap``/``grad`` (the batched trainer): their frozen
weight is a constant buffer (``constant_buffers``), and the masked weight's
autograd function has a generated vmap rule.
Weight init: ``scaled_kaiming`` — N(0, 2 / (fan_in * keep)), the paper's —,
``scaled_kaiming_biprop`` — N(0, 2 / (fan_in * (1 - keep))), as biprop's code
scales it (ALGORITHMS.md §1.5; needs keep < 1) — or ``signed_constant`` —
``sign(N(0,1)) * sqrt(2 / fan_in)``. Only ``alpha`` depends on the scale, so
the 1/32 logits at initialisation scale with its ratio per layer (2 at keep
0.2, about 2^7 through Conv-4). Score init:
``kaiming_uniform`` — U(±1/sqrt(fan_in)) — or ``kaiming_normal`` — N(0, 2 / fan_in).
"""

from __future__ import annotations

import math
import weakref

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

WEIGHT_INITS = ("scaled_kaiming", "scaled_kaiming_biprop", "signed_constant")
SCORE_INITS = ("kaiming_uniform", "kaiming_normal")


def kept_count(numel: int, keep: float) -> int:
    return max(1, min(numel, math.ceil(keep * numel)))


def top_k_mask(magnitudes: torch.Tensor, keep: float) -> torch.Tensor:
    """1.0 where ``magnitudes`` is among the ``ceil(keep * n)`` largest, else 0.0 (ties kept together)."""
    magnitudes = magnitudes.detach()
    flat = magnitudes.reshape(-1)
    count = kept_count(flat.numel(), keep)
    if count == flat.numel():
        return torch.ones_like(magnitudes)
    if _transformed(magnitudes):  # inside vmap/grad: no NumPy, no out=
        threshold = flat.kthvalue(flat.numel() - count + 1).values
        return (magnitudes >= threshold).to(magnitudes.dtype)
    threshold = _kth_smallest(flat, flat.numel() - count)
    # A comparison written straight into a float tensor: the same 0.0/1.0 as ``(m >= t).to(dtype)``,
    # without the bool tensor and the conversion pass (which cost 4x the comparison itself).
    return torch.ge(magnitudes, threshold, out=torch.empty_like(magnitudes))


def _transformed(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` is a ``torch.func`` (vmap, grad) wrapper, which NumPy cannot read."""
    return torch._C._functorch.is_functorch_wrapped_tensor(tensor)


def _kth_smallest(flat: torch.Tensor, position: int, scratch: np.ndarray | None = None) -> torch.Tensor:
    """The ``position``-th smallest (0-based) entry of the 1-d ``flat``, as a 0-d tensor; selection,
    not sorting. On the CPU, NumPy's introselect (~30x faster than ``torch.kthvalue``), in ``scratch``
    when given (a buffer of ``flat``'s size and dtype, overwritten) instead of a fresh copy.

    With ``scratch``, ``flat`` must hold magnitudes (no negative numbers, no ``-0.0``: the output
    of ``abs``): their IEEE bit patterns then order as the numbers do (NaN after +inf, as NumPy
    orders floats), and NumPy's integer selection is about twice as fast as its float one."""
    if flat.device.type != "cpu":
        return flat.kthvalue(position + 1).values
    values = flat.numpy()
    if scratch is None:
        return torch.as_tensor(np.partition(values, position)[position])
    np.copyto(scratch, values)
    bits = _SAME_SIZE_INT.get(scratch.dtype)
    (scratch if bits is None else scratch.view(bits)).partition(position)
    return torch.as_tensor(scratch[position])


_SAME_SIZE_INT = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}


class _MaskedSignWeight(torch.autograd.Function):
    """Reference form (any device, and under ``vmap``): ``alpha * TopK(|S|) * sign(W)``, straight through
    to ``|S|``."""

    generate_vmap_rule = True

    @staticmethod
    def forward(magnitudes, weight, keep):
        mask = top_k_mask(magnitudes, keep)
        alpha = (weight.abs() * mask).sum() / mask.sum()
        return alpha * mask * torch.sign(weight)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[1])

    @staticmethod
    def backward(ctx, grad_output):
        (weight,) = ctx.saved_tensors
        return grad_output * weight, None, None


def masked_sign_weight(scores: torch.Tensor, weight: torch.Tensor, keep: float) -> torch.Tensor:
    """``alpha * TopK(|S|) * sign(W)`` with the straight-through gradient ``dL/d|S| = dL/dW_eff * W``
    (autograd adds the ``sign(S)`` of the absolute value)."""
    return _MaskedSignWeight.apply(scores.abs(), weight, keep)


class _FrozenWeight:
    """``sign(W)`` and ``|W|`` of a layer's frozen weight, plus reusable scratch for the masked step.

    The weight is frozen, so its sign and magnitude are computed once and kept; they are recomputed
    when the weight changes: an in-place write (``load_state_dict``, ``copy_``: the tensor's version
    counter moves) or a new tensor (``.to()``, a reassigned buffer). Writes that bypass the version
    counter (through ``.data`` or a NumPy view) are not seen: call ``_ScoredLayer.invalidate_cache()``.

    The scratch holds the step's intermediates (``|S|``, then the mask; the selection copy, then
    ``|W| * mask``) so that a step allocates only its output: fresh multi-megabyte temporaries cost
    more in page faults than the arithmetic does (glibc gives freed blocks back to the OS and the
    next step faults them in again). One layer's scratch is not shared between threads.
    """

    def __init__(self, weight: torch.Tensor):
        self.weight_ref = weakref.ref(weight)
        self.version = weight._version
        with torch.no_grad(), torch.inference_mode(False):  # normal tensors, usable in and out of inference mode
            self.sign = torch.sign(weight)
            self.magnitude = weight.abs()
            self.work = torch.empty_like(weight)
            self.select = torch.empty_like(weight)
        self.select_np = self.select.numpy().reshape(-1)

    def matches(self, weight: torch.Tensor) -> bool:
        """Whether this cache was built from ``weight`` (the same tensor) as it is now (no write since)."""
        return self.weight_ref() is weight and self.version == weight._version


class _CachedMaskedSignWeight(torch.autograd.Function):
    """The CPU form of ``_MaskedSignWeight`` over a layer's cached ``sign(W)``, ``|W|`` and scratch.

    Bit-identical to ``masked_sign_weight(scores, weight, keep)`` forward and backward: the same
    values in the same operations (``|W| * mask`` summed as one tensor, ``(alpha * mask) * sign(W)``,
    ``(dL/dW_eff * W) * sgn(S)``), only without recomputing ``sign(W)`` and ``|W|`` and without
    temporary tensors. Takes ``S`` itself and applies the ``sgn(S)`` of ``|S|``'s backward.
    """

    @staticmethod
    def forward(ctx, scores, weight, keep, frozen: _FrozenWeight):
        work, select = frozen.work, frozen.select
        torch.abs(scores, out=work)  # |S|
        numel = work.numel()
        count = kept_count(numel, keep)
        if count == numel:
            work.fill_(1.0)
        else:
            threshold = _kth_smallest(work.reshape(-1), numel - count, frozen.select_np)
            torch.ge(work, threshold, out=work)  # the mask, 0.0/1.0, in place of |S|
        alpha = torch.mul(frozen.magnitude, work, out=select).sum() / work.sum()
        ctx.save_for_backward(scores, weight)
        ctx.frozen = frozen
        return torch.mul(work, alpha).mul_(frozen.sign)

    @staticmethod
    def backward(ctx, grad_output):
        scores, weight = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: stay differentiable, no scratch
            return grad_output * weight * torch.sgn(scores), None, None, None
        grad = grad_output * weight
        grad.mul_(torch.sgn(scores, out=ctx.frozen.work))
        return grad, None, None, None


class _ScoredLayer(nn.Module):
    constant_buffers = True  # the frozen weight is never written in training: safe to batch with vmap

    def __init__(self, shape: tuple[int, ...], fan_in: int, keep: float, weight_init: str, score_init: str):
        super().__init__()
        if not 0 < keep <= 1:
            raise ValueError(f"keep must lie in (0, 1], got {keep}")
        if weight_init not in WEIGHT_INITS or score_init not in SCORE_INITS:
            raise ValueError(f"unknown init {weight_init!r}/{score_init!r}")
        if weight_init == "scaled_kaiming_biprop" and keep >= 1:
            raise ValueError("weight_init scaled_kaiming_biprop scales the fan by (1 - keep) and needs keep < 1")
        self.keep, self.fan_in = keep, fan_in
        self.weight_init, self.score_init = weight_init, score_init
        self.register_buffer("weight", torch.empty(shape))
        self.scores = nn.Parameter(torch.empty(shape))
        self._frozen: _FrozenWeight | None = None

    def reset_parameters_from(self, generator: torch.Generator) -> None:
        with torch.no_grad():
            normal = torch.randn(self.weight.shape, generator=generator)
            if self.weight_init == "scaled_kaiming":
                self.weight.copy_(normal * math.sqrt(2.0 / (self.fan_in * self.keep)))
            elif self.weight_init == "scaled_kaiming_biprop":
                self.weight.copy_(normal * math.sqrt(2.0 / (self.fan_in * (1 - self.keep))))
            else:
                self.weight.copy_(torch.sign(normal) * math.sqrt(2.0 / self.fan_in))
            if self.score_init == "kaiming_uniform":
                bound = 1.0 / math.sqrt(self.fan_in)
                self.scores.copy_(torch.rand(self.scores.shape, generator=generator) * 2 * bound - bound)
            else:
                self.scores.copy_(torch.randn(self.scores.shape, generator=generator) * math.sqrt(2.0 / self.fan_in))

    def effective_weight(self) -> torch.Tensor:
        scores, weight = self.scores, self.weight
        if (scores.device.type != "cpu" or _transformed(scores) or scores.layout != torch.strided
                or not scores.is_contiguous()
                or not weight.is_contiguous() or weight.dtype != scores.dtype or weight.shape != scores.shape):
            return masked_sign_weight(scores, weight, self.keep)
        frozen = self._frozen
        if frozen is None or not frozen.matches(weight):
            frozen = self._frozen = _FrozenWeight(weight)
        return _CachedMaskedSignWeight.apply(scores, weight, self.keep, frozen)

    def invalidate_cache(self) -> None:
        """Forget the cached ``sign(W)``/``|W|`` (only needed after writing the weight behind the
        version counter's back, e.g. through ``.data``)."""
        self._frozen = None

    def __getstate__(self):  # caches and scratch are not part of the layer's state
        state = super().__getstate__().copy()
        state["_frozen"] = None
        return state

    def mask(self) -> torch.Tensor:
        return top_k_mask(self.scores.detach().abs(), self.keep)


class ScoredConv2d(_ScoredLayer):
    def __init__(self, cin, cout, kernel, padding, keep, weight_init, score_init):
        super().__init__((cout, cin, kernel, kernel), cin * kernel * kernel, keep, weight_init, score_init)
        self.padding = padding

    def forward(self, x):
        return F.conv2d(x, self.effective_weight(), None, padding=self.padding)


class ScoredLinear(_ScoredLayer):
    def __init__(self, fin, fout, keep, weight_init, score_init):
        super().__init__((fout, fin), fin, keep, weight_init, score_init)

    def forward(self, x):
        return F.linear(x, self.effective_weight())
