"""FedAvg: payloads and FLOPs from the model cost, and a round = sample-weighted average of jobs."""

import numpy as np
import pytest
import torch

from edgesim.data import Dataset
from edgesim.fl.aggregate import weighted_average_states
from edgesim.fl.algorithm import AlgorithmSetup
from edgesim.fl.fedavg import FedAvg, FedAvgConfig
from edgesim.fl.trainer import LocalTrainer, OptimizerSettings
from edgesim.models import ModelConfig, build_model
from edgesim.seeding import Streams

SHAPE, CLASSES = (1, 4, 4), 3



def dataset():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, *SHAPE, generator=g)
    y = torch.randint(0, CLASSES, (40,), generator=g)
    empty_x, empty_y = x[:0], y[:0]
    return Dataset("tiny", x, y, empty_x, empty_y, x[:10], y[:10], np.arange(10), CLASSES, SHAPE,
                   tuple(map(str, range(CLASSES))))


def fedavg(seed=1, **config):
    clients = [torch.arange(0, 10), torch.arange(10, 40), torch.arange(0, 0)]
    setup = AlgorithmSetup(dataset(), clients, ModelConfig(name="mlp"), Streams(seed))
    return FedAvg(FedAvgConfig(**{"lr": 0.1, "batch_size": 4, "local_epochs": 2, **config}), setup)


def test_payloads_flops_and_work():
    algo = fedavg()
    params = 16 * 200 + 200 + 200 * 3 + 3
    assert algo.cost.parameters == params
    assert algo.download_bytes(1) == algo.upload_bytes(1) == 4 * params
    # forward 2*(16*200 + 200*3) per sample, backward twice that minus the first layer's input grad
    per_sample = 2 * (16 * 200 + 200 * 3) + 2 * (16 * 200 + 200 * 3) + 2 * (200 * 3)
    assert algo.cost.train_flops_per_sample == per_sample
    assert algo.task_flops(1, round=1) == per_sample * 30 * 2
    assert [algo.has_work(c, 1) for c in range(3)] == [True, True, False]
    assert algo.footprint_bytes(1) == algo.cost.footprint_bytes(4, 0)
    assert fedavg(momentum=0.9).footprint_bytes(1) == algo.cost.footprint_bytes(4, 1)


def test_round_is_the_sample_weighted_average_of_the_jobs():
    algo = fedavg()
    start = {k: v.clone() for k, v in algo.state.items()}
    jobs = algo.jobs(1, 0, [0, 1])
    metrics = algo.run_round(1, 0, [0, 1])
    # redo the two jobs on an independent trainer and average them by hand (10 and 30 samples)
    model = build_model(ModelConfig(name="mlp"), SHAPE, CLASSES, 0)
    data = dataset()
    updates = LocalTrainer(model, data.train_x, data.train_y, OptimizerSettings(0.1)).run(jobs, {0: start})
    expected = weighted_average_states([u.state for u in updates], [10, 30])
    assert all(torch.equal(algo.state[k], expected[k]) for k in expected)
    assert metrics["train_loss"] == pytest.approx((updates[0].mean_loss * 10 + updates[1].mean_loss * 30) / 40)


def test_same_seed_same_model_and_round():
    a, b, c = fedavg(seed=1), fedavg(seed=1), fedavg(seed=2)
    assert all(torch.equal(a.state[k], b.state[k]) for k in a.state)
    assert not all(torch.equal(a.state[k], c.state[k]) for k in a.state)
    a.run_round(1, 0, [0, 1])
    b.run_round(1, 0, [0, 1])
    assert all(torch.equal(a.state[k], b.state[k]) for k in a.state)
    assert a.evaluate(dataset().test_x, dataset().test_y) == b.evaluate(dataset().test_x, dataset().test_y)
