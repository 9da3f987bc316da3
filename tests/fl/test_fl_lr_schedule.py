"""Learning-rate schedules over rounds: hand-computed factors, validation, and that rounds train with them."""

import math

import pytest
import torch
from fl_inputs import synchronous
from pydantic import TypeAdapter, ValidationError

from edgesim.fl.fedavg import FedAvg, FedAvgConfig
from edgesim.fl.lr_schedule import ConstantLr, CosineLr, ExponentialLr, LrSchedule
from tests.fl.test_fl_mpt import setup

SCHEDULE = TypeAdapter(LrSchedule)


def test_constant_is_one_every_round():
    assert [ConstantLr().factor(r) for r in (1, 2, 300)] == [1.0, 1.0, 1.0]


def test_exponential_multiplies_by_gamma_per_round_after_the_first():
    schedule = ExponentialLr(gamma=0.5)
    assert [schedule.factor(r) for r in (1, 2, 3, 5)] == [1.0, 0.5, 0.25, 0.0625]


def test_cosine_falls_from_one_to_the_floor_over_its_rounds_and_stays_there():
    schedule = CosineLr(rounds=4, min_factor=0.2)
    # progress (r - 1) / 4: 0, 0.25, 0.5, 0.75, 1 -> 0.2 + 0.8 * (1 + cos(pi * progress)) / 2
    expected = [1.0, 0.2 + 0.4 * (1 + math.cos(math.pi / 4)), 0.6, 0.2 + 0.4 * (1 - math.cos(math.pi / 4)), 0.2, 0.2]
    assert [schedule.factor(r) for r in (1, 2, 3, 4, 5, 40)] == pytest.approx(expected)


@pytest.mark.parametrize("value", [{"kind": "exponential", "gamma": 0}, {"kind": "exponential", "gamma": 1.5},
                                   {"kind": "cosine", "rounds": 0}, {"kind": "cosine"},
                                   {"kind": "cosine", "rounds": 5, "min_factor": 2}, {"kind": "step"}])
def test_bad_schedules_are_refused(value):
    with pytest.raises(ValidationError):
        SCHEDULE.validate_python(value)


def test_fedavg_rounds_train_at_the_scheduled_rate():
    algorithm = FedAvg(FedAvgConfig(lr=0.2, lr_schedule={"kind": "exponential", "gamma": 0.5}), setup())
    assert [job.lr_scale for job in algorithm.jobs(3, 0, [0, 1])] == [0.25, 0.25]
    before = {k: v.clone() for k, v in algorithm.state.items()}
    frozen = FedAvg(FedAvgConfig(lr=0.2, lr_schedule={"kind": "cosine", "rounds": 1}), setup())
    frozen.aggregate(synchronous(2, 0, [0, 1]))  # the cosine's floor 0: a round at lr 0 leaves the model as it was
    assert all(torch.equal(frozen.state[k], before[k]) for k in before)
