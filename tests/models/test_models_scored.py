"""MPT layers: top-k mask, gain, 1-bit effective weight and the straight-through gradient, by hand."""

import math

import pytest
import torch

from edgesim.models import ModelConfig, build_model
from edgesim.models.kits import binary_kit, scored_kit
from edgesim.models.scored import ScoredLinear, kept_count, masked_sign_weight, top_k_mask

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
