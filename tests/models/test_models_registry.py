"""Model builders: sizes, seeded initialisation, no use of torch's global generator."""

import pytest
import torch
from torch import nn

from edgesim.models import ModelConfig, build_model, model_names
from edgesim.models.registry import register_model


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_registered_names():
    assert {"small_cnn", "wkafl_cnn", "mlp"} <= set(model_names())
    assert model_names() == sorted(model_names())


def test_wkafl_cnn_has_582026_parameters():
    # conv1 1*32*25+32 = 832, conv2 32*64*25+64 = 51,264, fc1 (64*4*4)*512+512 = 524,800,
    # fc2 512*10+10 = 5,130 -> 582,026
    model = build_model(ModelConfig(name="wkafl_cnn"), (1, 28, 28), 10, seed=0)
    assert n_params(model) == 582_026


def test_small_cnn_and_mlp_sizes():
    # small_cnn: conv 1->8 (8*25+8 = 208), conv 8->16 (16*8*25+16 = 3,216), fc 16*4*4=256 -> 10 (2,570)
    assert n_params(build_model(ModelConfig(name="small_cnn"), (1, 28, 28), 10, 0)) == 208 + 3216 + 2570
    # width 2 doubles the channels: 16*25+16 = 416, 32*16*25+32 = 12,832, 512*10+10 = 5,130
    assert n_params(build_model(ModelConfig(name="small_cnn", width=2), (1, 28, 28), 10, 0)) == 416 + 12832 + 5130
    # mlp: 784*200+200 = 157,000 and 200*10+10 = 2,010
    assert n_params(build_model(ModelConfig(name="mlp"), (1, 28, 28), 10, 0)) == 157_000 + 2_010


def test_output_shape_and_too_small_input():
    model = build_model(ModelConfig(name="small_cnn"), (3, 32, 32), 7, 0)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 7)
    with pytest.raises(ValueError):
        build_model(ModelConfig(name="wkafl_cnn"), (1, 8, 8), 10, 0)


def params(model):
    return [p.detach().clone() for p in model.parameters()]


def test_same_seed_same_weights_other_seed_differs():
    config = ModelConfig(name="small_cnn")
    a, b, c = (build_model(config, (1, 28, 28), 10, s) for s in (3, 3, 4))
    assert all(torch.equal(x, y) for x, y in zip(params(a), params(b)))
    assert all(not torch.equal(x, y) for x, y in zip(params(a), params(c)))


def test_build_does_not_touch_the_global_rng():
    torch.manual_seed(1234)
    before = torch.random.get_rng_state()
    build_model(ModelConfig(name="wkafl_cnn"), (1, 28, 28), 10, seed=5)
    assert torch.equal(torch.random.get_rng_state(), before)
    # and the global generator does not influence the weights
    torch.manual_seed(99)
    again = build_model(ModelConfig(name="small_cnn"), (1, 28, 28), 10, seed=5)
    torch.manual_seed(7)
    other = build_model(ModelConfig(name="small_cnn"), (1, 28, 28), 10, seed=5)
    assert all(torch.equal(x, y) for x, y in zip(params(again), params(other)))


def test_init_follows_pytorch_default_bounds():
    # kaiming_uniform(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights, same for biases
    model = build_model(ModelConfig(name="mlp"), (1, 28, 28), 10, seed=0)
    first = model[1]
    bound = 1 / (784 ** 0.5)
    assert first.weight.abs().max().item() <= bound
    assert first.bias.abs().max().item() <= bound
    assert first.weight.abs().max().item() > 0.9 * bound  # filled, not left at zero
    assert first.weight.device.type == "cpu" and not first.weight.is_meta


def test_batchnorm_and_custom_layers_are_initialised():
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.empty(3))

        def reset_parameters_from(self, generator):
            with torch.no_grad():
                self.scale.uniform_(2.0, 3.0, generator=generator)

    def builder(input_shape, num_classes, width, kit):
        return nn.Sequential(nn.BatchNorm1d(3), Custom())

    register_model("_test_custom", builder)
    try:
        a = build_model(ModelConfig(name="_test_custom"), (3,), 2, seed=1)
        b = build_model(ModelConfig(name="_test_custom"), (3,), 2, seed=1)
    finally:
        from edgesim.models import registry
        registry._BUILDERS.pop("_test_custom")
    assert torch.equal(a[0].weight, torch.ones(3)) and torch.equal(a[0].bias, torch.zeros(3))
    assert torch.equal(a[0].running_var, torch.ones(3)) and torch.equal(a[0].running_mean, torch.zeros(3))
    assert int(a[0].num_batches_tracked) == 0
    assert torch.equal(a[1].scale, b[1].scale)
    assert ((a[1].scale >= 2) & (a[1].scale <= 3)).all()


def test_weights_are_drawn_on_the_cpu_then_moved():
    on_meta = build_model(ModelConfig(name="mlp"), (1, 8, 8), 3, seed=5, device="meta")
    on_cpu = build_model(ModelConfig(name="mlp"), (1, 8, 8), 3, seed=5)
    assert {p.device.type for p in on_meta.parameters()} == {"meta"}
    assert [p.shape for p in on_meta.parameters()] == [p.shape for p in on_cpu.parameters()]
