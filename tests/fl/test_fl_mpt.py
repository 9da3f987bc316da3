"""MPT-FL and BNN-FL: what travels, how scores and masks are averaged, model sizes, and that it learns."""

import math

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from edgesim.data import Dataset
from edgesim.fl.bnn_fl import BnnFl, BnnFlConfig
from edgesim.fl.aggregate import scores_from_masks
from edgesim.fl.mpt_fl import MptFl, MptFlConfig
from edgesim.fl.strategy import AlgorithmSetup
from edgesim.fl.trainer import Update
from edgesim.models import ModelConfig
from edgesim.models.scored import top_k_mask
from edgesim.seeding import Streams

SHAPE, CLASSES = (1, 4, 4), 3
MLP_WEIGHTS = 16 * 200 + 200 * 3  # scored layers carry no bias


def setup(seed=1, model="mlp"):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, *SHAPE, generator=g), torch.randint(0, CLASSES, (40,), generator=g)
    data = Dataset("tiny", x, y, x[:0], y[:0], x[:10], y[:10], np.arange(10), CLASSES, SHAPE,
                   tuple(map(str, range(CLASSES))))
    clients = [torch.arange(0, 10), torch.arange(10, 40)]
    return AlgorithmSetup(data, clients, ModelConfig(name=model), Streams(seed))


def mpt(**config):
    return MptFl(MptFlConfig(**{"local_epochs": 1, "batch_size": 5, **config}), setup())


def test_only_scores_travel_and_weights_come_from_the_seed():
    a, b = mpt(), mpt()
    assert a.model_cost.parameters == MLP_WEIGHTS
    assert set(a.communicated(a.state)) == {"1.scores", "3.scores"}
    assert a.download_bytes == a.upload_bytes == 4 * MLP_WEIGHTS
    assert torch.equal(a.state["1.weight"], b.state["1.weight"])  # same seed, same frozen weights


def test_mask_upload_sends_one_bit_per_weight():
    assert mpt(upload="mask").upload_bytes == math.ceil(MLP_WEIGHTS / 8)
    assert mpt(upload="mask").download_bytes == 4 * MLP_WEIGHTS


def test_sign_upload_sends_one_bit_per_weight_and_a_scale_per_layer():
    assert mpt(upload="sign").upload_bytes == math.ceil(MLP_WEIGHTS / 8) + 4 * 2
    assert mpt(upload="sign").download_bytes == 4 * MLP_WEIGHTS
    algo = mpt(upload="sign", variant="1/1")
    assert algo.upload_bytes == math.ceil(MLP_WEIGHTS / 8) + 4 * 2 + 4 * 2 * 200  # BatchNorm statistics in fp32


def test_sign_upload_adds_the_clients_sample_weighted_scaled_signs():
    algo = mpt(upload="sign")
    previous = {k: v.clone() for k, v in algo.state.items()}
    changes = []
    for up in (True, False):  # client 0 raises every score of layer 3 by 1 but one by 3; client 1 lowers them by 2
        change = torch.full_like(previous["3.scores"], 1.0 if up else -2.0)
        if up:
            change.view(-1)[0] = 3.0
        changes.append(change)
    states = [{**previous, "3.scores": previous["3.scores"] + change} for change in changes]
    algo.state = algo.fold(algo.state, [Update(0, 0, 10, states[0], 0.0), Update(1, 0, 30, states[1], 0.0)])
    n = previous["3.scores"].numel()
    scale_up = (n - 1 + 3.0) / n  # mean |change| of client 0
    expected = previous["3.scores"] + (10 * scale_up - 30 * 2.0) / 40  # every entry: client 0 up, client 1 down
    assert torch.allclose(algo.state["3.scores"], expected, atol=1e-6)
    assert torch.equal(algo.state["1.scores"], previous["1.scores"])  # no change at all: the scale is 0


def test_sign_upload_counts_an_unchanged_score_as_a_shrink_and_averages_batch_norm_statistics():
    algo = mpt(upload="sign", variant="1/1")
    previous = {k: v.clone() for k, v in algo.state.items()}
    change = torch.zeros_like(previous["3.scores"])
    change.view(-1)[0] = 2.0 * (1.0 if previous["3.scores"].view(-1)[0] >= 0 else -1.0)  # one score grows by 2
    norm_keys = [k for k in previous if k.endswith(("running_mean", "running_var"))]
    states = []
    for fill in (1.0, 3.0):
        state = {**previous, "3.scores": previous["3.scores"] + change}
        state.update({k: torch.full_like(previous[k], fill) for k in norm_keys})
        states.append(state)
    algo.state = algo.fold(algo.state, [Update(0, 0, 10, states[0], 0.0), Update(1, 0, 30, states[1], 0.0)])
    scale = 2.0 / change.numel()
    new = algo.state["3.scores"].view(-1)
    assert new[0].abs() == pytest.approx(previous["3.scores"].view(-1)[0].abs() + scale)
    rest = previous["3.scores"].view(-1)[1:]
    assert torch.allclose(new[1:], rest - scale * torch.where(rest < 0, -1.0, 1.0), atol=1e-7)  # towards zero
    assert norm_keys and all(torch.allclose(algo.state[k], torch.full_like(previous[k], 2.5)) for k in norm_keys)


def test_mask_server_lr_is_refused_without_mask_upload():
    with pytest.raises(ValidationError, match="mask_server_lr applies to upload: mask only, not upload: sign"):
        MptFlConfig(upload="sign", mask_server_lr=0.5)
    assert MptFlConfig(upload="mask", mask_server_lr=0.5).mask_server_lr == 0.5
    assert MptFlConfig(upload="sign", mask_server_lr=1.0).upload == "sign"  # the default, as a dumped scenario holds


def test_one_by_one_variant_also_sends_batch_norm_statistics():
    algo = mpt(variant="1/1")
    norm_floats = 2 * 200  # running mean and variance of the hidden BatchNorm1d
    assert algo.download_bytes == 4 * (MLP_WEIGHTS + norm_floats)


def test_scores_are_averaged_by_sample_count_and_weights_stay_frozen():
    algo = mpt()
    frozen = algo.state["1.weight"].clone()
    states = []
    for fill in (1.0, 4.0):
        state = {k: v.clone() for k, v in algo.state.items()}
        state["1.scores"].fill_(fill)
        state["1.weight"].fill_(99.0)  # a client cannot change the frozen weights
        states.append(state)
    algo.state = algo.fold(algo.state, [Update(0, 0, 10, states[0], 0.0), Update(1, 0, 30, states[1], 0.0)])
    assert torch.allclose(algo.state["1.scores"], torch.full_like(frozen, (1.0 * 10 + 4.0 * 30) / 40))
    assert torch.equal(algo.state["1.weight"], frozen)


def test_mask_upload_aggregates_each_layer_from_the_clients_masks():
    algo = mpt(upload="mask", keep=0.5)
    previous = {k: v.clone() for k, v in algo.state.items()}
    states = []
    for chosen in (slice(0, 300), slice(300, 600)):  # two clients keep disjoint halves of layer 3
        state = {k: v.clone() for k, v in algo.state.items()}
        scores = torch.zeros(600)
        scores[chosen] = 1.0
        state["3.scores"] = scores.reshape(3, 200)
        states.append(state)
    algo.state = algo.fold(algo.state, [Update(0, 0, 10, states[0], 0.0), Update(1, 0, 30, states[1], 0.0)])
    masks = [top_k_mask(s["3.scores"].abs(), 0.5) for s in states]
    assert torch.equal(algo.state["3.scores"], scores_from_masks(previous["3.scores"], masks, [10, 30], 0.5,
                                                                      algo.config.mask_server_lr))
    assert torch.equal(algo.state["1.scores"], previous["1.scores"])  # layer 1 unchanged by both clients


def test_model_sizes_match_the_paper_for_conv4():
    x, y = torch.zeros(4, 1, 28, 28), torch.zeros(4, dtype=torch.long)
    data = Dataset("mnist-shaped", x, y, x[:0], y[:0], x[:2], y[:2], np.arange(2), 10, (1, 28, 28), tuple("0123456789"))
    algo = MptFl(MptFlConfig(), AlgorithmSetup(data, [torch.arange(4)], ModelConfig(name="conv4"), Streams(0)))
    facts = algo.describe()
    assert facts["parameters"] == 1_932_352
    assert facts["model_bytes_fp32"] == 7_729_408
    assert facts["model_bytes_1bit"] == 241_544
    assert facts["model_bytes_with_mask"] == 483_088
    assert abs(facts["sparsity"] - 0.8) < 1e-3


def test_bnn_fl_averages_latent_weights():
    algo = BnnFl(BnnFlConfig(local_epochs=1, batch_size=5), setup())
    assert algo.download_bytes == 4 * MLP_WEIGHTS and algo.describe()["model_bytes_1bit"] == math.ceil(MLP_WEIGHTS / 8)


def test_adam_option_trains_the_scores_with_adam_and_refuses_an_explicit_momentum():
    algorithm = mpt(variant="1/1", optimizer="adam")  # MPT-FL's default momentum 0.9 is SGD's, unused here
    assert algorithm.optimizer.kind == "adam" and algorithm.optimizer.state_slots == 2
    assert isinstance(algorithm.trainer.optimizer, torch.optim.Adam)
    with pytest.raises(ValidationError, match="momentum is SGD's"):
        MptFlConfig(optimizer="adam", momentum=0.5)
    written_back = MptFlConfig(optimizer="adam").model_dump()  # a run's scenario.yaml holds every key
    assert MptFlConfig.model_validate(written_back).momentum == 0.9
    with pytest.raises(ValidationError, match="keep < 1"):
        MptFlConfig(weight_init="scaled_kaiming_biprop", keep=1.0)
