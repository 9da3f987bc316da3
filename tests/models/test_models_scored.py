"""MPT layers: top-k mask, gain, 1-bit effective weight and the straight-through gradient, by hand."""

import copy
import math

import numpy as np
import pytest
import torch

from edgesim.models import ModelConfig, build_model
from edgesim.models.kits import binary_kit, scored_kit
from edgesim.models.scored import ScoredConv2d, ScoredLinear, kept_count, masked_sign_weight, top_k_mask

CONV4_PARAMETERS = 1_932_352


def test_top_k_mask_keeps_the_ceil_of_keep_times_n_largest():
    magnitudes = torch.tensor([[0.1, 0.9, 0.3], [0.7, 0.2, 0.5]])
    assert kept_count(6, 0.5) == 3 and kept_count(6, 0.4) == 3 and kept_count(6, 0.01) == 1
    assert torch.equal(top_k_mask(magnitudes, 0.5), torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]))
    assert torch.equal(top_k_mask(magnitudes, 0.1), torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]))
    assert torch.equal(top_k_mask(magnitudes, 1.0), torch.ones(2, 3))


def test_effective_weight_is_gain_times_mask_times_sign():
    scores = torch.tensor([0.5, -0.1, -0.8, 0.05])  # |S| ranks: w2, w0 kept at keep=0.5
    weight = torch.tensor([0.2, -0.4, -0.6, 0.3])
    w_eff = masked_sign_weight(scores, weight, 0.5)
    alpha = (0.2 + 0.6) / 2  # mean |W| over the kept entries
    assert torch.allclose(w_eff, torch.tensor([alpha, 0.0, -alpha, 0.0]))


def test_straight_through_score_gradient():
    scores = torch.tensor([0.5, -0.1, -0.8, 0.05], requires_grad=True)
    weight = torch.tensor([0.2, -0.4, -0.6, 0.3])
    upstream = torch.tensor([1.0, 2.0, 3.0, 4.0])
    (masked_sign_weight(scores, weight, 0.5) * upstream).sum().backward()
    # dL/d|S| = upstream * W for every entry, kept or not; dL/dS adds sign(S).
    expected = upstream * weight * torch.sign(scores.detach())
    assert torch.allclose(scores.grad, expected)


def test_initialisations():
    layer = ScoredLinear(50, 40, keep=0.2, weight_init="signed_constant", score_init="kaiming_uniform")
    layer.reset_parameters_from(torch.Generator().manual_seed(0))
    assert torch.allclose(layer.weight.abs(), torch.full((40, 50), math.sqrt(2 / 50)))
    assert layer.scores.abs().max() <= 1 / math.sqrt(50)
    big = ScoredLinear(1000, 400, keep=0.2, weight_init="scaled_kaiming", score_init="kaiming_normal")
    big.reset_parameters_from(torch.Generator().manual_seed(0))
    assert big.weight.std().item() == pytest.approx(math.sqrt(2 / (1000 * 0.2)), rel=0.02)
    assert big.scores.std().item() == pytest.approx(math.sqrt(2 / 1000), rel=0.02)
    assert [name for name, _ in big.named_parameters()] == ["scores"]  # weights are frozen buffers


@pytest.mark.parametrize("kit", [None, scored_kit(0.2, "scaled_kaiming", "kaiming_uniform", False),
                                 scored_kit(0.2, "signed_constant", "kaiming_normal", True),
                                 binary_kit(False), binary_kit(True)])
def test_conv4_has_the_papers_parameter_count_in_every_form(kit):
    options = {} if kit is None else {"kit": kit}
    model = build_model(ModelConfig(name="conv4"), (1, 28, 28), 10, seed=0, **options)
    assert sum(p.numel() for p in model.parameters()) == CONV4_PARAMETERS
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


# --- The cached CPU step (sign(W) and |W| kept per layer, scratch reused) against the reference form ---

class _Reference(torch.autograd.Function):
    """The masked step as first written (before the cache): the bit-for-bit reference."""

    @staticmethod
    def forward(ctx, magnitudes, weight, keep):
        flat = magnitudes.reshape(-1)
        count = kept_count(flat.numel(), keep)
        if count == flat.numel():
            mask = torch.ones_like(magnitudes)
        else:
            position = flat.numel() - count
            threshold = torch.as_tensor(np.partition(flat.detach().numpy(), position)[position])
            mask = (magnitudes >= threshold).to(magnitudes.dtype)
        alpha = (weight.abs() * mask).sum() / mask.sum()
        ctx.save_for_backward(weight)
        return alpha * mask * torch.sign(weight)

    @staticmethod
    def backward(ctx, grad_output):
        (weight,) = ctx.saved_tensors
        return grad_output * weight, None, None


def _reference_forward(layer, x):
    w_eff = _Reference.apply(layer.scores.abs(), layer.weight, layer.keep)
    if isinstance(layer, ScoredConv2d):
        return torch.nn.functional.conv2d(x, w_eff, None, padding=layer.padding)
    return torch.nn.functional.linear(x, w_eff)


def _bits(t):
    """The raw bits, so that -0.0 and 0.0 (or two NaNs) count as different."""
    return t.detach().contiguous().view(torch.int32 if t.dtype == torch.float32 else torch.int64)


def _layer_and_input(kind, keep, seed):
    g = torch.Generator().manual_seed(seed)
    if kind == "conv":
        layer = ScoredConv2d(3, 4, 3, 1, keep, "scaled_kaiming", "kaiming_uniform")
        x = torch.randn(2, 3, 5, 5, generator=g)
    else:
        layer = ScoredLinear(7, 5, keep, "signed_constant", "kaiming_normal")
        x = torch.randn(3, 7, generator=g)
    layer.reset_parameters_from(g)
    return layer, x


@pytest.mark.parametrize("kind", ["conv", "linear"])
@pytest.mark.parametrize("keep", [0.2, 0.5, 1.0])
def test_cached_step_is_bit_identical_to_the_reference_forward_and_backward(kind, keep):
    layer, x = _layer_and_input(kind, keep, seed=3)
    with torch.no_grad():  # ties, an exact zero score and a negative zero: every branch of the sign
        layer.scores.view(-1)[:4] = torch.tensor([0.0, -0.0, 0.3, -0.3])
        layer.weight.view(-1)[1] = 0.0
    reference = copy.deepcopy(layer)
    upstream = torch.randn(layer(x).shape, generator=torch.Generator().manual_seed(4))
    opt = torch.optim.SGD(layer.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3)
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3)
    for _ in range(4):  # several steps: the cache is reused while the scores move
        out, ref_out = layer(x), _reference_forward(reference, x)
        assert torch.equal(_bits(out), _bits(ref_out))
        assert torch.equal(_bits(layer.effective_weight()),
                           _bits(_Reference.apply(reference.scores.abs(), reference.weight, keep)))
        for module, result, optimizer in ((layer, out, opt), (reference, ref_out, ref_opt)):
            optimizer.zero_grad(set_to_none=True)
            (result * upstream).sum().backward()
        assert torch.equal(_bits(layer.scores.grad), _bits(reference.scores.grad))
        opt.step()
        ref_opt.step()
        assert torch.equal(_bits(layer.scores), _bits(reference.scores))


def test_the_sign_cache_follows_weight_changes():
    layer, x = _layer_and_input("linear", 0.5, seed=5)
    layer(x)
    cached = layer._frozen
    layer(x)
    assert layer._frozen is cached, "a second step reuses sign(W)"
    other, _ = _layer_and_input("linear", 0.5, seed=6)
    layer.load_state_dict(other.state_dict())  # an in-place write: the version counter moves
    assert torch.equal(_bits(layer(x)), _bits(_reference_forward(other, x)))
    assert layer._frozen is not cached
    with torch.no_grad():
        layer.weight.neg_()
    assert torch.equal(_bits(layer(x)), _bits(_reference_forward(layer, x)))
    layer.weight = torch.randn(layer.weight.shape)  # a new tensor
    assert torch.equal(_bits(layer(x)), _bits(_reference_forward(layer, x)))
    layer.weight.data.mul_(2.0)  # behind the version counter: needs the explicit reset
    layer.invalidate_cache()
    assert torch.equal(_bits(layer(x)), _bits(_reference_forward(layer, x)))


def test_cached_layers_work_in_inference_mode_and_copies():
    layer, x = _layer_and_input("conv", 0.2, seed=7)
    with torch.inference_mode():  # the cache is first built here ...
        first = layer(x)
    out = layer(x)  # ... and must still be writable outside inference mode
    out.sum().backward()
    assert torch.equal(first, out.detach())
    clone = copy.deepcopy(layer)
    assert clone._frozen is None
    assert torch.equal(clone(x), out)


def test_masked_sign_weight_function_still_matches_the_reference():
    scores = torch.randn(40, generator=torch.Generator().manual_seed(8), requires_grad=True)
    weight = torch.randn(40, generator=torch.Generator().manual_seed(9))
    new = masked_sign_weight(scores, weight, 0.3)
    ref = _Reference.apply(scores.abs(), weight, 0.3)
    assert torch.equal(_bits(new), _bits(ref))
    assert torch.equal(_bits(top_k_mask(scores.detach().abs(), 0.3)),
                       _bits((scores.detach().abs() >= scores.detach().abs().kthvalue(40 - 12 + 1).values).float()))


def test_biprop_weight_scale_halves_each_gain_and_shrinks_conv4_logits_by_two_to_the_seventh():
    # Same draws, std sqrt(2 / (0.8 fan)) against sqrt(2 / (0.2 fan)): every weight, so every gain, is halved.
    # 1/32 Conv-4 is positively homogeneous in each layer's gain (ReLU, max-pool, no bias, no normalisation),
    # so its logits shrink by 2 per scored layer, 2^7 through its seven.
    x = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    models = {init: build_model(ModelConfig(name="conv4"), (1, 28, 28), 10, seed=0,
                                kit=scored_kit(0.2, init, "kaiming_uniform", False))
              for init in ("scaled_kaiming", "scaled_kaiming_biprop")}
    paper, code = (dict(models[i].named_buffers()) for i in models)
    assert paper.keys() == code.keys() and len(paper) == 7
    for key in paper:
        torch.testing.assert_close(code[key] * 2, paper[key])
    with torch.no_grad():
        ratio = models["scaled_kaiming"](x) / models["scaled_kaiming_biprop"](x)
    torch.testing.assert_close(ratio, torch.full_like(ratio, 2.0 ** 7), rtol=1e-3, atol=0)


def test_biprop_weight_scale_needs_something_pruned():
    with pytest.raises(ValueError, match="keep < 1"):
        ScoredLinear(4, 2, 1.0, "scaled_kaiming_biprop", "kaiming_uniform")
