"""Training cost against the floor: edgesim's per-round training path vs a bare PyTorch loop.

Setup of the MPT-FL paper (Conv-4 on 28x28x1, 10 clients x 40 samples, batch 10, 5 local epochs,
SGD with momentum 0.9 and weight decay 1e-4): real MNIST (2 classes x 20 images per client, the
``shards`` partition) when its files are in the data directory (``$EDGESIM_DATA``, else edgesim's
default), random tensors otherwise.

Rows (each a ratio measured side by side in this process, interleaved, median of pairs):

- ``mpt_fl round`` and ``fedavg round``: wall time of ``Strategy.aggregate`` on a synchronous round (what a simulation
  spends per round on training and aggregation, without the simulated clock) divided by a bare
  PyTorch loop doing the same training: per client, load the global state, a fresh SGD, the same
  shuffled mini-batches, then the sample-weighted average. The bare loop builds the same network
  (for MPT-FL: the same score layers), so the ratio is the framework's own overhead; both rounds
  start from the same state with the same seeds, and the note says whether they gave the same
  model bit for bit.
- ``masked step / dense step``: one SGD step of MPT's Conv-4 (scores over frozen signed weights)
  against one step of the dense Conv-4, same batch and optimiser settings.

Run alone: ``.venv/bin/python benchmarks/training.py [--quick] [--threads N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from edgesim.data import Dataset, DatasetConfig, load_dataset, partition, resolve_data_dir
from edgesim.data.config import ShardsPartition
from edgesim.data.mnist import mnist_files_present
from edgesim.fl.fedavg import FedAvg, FedAvgConfig
from edgesim.fl.mpt_fl import MptFl, MptFlConfig
from edgesim.fl.strategy import AlgorithmSetup
from edgesim.fl.trainer import clone_state
from edgesim.models import ModelConfig, build_model
from edgesim.models.kits import DENSE, scored_kit
from edgesim.seeding import Streams
from edgesim.work import Aggregation, Arrival

CLIENTS, SAMPLES_PER_CLASS, CLASSES_PER_CLIENT, BATCH, EPOCHS = 10, 20, 2, 10, 5
SEED = 1
ROUND_TARGET, STEP_TARGET = 1.10, 1.5


def synchronous_round(round: int, clients: list[int]) -> Aggregation:
    """Round ``round`` as the synchronous server hands it over: every client trains from version 0 (the
    benchmark keeps the model's version where it is)."""
    return Aggregation(round, 0, tuple(Arrival(client, 0, 0) for client in clients), 0)


def row(metric: str, value: float | None, target: float | None, note: str, benchmark: str = "training") -> dict:
    ok = None if value is None or target is None else bool(value <= target)
    return {"benchmark": benchmark, "metric": metric, "value": value,
            "target": None if target is None else f"<= {target:g}", "ok": ok, "note": note}


def load_data(clients: int) -> tuple[Dataset, list[torch.Tensor], str]:
    """MNIST split over ``clients`` (2 classes x 20 images each) if its files are here, else random tensors."""
    config = DatasetConfig(name="mnist", download=False,
                           partition=ShardsPartition(classes_per_client=CLASSES_PER_CLIENT,
                                                     samples_per_class=SAMPLES_PER_CLASS))
    streams = Streams(SEED)
    missing = mnist_files_present(resolve_data_dir(config))  # the names of the missing files
    if not missing:
        dataset = load_dataset(config, streams.rng("data"))
        parts = partition(dataset.train_y.numpy(), clients, config.partition, streams.rng("partition"))
        return dataset, [torch.from_numpy(p) for p in parts], f"MNIST from {resolve_data_dir(config)}"
    n = clients * CLASSES_PER_CLIENT * SAMPLES_PER_CLASS
    g = torch.Generator().manual_seed(SEED)
    x, y = torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)
    dataset = Dataset("random", x, y, x[:0], y[:0], x[:100], y[:100], np.arange(100), 10, (1, 28, 28),
                      tuple(str(d) for d in range(10)))
    per = CLASSES_PER_CLIENT * SAMPLES_PER_CLASS
    return dataset, [torch.arange(c * per, (c + 1) * per) for c in range(clients)], "random tensors (no MNIST files)"


def load_avg() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


class BareLoop:
    """The floor: a plain PyTorch FedAvg round over the same network, data, seeds and optimiser."""

    def __init__(self, algorithm: FedAvg):
        config, setup = algorithm.config, algorithm.setup
        self.model = build_model(setup.model, setup.dataset.input_shape, setup.dataset.num_classes,
                                 setup.streams.seed("model-init"), algorithm.layer_kit())
        self.x, self.y = setup.dataset.train_x, setup.dataset.train_y
        self.indices = setup.client_indices
        self.streams = setup.streams
        self.epochs, self.batch = config.local_epochs, config.batch_size
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                                         weight_decay=config.weight_decay)
        # what is averaged: the trained parameters and the statistics (for MPT-FL not the frozen weights)
        self.keys = list(algorithm.communicated(clone_state(self.model)))
        self.state = clone_state(self.model)

    def run_round(self, round: int, clients: list[int]) -> None:
        model, optimizer = self.model, self.optimizer
        total = sum(len(self.indices[c]) for c in clients)
        summed = {k: torch.zeros_like(self.state[k], dtype=torch.float64) for k in self.keys}
        for client in clients:
            model.load_state_dict(self.state)
            optimizer.state.clear()
            model.train()
            generator = torch.Generator().manual_seed(self.streams.seed("train", round, client))
            idx = self.indices[client]
            x, y, n = self.x[idx], self.y[idx], len(idx)
            for _ in range(self.epochs):
                order = torch.randperm(n, generator=generator)
                for start in range(0, n, self.batch):
                    batch = order[start:start + self.batch]
                    optimizer.zero_grad(set_to_none=True)
                    F.cross_entropy(model(x[batch]), y[batch]).backward()
                    optimizer.step()
            state, weight = model.state_dict(), float(n) / float(total)
            for k in self.keys:
                summed[k] += state[k].to(torch.float64) * weight
        self.state = {**self.state, **{k: v.to(self.state[k].dtype) for k, v in summed.items()}}


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _pairs(first, second, repeats: int) -> tuple[list, list]:
    """``repeats`` interleaved (wall, cpu) timings of each, alternating which goes first."""
    a, b = [], []
    for r in range(repeats):
        if r % 2 == 0:
            a.append(_timed(first))
            b.append(_timed(second))
        else:
            b.append(_timed(second))
            a.append(_timed(first))
    return a, b


def _ratio_note(a: list, b: list, names: tuple[str, str], unit_scale: float = 1.0, unit: str = "s") -> tuple[float, str]:
    wall = statistics.median(x[0] / y[0] for x, y in zip(a, b))
    cpu = statistics.median(x[1] / y[1] for x, y in zip(a, b))
    ma, mb = statistics.median(x[0] for x in a), statistics.median(y[0] for y in b)
    note = (f"median of {len(a)} interleaved pairs; {names[0]} {ma * unit_scale:.3g} {unit}, "
            f"{names[1]} {mb * unit_scale:.3g} {unit} (medians); CPU-time ratio {cpu:.3f}")
    return wall, note


def round_ratio(name: str, dataset: Dataset, parts: list[torch.Tensor], repeats: int) -> dict:
    if name == "mpt_fl":
        config = MptFlConfig(local_epochs=EPOCHS, batch_size=BATCH)
        algorithm = MptFl(config, AlgorithmSetup(dataset, parts, ModelConfig(name="conv4"), Streams(SEED)))
    else:
        config = FedAvgConfig(local_epochs=EPOCHS, batch_size=BATCH, lr=0.01, momentum=0.9, weight_decay=1e-4)
        algorithm = FedAvg(config, AlgorithmSetup(dataset, parts, ModelConfig(name="conv4"), Streams(SEED)))
    bare = BareLoop(algorithm)
    clients = list(range(len(parts)))
    # warm-up round from the same state with the same seeds: also checks that both do the same training
    bare.state = dict(algorithm.state)
    algorithm.aggregate(synchronous_round(0, clients))
    bare.run_round(0, clients)
    same = all(torch.equal(algorithm.state[k], bare.state[k]) for k in algorithm.state)
    counter = iter(range(1, 10 ** 6))
    a, b = _pairs(lambda: algorithm.aggregate(synchronous_round(next(counter), clients)),
                  lambda: bare.run_round(next(counter), clients), repeats)
    value, note = _ratio_note(a, b, ("edgesim", "bare"))
    steps = len(clients) * EPOCHS * -(-len(parts[0]) // BATCH)
    return row(f"{name} round (Conv-4, {len(clients)} clients x {len(parts[0])} samples, {steps} steps): "
               f"edgesim / bare PyTorch, wall", round(value, 3), ROUND_TARGET,
               f"{note}; same model bit for bit: {'yes' if same else 'NO'}")


def step_ratio(dataset: Dataset, parts: list[torch.Tensor], repeats: int, block: int = 10) -> dict:
    def make(kit):
        model = build_model(ModelConfig(name="conv4"), dataset.input_shape, dataset.num_classes, SEED, kit)
        params = [p for p in model.parameters() if p.requires_grad]
        return model, torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4)

    c = MptFlConfig()
    dense, masked = make(DENSE), make(scored_kit(c.keep, c.weight_init, c.score_init, binary_activations=False))
    idx = torch.cat(parts)[:BATCH * block]
    x, y = dataset.train_x[idx], dataset.train_y[idx]

    def steps(pair):
        model, optimizer = pair
        for i in range(block):
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(x[i * BATCH:(i + 1) * BATCH]), y[i * BATCH:(i + 1) * BATCH]).backward()
            optimizer.step()

    steps(dense), steps(masked)  # warm-up (allocations, the sign cache)
    a, b = _pairs(lambda: steps(masked), lambda: steps(dense), repeats)
    value, note = _ratio_note(a, b, ("masked", "dense"), unit_scale=1000.0 / block, unit="ms/step")
    return row(f"MPT masked step / dense step (Conv-4, batch {BATCH}, SGD momentum + weight decay), wall",
               round(value, 3), STEP_TARGET, note + f"; blocks of {block} steps")


def run(quick: bool = False) -> list[dict]:
    """The training rows (see the module docstring); ``quick``: fewer clients and repeats."""
    clients = 2 if quick else CLIENTS
    round_repeats, step_repeats = (3, 5) if quick else (5, 15)
    started = load_avg()
    dataset, parts, source = load_data(CLIENTS)
    parts = parts[:clients]
    rows = [step_ratio(dataset, parts, step_repeats),
            round_ratio("mpt_fl", dataset, parts, round_repeats),
            round_ratio("fedavg", dataset, parts, round_repeats)]
    return with_context(rows, source, started)


def with_context(rows: list[dict], source: str, started: str) -> list[dict]:
    """``rows`` with the data source and the load average before and after added to each note."""
    for r in rows:
        r["note"] += f"; data: {source}; load average {started} -> {load_avg()}"
    return rows


def standalone_parser(doc: str) -> argparse.ArgumentParser:
    """Options of a training benchmark run alone: ``--quick`` and ``--threads``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 clients a round instead of 10, fewer repeats")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    return parser


def print_rows(rows: list[dict]) -> None:
    for r in rows:
        print(f"{r['metric']}: {r['value']} (target {r['target']}, ok={r['ok']})\n    {r['note']}")


def main(argv=None) -> None:
    args = standalone_parser(__doc__).parse_args(argv)
    torch.set_num_threads(args.threads)
    print_rows(run(args.quick))


if __name__ == "__main__":
    main()
