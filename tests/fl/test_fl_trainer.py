"""Local training jobs: determinism, seeds, optimiser state between jobs, evaluation."""

import math
from collections import defaultdict

import pytest
import torch
from torch import nn

from edgesim.fl.trainer import LocalTrainer, OptimizerSettings, TrainJob, _batches, clone_state, evaluate_classifier
from edgesim.models import ModelConfig, build_model

SHAPE, CLASSES = (1, 4, 4), 3


def data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, *SHAPE, generator=g)
    y = torch.randint(0, CLASSES, (60,), generator=g)
    return x, y


def trainer(momentum=0.9, seed=11):
    model = build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, seed)
    x, y = data()
    return LocalTrainer(model, x, y, OptimizerSettings(lr=0.1, momentum=momentum, weight_decay=1e-3))


def base_state(seed=11):
    return clone_state(build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, seed))


def job(client=0, seed=5, indices=None, version=0, epochs=2, batch_size=7):
    indices = torch.arange(0, 30) if indices is None else indices
    return TrainJob(client, version, indices, epochs, batch_size, seed)


def states_equal(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_job_twice_is_bit_identical():
    t = trainer()
    bases = {0: base_state()}
    first = t.run([job()], bases)[0]
    second = t.run([job()], bases)[0]
    again = trainer().run([job()], bases)[0]
    assert states_equal(first.state, second.state)
    assert states_equal(first.state, again.state)
    assert first.mean_loss == second.mean_loss
    assert not states_equal(first.state, bases[0]), "training changed the weights"


def test_different_seeds_differ():
    t = trainer()
    bases = {0: base_state()}
    a, b = t.run([job(seed=1), job(seed=2)], bases)
    assert not states_equal(a.state, b.state)


def test_optimizer_state_is_cleared_between_jobs():
    bases = {0: base_state()}
    job_a = job(client=0, seed=1, indices=torch.arange(0, 30))
    job_b = job(client=1, seed=2, indices=torch.arange(30, 60))
    after_a = trainer().run([job_a, job_b], bases)[1]
    alone = trainer().run([job_b], bases)[0]
    assert states_equal(after_a.state, alone.state)
    assert after_a.mean_loss == alone.mean_loss


class _KeepingState(defaultdict):
    """An optimiser state dict whose ``clear`` does nothing (simulates the bug the test guards)."""

    def clear(self):
        pass


def test_the_clearing_check_would_catch_leaked_momentum():
    bases = {0: base_state()}
    job_a = job(client=0, seed=1, indices=torch.arange(0, 30))
    job_b = job(client=1, seed=2, indices=torch.arange(30, 60))
    leaky = trainer()
    leaky.optimizer.state = _KeepingState(dict)
    after_a = leaky.run([job_a, job_b], bases)[1]
    alone = trainer().run([job_b], bases)[0]
    assert not states_equal(after_a.state, alone.state)


def test_updates_are_in_job_order_and_carry_job_fields():
    bases = {0: base_state(), 4: base_state(seed=12)}
    updates = trainer().run([job(client=7, version=4, indices=torch.arange(5)), job(client=2)], bases)
    assert [(u.client, u.version, u.num_samples) for u in updates] == [(7, 4, 5), (2, 0, 30)]
    assert all(math.isfinite(u.mean_loss) and u.mean_loss > 0 for u in updates)
    # each job starts from its own base: version 4 from seed 12, not the trainer's current weights
    fresh = trainer().run([job(client=7, version=4, indices=torch.arange(5))], {4: bases[4]})[0]
    assert states_equal(updates[0].state, fresh.state)


def test_one_sgd_step_by_hand():
    # A 2->2 linear model without bias, one sample, lr 0.5: w <- w - lr * (softmax(z) - onehot) x^T
    model = nn.Sequential(nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        model[0].weight.zero_()
    x = torch.tensor([[1.0, 2.0]])
    y = torch.tensor([0])
    t = LocalTrainer(model, x, y, OptimizerSettings(lr=0.5))
    update = t.run([TrainJob(0, 0, torch.tensor([0]), 1, 1, 0)], {0: clone_state(model)})[0]
    # logits 0 -> p = [0.5, 0.5]; grad = [[-0.5], [0.5]] @ [[1, 2]]
    expected = torch.tensor([[0.25, 0.5], [-0.25, -0.5]])
    assert torch.allclose(update.state["0.weight"], expected)
    assert update.mean_loss == pytest.approx(math.log(2))


def test_evaluate_classifier_on_a_hand_made_linear_model():
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
        model.bias.zero_()
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [3.0, 1.0]])
    y = torch.tensor([0, 1, 1, 0])
    # logits = x: predictions 0, 1, 0, 0 -> 3 of 4 right.
    # losses: log(1 + e^-1), log(1 + e^-1), log(1 + e^1), log(1 + e^-2)
    expected_loss = (2 * math.log1p(math.exp(-1)) + math.log1p(math.exp(1)) + math.log1p(math.exp(-2))) / 4
    for batch_size in (2000, 3):  # batching must not change the result
        result = evaluate_classifier(model, x, y, batch_size=batch_size)
        assert result["accuracy"] == 0.75
        assert result["loss"] == pytest.approx(expected_loss, rel=1e-6)
    assert not model.training


def test_images_are_evaluated_channels_last_with_the_same_values():
    conv = nn.Conv2d(3, 4, 3, padding=1)
    seen = []
    model = nn.Sequential(conv, nn.Flatten(), nn.Linear(4 * 5 * 5, 2))
    conv.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # weights from the test's own generator rather than torch's default initialisation
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    x, y = torch.randn(6, 3, 5, 5, generator=generator), torch.tensor([0, 1, 0, 1, 1, 0])
    result = evaluate_classifier(model, x, y)
    assert seen[0].is_contiguous(memory_format=torch.channels_last) and torch.equal(seen[0], x)
    with torch.no_grad():
        logits = model(x.contiguous())
    assert result["accuracy"] == (logits.argmax(1) == y).sum().item() / len(y)  # a share of the samples
    assert result["loss"] == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-5)


def test_steps_train_exactly_that_many_batches_across_epochs():
    # 30 samples in batches of 7 make 5 batches an epoch; 8 steps = one epoch and 3 batches of the next.
    plain = trainer(momentum=0.0)
    plain.optimizer.param_groups[0]["weight_decay"] = 0.0
    update = plain.run([TrainJob(0, 0, torch.arange(30), 1, 7, seed=3, steps=8)], {0: base_state()})[0]
    model = build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 11)
    x, y = data()
    generator = torch.Generator().manual_seed(3)
    first, second = torch.randperm(30, generator=generator), torch.randperm(30, generator=generator)
    batches = [first[i:i + 7] for i in range(0, 30, 7)] + [second[i:i + 7] for i in range(0, 21, 7)]
    for batch in batches:
        model.zero_grad()
        nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
    assert all(torch.allclose(update.state[k], v, atol=1e-6) for k, v in model.state_dict().items())


def test_gradient_is_the_mini_batch_loss_gradient_at_the_base():
    t = trainer()
    base = base_state()
    gradient, loss = t.gradient(TrainJob(0, 0, torch.arange(10, 40), 1, 8, seed=4), base)
    model = build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 11)
    x, y = data()
    batch = torch.arange(10, 40)[torch.randperm(30, generator=torch.Generator().manual_seed(4))[:8]]
    expected_loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
    expected_loss.backward()
    expected = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    assert loss == pytest.approx(expected_loss.item())
    assert torch.allclose(gradient, expected)


def _scored_trainer(seed=11):
    from edgesim.models.kits import scored_kit

    kit = scored_kit(0.3, "scaled_kaiming", "kaiming_uniform", binary_activations=False)
    model = build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, seed, kit)
    x, y = data()
    return LocalTrainer(model, x, y, OptimizerSettings(lr=0.1, momentum=0.9, weight_decay=1e-4)), clone_state(model)


def test_scored_layers_train_bit_identically_with_and_without_the_sign_cache(monkeypatch):
    # Two jobs from bases with different frozen weights: the cached sign(W) must follow each load.
    from edgesim.models.scored import _ScoredLayer, masked_sign_weight

    jobs = [job(client=0, seed=1), job(client=1, seed=2, version=1, indices=torch.arange(30, 60))]
    cached, base0 = _scored_trainer(seed=11)
    _, base1 = _scored_trainer(seed=12)
    bases = {0: base0, 1: base1}
    fast = cached.run(jobs, bases)
    monkeypatch.setattr(_ScoredLayer, "effective_weight",
                        lambda self: masked_sign_weight(self.scores, self.weight, self.keep))
    reference = _scored_trainer(seed=11)[0].run(jobs, bases)
    for a, b in zip(fast, reference):
        assert a.mean_loss == b.mean_loss
        assert a.state.keys() == b.state.keys()
        assert all(torch.equal(a.state[k].view(torch.int32), b.state[k].view(torch.int32)) for k in a.state)


def test_batchnorm_models_skip_a_last_batch_of_one_and_never_see_a_single_sample():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, CLASSES))
    x, y = data()
    trainer = LocalTrainer(model, x, y, OptimizerSettings(0.1))
    assert trainer.min_batch == 2
    seen = []
    model[2].register_forward_hook(lambda module, inputs, output: seen.append(len(inputs[0])))
    update = trainer.run([TrainJob(0, 0, torch.arange(21), 2, 10, seed=1)], {0: clone_state(model)})[0]
    assert seen == [10, 10, 10, 10] and update.num_samples == 21  # two epochs, the 21st sample left over
    assert trainer.run([TrainJob(0, 0, torch.arange(1), 1, 10, seed=1)], {0: clone_state(model)})[0].mean_loss == 0


def test_a_batch_size_below_the_models_smallest_batch_is_a_programming_error():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.Linear(8, CLASSES))
    x, y = data()
    with pytest.raises(ValueError, match="below the model's smallest batch"):
        LocalTrainer(model, x, y, OptimizerSettings(0.1)).run([TrainJob(0, 0, torch.arange(9), 1, 1, seed=1)],
                                                               {0: clone_state(model)})


def test_lr_scale_trains_as_the_scaled_learning_rate_would():
    x, y = data()
    model = build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 11)
    scaled = LocalTrainer(model, x, y, OptimizerSettings(lr=0.2, momentum=0.9)).run(
        [TrainJob(0, 0, torch.arange(30), 2, 7, 5, lr_scale=0.25)], {0: base_state()})[0]
    direct = LocalTrainer(model, x, y, OptimizerSettings(lr=0.05, momentum=0.9)).run(
        [TrainJob(0, 0, torch.arange(30), 2, 7, 5)], {0: base_state()})[0]
    assert states_equal(scaled.state, direct.state)


def test_adam_is_torchs_adam_fresh_every_job():
    x, y = data()
    settings = OptimizerSettings(lr=0.01, weight_decay=1e-3, kind="adam")
    assert settings.state_slots == 2
    t = LocalTrainer(build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 11), x, y, settings)
    first, second = t.run([job(seed=5), job(seed=5)], {0: base_state()})
    assert states_equal(first.state, second.state)  # no moments leak from one job to the next
    reference = build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 11)
    reference.load_state_dict(base_state())
    optimiser = torch.optim.Adam(reference.parameters(), lr=0.01, weight_decay=1e-3)
    generator = torch.Generator().manual_seed(5)
    for batch in _batches(30, job(seed=5), generator):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(reference(x[batch]), y[batch]).backward()
        optimiser.step()
    assert states_equal(first.state, clone_state(reference))


def test_two_sgd_steps_with_the_proximal_term_by_hand():
    # The linear model of test_one_sgd_step_by_hand, two epochs over its one sample, mu 1: the first step
    # starts at the base (no pull), the second adds mu * (w1 - w0) = w1 to the cross-entropy gradient.
    model = nn.Sequential(nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        model[0].weight.zero_()
    x, y = torch.tensor([[1.0, 2.0]]), torch.tensor([0])
    t = LocalTrainer(model, x, y, OptimizerSettings(lr=0.5, proximal_mu=1.0))
    update = t.run([TrainJob(0, 0, torch.tensor([0]), 2, 1, 0)], {0: clone_state(model)})[0]
    w1 = torch.tensor([[0.25, 0.5], [-0.25, -0.5]])
    p0 = 1 / (1 + math.exp(-2.5))  # logits w1 x = [1.25, -1.25]
    cross_entropy_grad = torch.tensor([[p0 - 1], [1 - p0]]) @ x
    expected = w1 - 0.5 * (cross_entropy_grad + w1)
    assert torch.allclose(update.state["0.weight"], expected)


def test_the_proximal_term_trains_as_its_loss_would_under_momentum_and_weight_decay():
    x, y = data()
    settings = OptimizerSettings(lr=0.1, momentum=0.9, weight_decay=1e-3, proximal_mu=0.5)
    assert settings.state_slots == 2  # the momentum buffer and the base copy
    t = LocalTrainer(build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 11), x, y, settings)
    update = t.run([job(seed=5)], {0: base_state()})[0]
    reference = build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 11)
    reference.load_state_dict(base_state())
    anchor = [p.detach().clone() for p in reference.parameters()]
    optimiser = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    for batch in _batches(30, job(seed=5), torch.Generator().manual_seed(5)):
        optimiser.zero_grad()
        proximal = sum(((p - a) ** 2).sum() for p, a in zip(reference.parameters(), anchor))
        (torch.nn.functional.cross_entropy(reference(x[batch]), y[batch]) + 0.25 * proximal).backward()
        optimiser.step()
    for key, value in clone_state(reference).items():
        torch.testing.assert_close(update.state[key], value, rtol=1e-5, atol=1e-6)
    plain = trainer().run([job(seed=5)], {0: base_state()})[0]
    pulled = sum(((update.state[k] - base_state()[k]) ** 2).sum() for k in update.state)
    assert pulled < sum(((plain.state[k] - base_state()[k]) ** 2).sum() for k in plain.state)
