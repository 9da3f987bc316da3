"""Batched against sequential client training on this machine's device: does ``--trainer auto`` pick the faster?

``auto`` trains same-shaped client jobs together (``BatchedTrainer``, vmap) on a GPU and one
after another (``LocalTrainer``) on the CPU. Each row is the wall time of the path ``auto``
picks here divided by the other path's, measured side by side (interleaved pairs, median), so
a value at most 1 means the automatic choice is the faster one on this device. The device is
``auto``'s (a CUDA GPU if torch sees one, else the CPU), or ``--device``.

- ``fedavg round`` and ``mpt_fl round``: ``aggregate`` of a synchronous round with the Conv-4 setup of ``training.py``
  (10 clients x 40 samples, batch 10, 5 local epochs, SGD with momentum and weight decay);
- ``K-async gradients``: one AKAFL-RJ-style iteration's work, 10 single mini-batch gradients
  (batch 10) of the WKAFL CNN from two model versions.

The notes also give the largest difference between the two paths' results (float tolerance).

Run alone: ``.venv/bin/python benchmarks/batched.py [--quick] [--device cuda]``.
"""

from __future__ import annotations

import torch

from edgesim.compute import Compute
from edgesim.fl.strategy import AlgorithmSetup
from edgesim.fl.fedavg import FedAvg, FedAvgConfig
from edgesim.fl.mpt_fl import MptFl, MptFlConfig
from edgesim.fl.trainer import OptimizerSettings, TrainJob, clone_state
from edgesim.fl.trainer_choice import make_trainer
from edgesim.models import ModelConfig, build_model
from edgesim.seeding import Streams
from training import (BATCH, CLIENTS, EPOCHS, SEED, _pairs, _ratio_note, load_avg, load_data, print_rows,
                      standalone_parser, synchronous_round, with_context)

TARGET = 1.0


def _row(metric: str, value: float, note: str) -> dict:
    return {"benchmark": "batched", "metric": metric, "value": round(value, 3), "target": f"<= {TARGET:g}",
            "ok": bool(value <= TARGET), "note": note}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed_on(device, fn):
    def run():
        fn()
        _sync(device)
    return run


def _paths(device: str) -> tuple[Compute, Compute, str]:
    """(auto's path, the other path, a label) on ``device``."""
    auto = Compute(device).resolved()
    other = Compute(auto.device, "sequential" if auto.batched else "batched")
    label = "batched / sequential" if auto.batched else "sequential / batched"
    return auto, other, label


def round_ratio(name: str, device: str, dataset, parts, repeats: int) -> dict:
    auto, other, label = _paths(device)
    data = dataset.to(auto.torch_device)
    if name == "mpt_fl":
        method, config = MptFl, MptFlConfig(local_epochs=EPOCHS, batch_size=BATCH)
    else:
        method = FedAvg
        config = FedAvgConfig(local_epochs=EPOCHS, batch_size=BATCH, lr=0.01, momentum=0.9, weight_decay=1e-4)
    algorithms = [method(config, AlgorithmSetup(data, parts, ModelConfig(name="conv4"), Streams(SEED), compute=c))
                  for c in (auto, other)]
    clients = list(range(len(parts)))
    for algorithm in algorithms:  # warm-up round from the same start: also the tolerance check
        algorithm.aggregate(synchronous_round(0, clients))
    difference = max(float((algorithms[0].state[k].double() - algorithms[1].state[k].double()).abs().max())
                     for k in algorithms[0].state)
    counter = iter(range(1, 10 ** 6))
    a, b = _pairs(_timed_on(auto.torch_device, lambda: algorithms[0].aggregate(synchronous_round(next(counter), clients))),
                  _timed_on(auto.torch_device, lambda: algorithms[1].aggregate(synchronous_round(next(counter), clients))), repeats)
    value, note = _ratio_note(a, b, (auto.describe()["trainer"], other.describe()["trainer"]))
    return _row(f"{name} round on {auto.device} (Conv-4, {len(clients)} clients x {len(parts[0])} samples, "
                f"{EPOCHS} epochs): {label} (auto's path first), wall", value,
                f"{note}; largest parameter difference after one round: {difference:.2g}")


def gradient_ratio(device: str, dataset, parts, repeats: int, k: int = 10) -> dict:
    auto, other, label = _paths(device)
    data = dataset.to(auto.torch_device)
    model_config = ModelConfig(name="wkafl_cnn")
    trainers = [make_trainer(build_model(model_config, data.input_shape, data.num_classes, SEED,
                                         device=auto.torch_device),
                             data.train_x, data.train_y, OptimizerSettings(0.01), c) for c in (auto, other)]
    bases = {v: clone_state(build_model(model_config, data.input_shape, data.num_classes, SEED + v,
                                        device=auto.torch_device)) for v in (0, 1)}
    counter = iter(range(10 ** 6))

    def jobs():
        seed = next(counter)
        return [TrainJob(c, c % 2, parts[c % len(parts)], 1, BATCH, seed=seed * k + c) for c in range(k)]

    same_jobs = jobs()
    results = [t.gradients(same_jobs, bases) for t in trainers]
    difference = max(float((x - y).abs().max()) for (x, _), (y, _) in zip(*results))
    a, b = _pairs(_timed_on(auto.torch_device, lambda: trainers[0].gradients(jobs(), bases)),
                  _timed_on(auto.torch_device, lambda: trainers[1].gradients(jobs(), bases)), repeats)
    value, note = _ratio_note(a, b, (auto.describe()["trainer"], other.describe()["trainer"]),
                              unit_scale=1000.0, unit="ms")
    return _row(f"K-async gradients on {auto.device} ({k} single-batch gradients of the WKAFL CNN, batch {BATCH}): "
                f"{label} (auto's path first), wall", value,
                f"{note}; largest gradient difference: {difference:.2g}")


def run(quick: bool = False, device: str = "auto") -> list[dict]:
    """The three rows (see the module docstring); ``quick``: fewer clients and repeats."""
    clients = 2 if quick else CLIENTS
    repeats = 3 if quick else 7
    started = load_avg()
    dataset, parts, source = load_data(CLIENTS)
    parts = parts[:clients]
    rows = [round_ratio("fedavg", device, dataset, parts, repeats),
            round_ratio("mpt_fl", device, dataset, parts, repeats),
            gradient_ratio(device, dataset, parts, repeats * 3)]
    return with_context(rows, source, started)


def main(argv=None) -> None:
    parser = standalone_parser(__doc__)
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print_rows(run(args.quick, args.device))


if __name__ == "__main__":
    main()
