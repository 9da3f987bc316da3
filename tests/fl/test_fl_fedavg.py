"""FedAvg: payloads and FLOPs from the model cost, and a round = sample-weighted average of jobs."""

import numpy as np
import pytest
import torch
from fl_inputs import synchronous

from edgesim.data import Dataset
from edgesim.fl.aggregate import weighted_average_states
from edgesim.fl.fedavg import FedAvg, FedAvgConfig
from edgesim.fl.strategy import AlgorithmSetup
from edgesim.fl.trainer import LocalTrainer, OptimizerSettings
from edgesim.models import ModelConfig, build_model
from edgesim.seeding import Streams
from edgesim.work import Task, TaskCost

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
    assert algo.model_cost.parameters == params
    # forward 2*(16*200 + 200*3) per sample, backward twice that minus the first layer's input grad
    per_sample = 2 * (16 * 200 + 200 * 3) + 2 * (16 * 200 + 200 * 3) + 2 * (200 * 3)
    assert algo.model_cost.train_flops_per_sample == per_sample
    footprint = algo.model_cost.footprint_bytes(4, 0)
    assert algo.cost(Task(1, 1, 0)) == TaskCost(4 * params, per_sample * 30 * 2, 4 * params, footprint)
    assert algo.cost(Task(2, 1, 0)) is None  # client 2 holds no data
    assert [kind.has_work(c) for kind in algo.task_kinds() for c in range(3)] == [True, True, False]
    assert [kind.footprint_bytes for kind in algo.task_kinds()] == [footprint]
    assert fedavg(momentum=0.9).cost(Task(1, 1, 0)).footprint_bytes == algo.model_cost.footprint_bytes(4, 1)


def test_round_is_the_sample_weighted_average_of_the_jobs():
    algo = fedavg()
    start = {k: v.clone() for k, v in algo.state.items()}
    jobs = algo.jobs(1, 0, [0, 1])
    metrics = algo.aggregate(synchronous(1, 0, [0, 1])).metrics
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
    a.aggregate(synchronous(1, 0, [0, 1]))
    b.aggregate(synchronous(1, 0, [0, 1]))
    assert all(torch.equal(a.state[k], b.state[k]) for k in a.state)
    assert a.evaluate(dataset().test_x, dataset().test_y) == b.evaluate(dataset().test_x, dataset().test_y)
