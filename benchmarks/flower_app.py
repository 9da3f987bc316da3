"""FedAvg on MNIST in plain PyTorch: the bare loop, and the same training as a Flower simulation.

Run by ``flower_compare.py``, in one of two modes::

    python benchmarks/flower_app.py bare   --data DIR [--rounds 30] [--clients 100] [--per-round 10] [--threads 1]
    python benchmarks/flower_app.py flower --data DIR [...] [--actors 1]   # with benchmarks/.flower-venv's python

Both train the WKAFL CNN (conv5x5(32) pool relu, conv5x5(64) pool relu, fc(512) relu, fc(10)) with
one local epoch of plain SGD (batch 10, lr 0.05) on 2 classes x 20 MNIST images per client, 10 of
100 clients per round, then evaluate the final model on a 1,000-image test subset and on the full
test set (what ``edgesim run`` does at the last round). The same functions serve both modes, so
the only difference between them is Flower's simulation engine. MNIST comes from the official IDX
gzip files (there is no torchvision here). Only numpy and torch are imported, and flwr in the
``flower`` mode.

Prints ``ROUND <k> <unix time>`` when round ``k``'s aggregate is ready (``k = 0``: training is
about to start) and, last, ``RESULT <json>``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MEAN, STD = 0.1307, 0.3081
LR, BATCH, EPOCHS, CLASSES_PER_CLIENT, PER_CLASS, SUBSET, SEED = 0.05, 10, 1, 2, 20, 1000, 1


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(data_dir: Path, prefix: str) -> tuple[torch.Tensor, torch.Tensor]:
    images = read_idx(data_dir / "mnist" / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(data_dir / "mnist" / f"{prefix}-labels-idx1-ubyte.gz")
    x = (images.astype(np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(x.reshape(-1, 1, 28, 28)), torch.from_numpy(labels.astype(np.int64))


def shards(labels: np.ndarray, clients: int) -> list[torch.Tensor]:
    """Client c holds classes 2c and 2c+1 (mod 10), 20 distinct images of each."""
    rng = np.random.default_rng(SEED)
    pools = {k: list(rng.permutation(np.flatnonzero(labels == k))) for k in range(10)}
    parts = []
    for c in range(clients):
        taken = []
        for j in range(CLASSES_PER_CLIENT):
            pool = pools[(CLASSES_PER_CLIENT * c + j) % 10]
            taken += [pool.pop() for _ in range(PER_CLASS)]
        parts.append(torch.as_tensor(np.sort(taken)))
    return parts


class WkaflCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 5), nn.Conv2d(32, 64, 5)
        self.fc1, self.fc2 = nn.Linear(64 * 4 * 4, 512), nn.Linear(512, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    """One local epoch of SGD; returns the mean training loss."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    total = 0.0
    for _ in range(EPOCHS):
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), BATCH):
            batch = order[start:start + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
    return total / (EPOCHS * len(y))


@torch.inference_mode()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    correct = sum(int((model(x[s:s + 2000]).argmax(1) == y[s:s + 2000]).sum()) for s in range(0, len(y), 2000))
    return correct / len(y)


def final_evaluation(model: nn.Module, test_x: torch.Tensor, test_y: torch.Tensor) -> dict:
    subset = torch.as_tensor(np.sort(np.random.default_rng(SEED).choice(len(test_y), SUBSET, replace=False)))
    return {"subset_accuracy": accuracy(model, test_x[subset], test_y[subset]),
            "accuracy": accuracy(model, test_x, test_y)}


def mark_round(k: int) -> None:
    print(f"ROUND {k} {time.time():.6f}", flush=True)


# --- the bare loop ---

def run_bare(args) -> dict:
    torch.set_num_threads(args.threads)
    train_x, train_y = load_split(args.data, "train")
    test_x, test_y = load_split(args.data, "t10k")
    parts = shards(train_y.numpy(), args.clients)
    torch.manual_seed(SEED)
    model = WkaflCnn()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(SEED)
    mark_round(0)
    for rnd in range(1, args.rounds + 1):
        chosen = rng.choice(args.clients, args.per_round, replace=False)
        total = sum(len(parts[c]) for c in chosen)
        summed = {k: torch.zeros_like(v) for k, v in state.items()}
        for c in chosen:
            model.load_state_dict(state)
            idx = parts[c]
            train(model, train_x[idx], train_y[idx], seed=rnd * 1000 + int(c))
            for k, v in model.state_dict().items():
                summed[k] += v * (len(idx) / total)
        state = summed
        mark_round(rnd)
    model.load_state_dict(state)
    return final_evaluation(model, test_x, test_y)


# --- the same training in Flower's simulation engine ---

_CLIENT_DATA: dict = {}  # per Ray worker process: the training set and the partition, loaded once


def _client_data():
    if not _CLIENT_DATA:
        data = Path(os.environ["FLOWER_BENCH_DATA"])
        train_x, train_y = load_split(data, "train")
        _CLIENT_DATA.update(x=train_x, y=train_y, parts=shards(train_y.numpy(), int(os.environ["FLOWER_BENCH_CLIENTS"])))
    return _CLIENT_DATA


def build_apps():
    from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp
    from flwr.serverapp import Grid, ServerApp
    from flwr.serverapp.strategy import FedAvg

    client_app = ClientApp()

    @client_app.train()
    def client_train(msg: Message, context: Context) -> Message:
        torch.set_num_threads(int(os.environ["FLOWER_BENCH_THREADS"]))
        data = _client_data()
        partition = int(context.node_config["partition-id"])
        idx = data["parts"][partition]
        model = WkaflCnn()
        model.load_state_dict(msg.content["arrays"].to_torch_state_dict())
        round_ = int(msg.content["config"]["server-round"]) if "config" in msg.content else 0
        loss = train(model, data["x"][idx], data["y"][idx], seed=round_ * 1000 + partition)
        content = RecordDict({"arrays": ArrayRecord(model.state_dict()),
                              "metrics": MetricRecord({"train_loss": loss, "num-examples": len(idx)})})
        return Message(content=content, reply_to=msg)

    server_app = ServerApp()

    @server_app.main()
    def server_main(grid: Grid, context: Context) -> None:
        rounds, clients = int(os.environ["FLOWER_BENCH_ROUNDS"]), int(os.environ["FLOWER_BENCH_CLIENTS"])
        per_round = int(os.environ["FLOWER_BENCH_PER_ROUND"])
        test_x, test_y = load_split(Path(os.environ["FLOWER_BENCH_DATA"]), "t10k")
        torch.manual_seed(SEED)
        model = WkaflCnn()
        result = {}

        def evaluate(server_round: int, arrays: ArrayRecord):
            mark_round(server_round)
            if server_round == rounds:
                model.load_state_dict(arrays.to_torch_state_dict())
                result.update(final_evaluation(model, test_x, test_y))
                return MetricRecord(result)
            return None

        strategy = FedAvg(fraction_train=per_round / clients, min_train_nodes=per_round,
                          fraction_evaluate=0.0, min_available_nodes=clients)
        strategy.start(grid=grid, initial_arrays=ArrayRecord(model.state_dict()), num_rounds=rounds,
                       evaluate_fn=evaluate)
        _SERVER_RESULT.update(result)

    return client_app, server_app


_SERVER_RESULT: dict = {}


def run_flower(args) -> dict:
    from flwr.simulation import run_simulation

    torch.set_num_threads(args.threads)
    env = {"FLOWER_BENCH_DATA": str(args.data), "FLOWER_BENCH_CLIENTS": str(args.clients),
           "FLOWER_BENCH_ROUNDS": str(args.rounds), "FLOWER_BENCH_PER_ROUND": str(args.per_round),
           "FLOWER_BENCH_THREADS": str(args.threads), "OMP_NUM_THREADS": str(args.threads),
           "PYTHONPATH": str(Path(__file__).resolve().parent)}
    os.environ.update(env)  # Ray's processes inherit the environment (and Flower puts sys.path on PYTHONPATH)
    client_app, server_app = build_apps()
    backend = {"init_args": {"num_cpus": args.actors},
               "client_resources": {"num_cpus": 1, "num_gpus": 0.0}}
    run_simulation(server_app=server_app, client_app=client_app, num_supernodes=args.clients,
                   backend_config=backend)
    if "accuracy" not in _SERVER_RESULT:
        raise RuntimeError("the Flower simulation ended without its final evaluation")
    return dict(_SERVER_RESULT)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="FedAvg on MNIST: bare PyTorch loop or Flower simulation")
    parser.add_argument("mode", choices=["bare", "flower"])
    parser.add_argument("--data", type=Path, required=True, help="folder holding mnist/*.gz")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--per-round", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (per Flower client)")
    parser.add_argument("--actors", type=int, default=1, help="Flower: CPUs given to Ray, one client each")
    args = parser.parse_args(argv)
    started = time.time()
    result = run_bare(args) if args.mode == "bare" else run_flower(args)
    result.update(mode=args.mode, seconds_in_main=time.time() - started)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    # Run as the importable module ``flower_app`` (not ``__main__``), so that Ray's workers import
    # the client code by name (benchmarks/ is on their PYTHONPATH) and keep its data cache.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import flower_app

    flower_app.main()
