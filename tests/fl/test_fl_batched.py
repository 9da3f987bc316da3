"""Batched (vmapped) local training and gradients match the sequential LocalTrainer job for job."""

import pytest
import torch
from torch import nn

from edgesim.compute import Compute
from edgesim.fl.batched import BatchedTrainer, batchable
from edgesim.fl.trainer import LocalTrainer, OptimizerSettings, TrainJob, clone_state
from edgesim.fl.trainer_choice import make_trainer
from edgesim.models import ModelConfig, build_model
from edgesim.models.kits import scored_kit

SHAPE, CLASSES = (1, 16, 16), 3
SETTINGS = OptimizerSettings(lr=0.05, momentum=0.9, weight_decay=1e-3)


def data(n=80):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, *SHAPE, generator=g), torch.randint(0, CLASSES, (n,), generator=g)


def jobs():
    """Clients 0, 1, 3 share a shape (20 samples, batch 6, 2 epochs); 2 and 4 are alone;
    5 and 6 share a fixed step count; two base versions."""
    return [
        TrainJob(0, 0, torch.arange(0, 20), 2, 6, seed=1),
        TrainJob(1, 1, torch.arange(20, 40), 2, 6, seed=2),
        TrainJob(2, 0, torch.arange(40, 52), 2, 6, seed=3),
        TrainJob(3, 0, torch.arange(50, 70), 2, 6, seed=4),
        TrainJob(4, 1, torch.arange(0, 8), 1, 6, seed=5),
        TrainJob(5, 0, torch.arange(10, 35), 1, 5, seed=6, steps=7),
        TrainJob(6, 1, torch.arange(35, 60), 1, 5, seed=7, steps=7),
    ]


def bases(name, kit_seed=(11, 12)):
    return {v: clone_state(build_model(ModelConfig(name=name), SHAPE, CLASSES, s)) for v, s in enumerate(kit_seed)}


def compare(expected, got):
    assert [(u.client, u.version, u.num_samples) for u in got] == \
           [(u.client, u.version, u.num_samples) for u in expected]
    for e, g in zip(expected, got):
        assert list(g.state) == list(e.state)
        for k in e.state:
            torch.testing.assert_close(g.state[k], e.state[k], rtol=1e-4, atol=1e-5)
        assert g.mean_loss == pytest.approx(e.mean_loss, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("name", ["mlp", "small_cnn"])
def test_batched_matches_sequential(name):
    x, y = data()
    b = bases(name)
    expected = LocalTrainer(build_model(ModelConfig(name=name), SHAPE, CLASSES, 0), x, y, SETTINGS).run(jobs(), b)
    trainer = BatchedTrainer(build_model(ModelConfig(name=name), SHAPE, CLASSES, 0), x, y, SETTINGS)
    assert trainer.batchable
    calls = []
    original = trainer._run_group
    trainer._run_group = lambda js, plans, bs: calls.append([j.client for j in js]) or original(js, plans, bs)
    got = trainer.run(jobs(), b)
    assert sorted(calls) == [[0, 1, 3], [5, 6]]  # grouped; 2 and 4 ran alone
    assert trainer.batchable
    compare(expected, got)
    # the bases are untouched and the returned states are independent copies
    assert all(torch.equal(b[0][k], bases(name)[0][k]) for k in b[0])


@pytest.mark.parametrize("momentum,weight_decay", [(0.0, 0.0), (0.0, 1e-2), (0.5, 0.0)])
def test_optimizer_variants(momentum, weight_decay):
    x, y = data()
    settings = OptimizerSettings(lr=0.1, momentum=momentum, weight_decay=weight_decay)
    b = bases("mlp")
    expected = LocalTrainer(build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 0), x, y, settings).run(jobs(), b)
    got = BatchedTrainer(build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 0), x, y, settings).run(jobs(), b)
    compare(expected, got)


def test_frozen_parameters_are_carried_unchanged():
    x, y = data()
    model = build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 0)
    reference = build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 0)
    first = next(n for n, _ in model.named_parameters())
    for m in (model, reference):
        dict(m.named_parameters())[first].requires_grad_(False)
    b = bases("mlp")
    expected = LocalTrainer(reference, x, y, SETTINGS).run(jobs(), b)
    got = BatchedTrainer(model, x, y, SETTINGS).run(jobs(), b)
    compare(expected, got)
    for u in got:
        assert torch.equal(u.state[first], b[u.version][first])


@pytest.mark.parametrize("name", ["mlp", "small_cnn"])
def test_mpt_score_layers_batch_and_match_sequential(name):
    """MPT's frozen weights are constant buffers and its masked weight has a vmap rule, so it batches."""
    kit = scored_kit(0.3, "scaled_kaiming", "kaiming_uniform", binary_activations=False)
    x, y = data()
    build = lambda seed: build_model(ModelConfig(name=name), SHAPE, CLASSES, seed, kit)  # noqa: E731
    b = {v: clone_state(build(s)) for v, s in enumerate((11, 12))}
    assert any(k.endswith(".weight") and not b[0][k].requires_grad for k in b[0])  # frozen weights travel too
    expected = LocalTrainer(build(0), x, y, SETTINGS).run(jobs(), b)
    trainer = BatchedTrainer(build(0), x, y, SETTINGS)
    assert trainer.batchable
    got = trainer.run(jobs(), b)
    assert trainer.batchable  # no fallback: the groups really were vmapped
    compare(expected, got)
    grads = trainer.gradients(gradient_jobs(), b)
    for (e, e_loss), (g, g_loss) in zip(LocalTrainer(build(0), x, y, SETTINGS).gradients(gradient_jobs(), b), grads):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-6)
        assert g_loss == pytest.approx(e_loss, rel=1e-5)


class _NormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.flat = nn.Flatten()
        self.fc = nn.Linear(256, 16)
        self.norm = nn.BatchNorm1d(16)
        self.out = nn.Linear(16, CLASSES)

    def forward(self, x):
        return self.out(torch.relu(self.norm(self.fc(self.flat(x)))))


def test_batchnorm_model_falls_back_exactly():
    x, y = data()
    torch.manual_seed(0)
    base = {0: clone_state(_NormNet()), 1: clone_state(_NormNet())}
    assert not batchable(_NormNet())
    expected = LocalTrainer(_NormNet(), x, y, SETTINGS).run(jobs(), base)
    trainer = BatchedTrainer(_NormNet(), x, y, SETTINGS)
    got = trainer.run(jobs(), base)
    for e, g in zip(expected, got):
        assert (g.client, g.version, g.num_samples) == (e.client, e.version, e.num_samples)
        assert g.state.keys() == e.state.keys()
        assert all(torch.equal(g.state[k], e.state[k]) for k in e.state)
        assert g.mean_loss == e.mean_loss


def gradient_jobs():
    """Batch 8: clients 0, 1 (two versions) and 3 draw full batches; 2 holds 5 samples, alone."""
    return [
        TrainJob(0, 0, torch.arange(0, 20), 1, 8, seed=1),
        TrainJob(1, 1, torch.arange(20, 40), 1, 8, seed=2),
        TrainJob(2, 0, torch.arange(40, 45), 1, 8, seed=3),
        TrainJob(3, 1, torch.arange(50, 70), 1, 8, seed=4),
    ]


@pytest.mark.parametrize("name", ["mlp", "small_cnn"])
def test_batched_gradients_match_sequential(name):
    x, y = data()
    b = bases(name)
    expected = LocalTrainer(build_model(ModelConfig(name=name), SHAPE, CLASSES, 0), x, y, SETTINGS).gradients(
        gradient_jobs(), b)
    trainer = BatchedTrainer(build_model(ModelConfig(name=name), SHAPE, CLASSES, 0), x, y, SETTINGS)
    calls = []
    original = trainer._gradient_group
    trainer._gradient_group = lambda js, batches, bs: calls.append([j.client for j in js]) or original(js, batches, bs)
    got = trainer.gradients(gradient_jobs(), b)
    assert calls == [[0, 1, 3]]  # client 2's short batch ran alone
    assert trainer.batchable
    for (e_vector, e_loss), (g_vector, g_loss) in zip(expected, got):
        assert g_vector.shape == e_vector.shape
        torch.testing.assert_close(g_vector, e_vector, rtol=1e-4, atol=1e-6)
        assert g_loss == pytest.approx(e_loss, rel=1e-5)
    # each job's gradient is its own: the two versions and seeds give different vectors
    assert not torch.allclose(got[0][0], got[1][0])


def test_make_trainer_follows_the_compute_choice():
    x, y = data()
    model = build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 0)
    assert type(make_trainer(model, x, y, SETTINGS)) is LocalTrainer
    assert type(make_trainer(model, x, y, SETTINGS, Compute("cpu"))) is LocalTrainer
    assert type(make_trainer(model, x, y, SETTINGS, Compute("cpu", "batched"))) is BatchedTrainer
    assert type(make_trainer(model, x, y, SETTINGS, Compute("cuda:0"))) is BatchedTrainer  # auto batches on a GPU
    assert type(make_trainer(model, x, y, SETTINGS, Compute("cuda:0", "sequential"))) is LocalTrainer


def test_adam_and_per_job_learning_rates_match_sequential():
    x, y = data()
    settings = OptimizerSettings(lr=0.01, weight_decay=1e-3, kind="adam")
    scaled = [TrainJob(j.client, j.version, j.indices, j.epochs, j.batch_size, j.seed, j.steps,
                       lr_scale=0.5 ** j.client) for j in jobs()]
    b = bases("mlp")
    expected = LocalTrainer(build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 0), x, y, settings).run(scaled, b)
    got = BatchedTrainer(build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 0), x, y, settings).run(scaled, b)
    compare(expected, got)
    sgd = LocalTrainer(build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 0), x, y, SETTINGS).run(scaled, b)
    compare(sgd, BatchedTrainer(build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 0), x, y, SETTINGS).run(scaled, b))


def test_the_proximal_term_matches_sequential():
    x, y = data()
    settings = OptimizerSettings(lr=0.05, momentum=0.9, weight_decay=1e-3, proximal_mu=0.3)
    b = bases("small_cnn")
    expected = LocalTrainer(build_model(ModelConfig(name="small_cnn"), SHAPE, CLASSES, 0), x, y, settings).run(jobs(), b)
    got = BatchedTrainer(build_model(ModelConfig(name="small_cnn"), SHAPE, CLASSES, 0), x, y, settings).run(jobs(), b)
    compare(expected, got)
    plain = LocalTrainer(build_model(ModelConfig(name="small_cnn"), SHAPE, CLASSES, 0), x, y, SETTINGS).run(jobs(), b)
    assert any(not torch.equal(plain[0].state[k], expected[0].state[k]) for k in expected[0].state)
