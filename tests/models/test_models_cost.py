"""Counted training FLOPs, parameter bytes, activation bytes and memory footprints.

FlopCounterMode counts 2 FLOPs per multiply-add of matrix products and convolutions, and
nothing for element-wise work (ReLU, bias adds, the loss). One training sample is one forward
and one backward pass; the input sample does not require grad, so the first layer computes no
input gradient.
"""

from torch import nn

from edgesim.models import ModelConfig, build_model
from edgesim.models.cost import ModelCost, measure_cost


def test_single_linear_layer():
    # forward: (1x4) @ (4x3) = 2*1*4*3 = 24; backward: weight grad (3x1) @ (1x4) = 24,
    # no input grad -> 48
    cost = measure_cost(nn.Linear(4, 3, bias=False), (4,))
    assert cost == ModelCost(parameters=12, train_flops_per_sample=48.0, activation_bytes_per_sample=3 * 4)


def test_bias_adds_parameters_but_no_counted_flops():
    cost = measure_cost(nn.Linear(4, 3), (4,))
    assert cost.parameters == 15
    assert cost.train_flops_per_sample == 48.0


def test_two_linear_layers():
    # forward 2*4*3 + 2*3*2 = 36; backward: layer 2 weight grad 12 and input grad 12,
    # layer 1 weight grad 24 -> 48; total 84. Activations: 3 (linear) + 3 (relu) + 2 (linear) = 8.
    model = nn.Sequential(nn.Linear(4, 3, bias=False), nn.ReLU(), nn.Linear(3, 2, bias=False))
    cost = measure_cost(model, (4,))
    assert cost.train_flops_per_sample == 84.0
    assert cost.parameters == 18
    assert cost.activation_bytes_per_sample == 8 * 4


def test_convolution():
    # conv 1->2, 3x3, on 5x5: output 2x3x3 = 18 values of 9 MACs each -> forward 2*18*9 = 324,
    # weight grad the same 324, no input grad -> 648
    cost = measure_cost(nn.Sequential(nn.Conv2d(1, 2, 3, bias=False)), (1, 5, 5))
    assert cost.train_flops_per_sample == 648.0
    assert cost.activation_bytes_per_sample == 18 * 4


def test_measuring_leaves_the_model_as_it_was():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    model.eval()
    measure_cost(model, (4,))
    assert not model.training
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())


def test_bytes_and_footprint():
    cost = ModelCost(parameters=1000, train_flops_per_sample=1.0, activation_bytes_per_sample=50)
    assert cost.param_bytes == 4000
    # weights + grads + 1 slot = 3 x 4000, plus 50 B x batch 10
    assert cost.footprint_bytes(10) == 12_000 + 500
    assert cost.footprint_bytes(10, optimizer_slots=0) == 8_000 + 500


def test_wkafl_cnn_cost():
    # forward MACs: conv1 32*24*24*25 = 460,800; conv2 64*8*8*(32*25) = 3,276,800;
    # fc1 1024*512 = 524,288; fc2 512*10 = 5,120 -> 4,267,008 MACs = 8,534,016 FLOPs.
    # backward: every weight grad (as many MACs as the forward) plus the input grads of every
    # layer but the first (3,276,800 + 524,288 + 5,120 MACs) -> 2 * (4,267,008 + 3,806,208).
    model = build_model(ModelConfig(name="wkafl_cnn"), (1, 28, 28), 10, seed=0)
    cost = measure_cost(model, (1, 28, 28))
    forward = 2 * (460_800 + 3_276_800 + 524_288 + 5_120)
    weight_grads = forward
    input_grads = 2 * (3_276_800 + 524_288 + 5_120)
    assert cost.train_flops_per_sample == forward + weight_grads + input_grads
    assert cost.parameters == 582_026
    # activations: conv 32*24*24, pool 32*12*12, relu same, conv 64*8*8, pool 64*4*4, relu same,
    # flatten 1024, fc 512, relu 512, fc 10
    elements = 18_432 + 2 * 4_608 + 4_096 + 2 * 1_024 + 1_024 + 2 * 512 + 10
    assert cost.activation_bytes_per_sample == elements * 4
