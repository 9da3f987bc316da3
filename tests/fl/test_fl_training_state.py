"""Training state for checkpoints: a fresh instance loaded with another's state goes on exactly as it would have."""

from __future__ import annotations

import io

import numpy as np
import torch
from fl_inputs import asynchronous, synchronous

from edgesim.data import Dataset
from edgesim.fl.akafl import Akafl, AkaflConfig
from edgesim.fl.hmoe import Hmoe, HmoeConfig
from edgesim.fl.mpt_fl import MptFl, MptFlConfig
from edgesim.fl.strategy import AlgorithmSetup
from edgesim.fl.training_state import Immutable
from edgesim.models import ModelConfig
from edgesim.seeding import Streams
from edgesim.taxonomy import Taxonomy

SHAPE, CLASSES = (1, 4, 4), 3


def setup(validation=0, taxonomy=None):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(80, *SHAPE, generator=g), torch.randint(0, CLASSES, (80,), generator=g)
    data = Dataset("tiny", x[validation:], y[validation:], x[:validation], y[:validation], x[:20], y[:20],
                   np.arange(20), CLASSES, SHAPE, tuple(map(str, range(CLASSES))))
    clients = [torch.arange(0, 30), torch.arange(30, 60), torch.arange(60, 80 - validation)]
    return AlgorithmSetup(data, clients, ModelConfig(name="mlp"), Streams(4), taxonomy)


def through_disk(state):
    """The state as a checkpoint gives it back: saved and loaded with weights_only, Immutable parts unwrapped."""
    def unwrap(value):
        if isinstance(value, Immutable):
            return dict(value.value)
        if isinstance(value, dict):
            return {k: unwrap(v) for k, v in value.items()}
        return value

    buffer = io.BytesIO()
    torch.save(unwrap(state), buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def same_evaluation(a, b, data):
    return a.evaluate(data.test_x, data.test_y) == b.evaluate(data.test_x, data.test_y)


def test_a_synchronous_method_continues_from_its_state():
    make = lambda: MptFl(MptFlConfig(local_epochs=1, batch_size=10), setup())  # noqa: E731
    first, resumed = make(), make()
    first.aggregate(synchronous(1, 0, [0, 1]))
    resumed.load_training_state(through_disk(first.training_state()))
    assert same_evaluation(first, resumed, first.setup.dataset)
    assert first.aggregate(synchronous(2, 1, [1, 2])).metrics == resumed.aggregate(synchronous(2, 1, [1, 2])).metrics
    assert all(torch.equal(first.state[k], resumed.state[k]) for k in first.state)


def test_hmoe_keeps_every_experts_state():
    tree = Taxonomy.from_edges([("root", "a"), ("root", "2"), ("a", "0"), ("a", "1")], ["0", "1", "2"])
    make = lambda: Hmoe(HmoeConfig(batch_size=10), setup(taxonomy=tree))  # noqa: E731
    first, resumed = make(), make()
    first.aggregate(synchronous(1, 0, [0, 1]))
    first.aggregate(synchronous(2, 1, [0, 2]))
    resumed.load_training_state(through_disk(first.training_state()))
    assert same_evaluation(first, resumed, first.setup.dataset)


def test_a_k_async_method_keeps_its_versions_adapted_k_and_judgement():
    config = AkaflConfig(name="akafl_rj", k=2, eps_k=5.0, eps_j=5.0, judgement_warmup=1, remodel_staleness=1)
    make = lambda: Akafl(config, setup(validation=10))  # noqa: E731
    first, resumed = make(), make()
    arrivals = [[(0, 0, 0), (1, 0, 0)], [(2, 0, 1), (0, 1, 0)], [(1, 1, 1), (2, 2, 0)]]
    for iteration, items in enumerate(arrivals[:2], start=1):
        first.aggregate(asynchronous(iteration, iteration - 1, items))
    state = first.training_state()
    assert all(isinstance(v, Immutable) for v in state["versions"].values())
    resumed.load_training_state(through_disk(state))
    assert max(resumed.versions) == max(first.versions) == 2 and set(resumed.versions) == set(first.versions)
    assert vars(resumed.adaptive) == vars(first.adaptive) and vars(resumed.judge) == vars(first.judge)
    a, b = (algo.aggregate(asynchronous(3, 2, arrivals[2])) for algo in (first, resumed))
    assert a == b and torch.equal(first.flat(first.versions[3]), resumed.flat(resumed.versions[3]))
