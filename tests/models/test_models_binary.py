"""BNN layers and binary activations: forward values and straight-through gradients by hand."""

import torch

from edgesim.models.binary import BinaryLinear, SignActivation, binary_weight


def test_binary_weight_forward_and_clipped_gradient():
    weight = torch.tensor([0.5, -1.5, 0.25, -0.75], requires_grad=True)
    out = binary_weight(weight)
    alpha = (0.5 + 1.5 + 0.25 + 0.75) / 4
    assert torch.allclose(out, torch.tensor([alpha, -alpha, alpha, -alpha]))
    out.backward(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert torch.equal(weight.grad, torch.tensor([1.0, 0.0, 3.0, 4.0]))  # |W| > 1 gets no gradient


def test_sign_activation_bi_real_gradient():
    x = torch.tensor([-2.0, -0.5, 0.25, 1.5], requires_grad=True)
    y = SignActivation()(x)
    assert torch.equal(y, torch.tensor([-1.0, -1.0, 1.0, 1.0]))
    y.sum().backward()
    assert torch.allclose(x.grad, torch.tensor([0.0, 2 * (1 - 0.5), 2 * (1 - 0.25), 0.0]))


def test_binary_linear_uses_binarised_weights():
    layer = BinaryLinear(2, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.2, -0.6]]))
    assert torch.allclose(layer(torch.tensor([[1.0, 1.0]])), torch.tensor([[0.4 - 0.4]]))
    assert torch.allclose(layer(torch.tensor([[1.0, 0.0]])), torch.tensor([[0.4]]))


def test_clipped_gradient_is_bit_identical_to_the_bool_mask_form():
    g = torch.Generator().manual_seed(0)
    weight = (torch.randn(300, generator=g) * 1.5).requires_grad_()
    with torch.no_grad():
        weight[:3] = torch.tensor([1.0, -1.0, 0.0])  # the clip's edges
    upstream = torch.randn(300, generator=g)
    upstream[3:6] = torch.tensor([-0.0, -1.0, 0.0])
    binary_weight(weight).backward(upstream)
    expected = upstream * (weight.detach().abs() <= 1).to(upstream.dtype)  # the form it replaced
    assert torch.equal(weight.grad.view(torch.int32), expected.view(torch.int32))  # bits, signed zeros too
