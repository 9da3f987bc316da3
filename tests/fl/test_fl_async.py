"""Asynchronous methods: contributions from the right model version, and each combine rule by hand."""

import math

import numpy as np
import pytest
import torch
from fl_inputs import asynchronous
from pydantic import ValidationError

from edgesim.data import Dataset
from edgesim.fl.akafl import Akafl, AkaflConfig
from edgesim.fl.async_baselines import FedAsync, FedAsyncConfig, FedBuff, FedBuffConfig, KAsyncSgd, KAsyncSgdConfig
from edgesim.fl.strategy import AlgorithmSetup
from edgesim.models import ModelConfig
from edgesim.seeding import Streams
from edgesim.work import Arrival

SHAPE, CLASSES = (1, 4, 4), 3


def setup(validation=0):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(60, *SHAPE, generator=g), torch.randint(0, CLASSES, (60,), generator=g)
    data = Dataset("tiny", x[validation:], y[validation:], x[:validation], y[:validation], x[:10], y[:10],
                   np.arange(10), CLASSES, SHAPE, tuple(map(str, range(CLASSES))))
    clients = [torch.arange(0, 20), torch.arange(20, 40), torch.arange(40, 60 - validation)]
    return AlgorithmSetup(data, clients, ModelConfig(name="mlp"), Streams(3))


def vectors(algo, *values):
    n = algo.flat(algo.versions[0]).numel()
    return [torch.full((n,), float(v)) for v in values]


def test_contribution_is_computed_on_the_clients_version():
    algo = KAsyncSgd(KAsyncSgdConfig(k=1, lr=0.1), setup())
    algo.aggregate(asynchronous(1, 0, [(0, 0, 0)], oldest_held_version=0))
    assert set(algo.versions) == {0, 1}
    [stale] = algo.contributions([Arrival(1, 0, 1)])
    fresh_algo = KAsyncSgd(KAsyncSgdConfig(k=1, lr=0.1), setup())
    [fresh] = fresh_algo.contributions([Arrival(1, 0, 0)])
    assert torch.equal(stale[0], fresh[0])  # same version, same job


def test_versions_no_client_can_deliver_from_are_forgotten_and_the_newest_kept():
    algo = KAsyncSgd(KAsyncSgdConfig(k=1, lr=0.1), setup())
    algo.aggregate(asynchronous(1, 0, [(0, 0, 0)], oldest_held_version=0))
    algo.aggregate(asynchronous(2, 1, [(1, 0, 1)], oldest_held_version=0))  # client 1 still delivers from 0
    assert set(algo.versions) == {0, 1, 2}
    algo.aggregate(asynchronous(3, 2, [(2, 2, 0)], oldest_held_version=2))
    assert set(algo.versions) == {2, 3}
    algo.aggregate(asynchronous(4, 3, [(0, 3, 0)], oldest_held_version=9))
    assert set(algo.versions) == {4}
    assert torch.equal(algo.flat(algo.newest), algo.flat(algo.versions[4]))


def test_kasync_sgd_steps_by_the_mean_gradient():
    algo = KAsyncSgd(KAsyncSgdConfig(k=2, lr=0.5), setup())
    current = algo.flat(algo.versions[0])
    new, outcome = algo.combine(1, [Arrival(0, 0, 0), Arrival(1, 0, 0)], vectors(algo, 1, 3), [0, 0],
                                current)
    assert torch.allclose(new, current - 0.5 * 2.0)
    assert outcome.next_k == 2 and outcome.metrics == {"k": 2, "lr": 0.5}


def test_kasync_sgd_can_clip_each_gradient_first():
    algo = KAsyncSgd(KAsyncSgdConfig(k=2, lr=0.5, clip_norm=1.0), setup())
    current = algo.flat(algo.versions[0])
    n = current.numel()
    short, long = vectors(algo, 0.1 / math.sqrt(n), 3)  # norms 0.1 (kept) and 3 sqrt(n) (scaled to norm 1)
    new, _ = algo.combine(1, [Arrival(0, 0, 0), Arrival(1, 0, 0)], [short, long], [0, 0], current)
    expected = current - 0.5 * (short + long / long.norm()) / 2
    assert torch.allclose(new, expected)


def test_fedbuff_scales_by_staleness_and_applies_the_server_lr():
    algo = FedBuff(FedBuffConfig(k=2, lr=2.0, local_lr=0.1), setup())
    current = algo.flat(algo.versions[0])
    new, _ = algo.combine(1, [Arrival(0, 0, 0), Arrival(1, 0, 3)], vectors(algo, 1, 4), [0, 0], current)
    change = (1.0 * 0.1 * 1 + 0.5 * 0.1 * 4) / 2  # 1/sqrt(1+0) and 1/sqrt(1+3)
    assert torch.allclose(new, current - 2.0 * change)


def test_fedasync_mixes_each_client_model_by_its_staleness():
    algo = FedAsync(FedAsyncConfig(alpha=0.5, exponent=1.0, local_lr=0.1), setup())
    current = algo.flat(algo.versions[0])
    new, outcome = algo.combine(1, [Arrival(0, 0, 1)], vectors(algo, 2), [0], current)
    mix = 0.5 * (1 + 1) ** -1.0
    client_model = current - 0.1 * 2
    assert torch.allclose(new, (1 - mix) * current + mix * client_model)
    assert outcome.metrics["lr"] == pytest.approx(mix)


def test_presets_switch_what_the_paper_names():
    wkafl = AkaflConfig(name="wkafl")
    # WKAFL's code (ALGORITHMS.md §2.7): its own rule with c = 0.1, omega × w_k, batch 4, clip 100
    assert (wkafl.momentum, wkafl.clip_norm, wkafl.lr_rule, wkafl.c, wkafl.staleness_in_omega,
            wkafl.batch_size) == (0.1, 100, "wkafl", 0.1, True, 4)
    assert not wkafl.adaptive_k
    assert AkaflConfig(name="wkafl", batch_size=10, lr_rule="power").batch_size == 10
    for name in ("akafl", "akafl_r", "akafl_rj"):  # strict AKAFL: the spec's power rule, plain omega, batch 10
        strict = AkaflConfig(name=name)
        assert (strict.lr_rule, strict.staleness_in_omega, strict.batch_size, strict.clip_norm) == (
            "power", False, 10, None)
    akafl_r = AkaflConfig(name="akafl_r")
    assert akafl_r.adaptive_k and akafl_r.remodel and not akafl_r.judgement and akafl_r.momentum == 0
    assert AkaflConfig(name="akafl_rj").judgement
    assert not AkaflConfig(name="akafl_rj", remodel=False).remodel  # an explicit key wins over the preset
    assert AkaflConfig(name="wkafl", clip_norm=None).clip_norm is None  # an explicit null turns the clip off
    assert AkaflConfig(name="wkafl", momentum=None).momentum == 0.1  # elsewhere null means the preset's value
    with pytest.raises(ValidationError, match="judgement_data applies only"):
        AkaflConfig(name="akafl_r", judgement_data="test")


def test_akafl_uses_wkafl_staleness_and_decays_k():
    algo = Akafl(AkaflConfig(name="akafl", k=4, k_min=2, eps_k=1.0, k_decay=math.log(2), lr=0.1), setup())
    current = algo.flat(algo.versions[0])
    items = [Arrival(0, 0, 0), Arrival(1, 0, 2)]
    new, outcome = algo.combine(1, items, vectors(algo, 1, 1), [0.5, 0.5], current)
    # equal gradients: every weighting gives the same direction; lr = eta0 * tau_min^-1 with tau_min = 0 + 1
    assert torch.allclose(new, current - 0.1)
    assert outcome.metrics["lr"] == pytest.approx(0.1) and outcome.metrics["k"] == 4
    assert outcome.next_k == 2  # loss 0.5 < eps_k: K~ = 4 * exp(-ln 2) = 2
    assert outcome.remodel_staleness is None


def test_judgement_keeps_the_previous_model_exactly_when_it_says_so():
    config = AkaflConfig(name="akafl_rj", k=1, k_min=1, lr=0.05, eps_k=10.0, judgement_warmup=1, eps_m=1.0,
                         theta0=0.0)
    algo = Akafl(config, setup(validation=20))
    keeps = 0
    for iteration in range(1, 30):
        version = iteration - 1
        before = algo.flat(algo.newest)
        outcome = algo.aggregate(asynchronous(iteration, version, [(iteration % 2, version, 0)], version))
        after = algo.flat(algo.newest)
        if outcome.metrics["judgement_kept"]:
            keeps += 1
            assert torch.equal(after, before)
        else:
            assert not torch.equal(after, before)
    assert keeps > 0 and algo.judge.keeps == keeps == algo.describe()["judgement_keeps"]


def test_judgement_on_the_test_series_is_labelled_as_leaking():
    config = dict(name="akafl_rj", k=1, k_min=1, lr=0.05, eps_k=10.0, judgement_warmup=1, eps_m=1.0, theta0=0.0)
    on_test = Akafl(AkaflConfig(**config, judgement_data="test"), setup())
    on_validation = Akafl(AkaflConfig(**config), setup(validation=20))
    data = on_test.setup.dataset
    assert torch.equal(on_test.judged_on[0], data.test_x[data.eval_idx])
    assert on_validation.judged_on[1] is on_validation.setup.dataset.val_y
    on_test.aggregate(asynchronous(1, 0, [(0, 0, 0)]))
    assert "leaks test data" in on_test.describe()["judgement_data"]
    assert "validation" in on_validation.describe()["judgement_data"]
    assert "judgement_data" not in Akafl(AkaflConfig(name="akafl_r"), setup()).describe()
