"""What one client's round costs with each HMoE expert and with the flat model.

For every expert (and the flat model) of a scenario, on the scenario's own
data split and fleet:

- ``host_ms``: wall time of one client's local training task on this machine
  (the mean over the first ``clients`` clients holding data for it), one torch
  thread;
- ``peak_mb``: the peak resident memory added by training it (model, gradients,
  optimiser, activations), measured in a fresh process from ``VmHWM`` after
  resetting it through ``/proc/self/clear_refs``, for the flat model and every
  expert (at its own width, ``algorithm.expert_width``);
- ``sim_s``: the simulated task time on the scenario's fleet (download +
  compute + upload at each device's profile and mean latency, no stragglers
  or contention),
  the mean over devices;
- ``payload_b``: bytes sent each way.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from edgesim.data import load_dataset, partition
from edgesim.fl.strategy import AlgorithmSetup
from edgesim.fl.registry import build_strategy
from edgesim.fl.trainer import Trainer, TrainJob
from edgesim.models import ModelConfig, build_model
from edgesim.scenario import Scenario
from edgesim.seeding import Streams
from edgesim.scenario.fleet import build_fleet
from edgesim.data.taxonomy import dataset_taxonomy


@dataclass(frozen=True)
class Trainable:
    """One model a round can train: the flat model or an expert."""

    name: str
    model: ModelConfig
    outputs: int
    trainer: Trainer
    state: dict
    client_indices: list[torch.Tensor]
    flops_per_sample: float
    footprint_bytes: int
    payload_bytes: int


def trainables(flat_scenario: Scenario, hmoe_scenario: Scenario) -> tuple[list[Trainable], object]:
    """The flat model and every expert, built exactly as the two runs build them; also the dataset."""
    streams = Streams(hmoe_scenario.seed)
    dataset = load_dataset(hmoe_scenario.dataset, streams.rng("data"))
    parts = [torch.from_numpy(p) for p in partition(dataset.train_y.numpy(), hmoe_scenario.device_count,
                                                    hmoe_scenario.dataset.partition, streams.rng("partition"))]
    taxonomy = dataset_taxonomy(hmoe_scenario.dataset, dataset.class_names)
    flat = build_strategy(flat_scenario.algorithm, AlgorithmSetup(dataset, parts, flat_scenario.model, streams,
                                                                   taxonomy))
    hmoe = build_strategy(hmoe_scenario.algorithm, AlgorithmSetup(dataset, parts, hmoe_scenario.model, streams,
                                                                   taxonomy))
    batch, slots = hmoe_scenario.algorithm.batch_size, hmoe.optimizer.state_slots
    items = [Trainable("flat", flat_scenario.model, dataset.num_classes, flat.trainer, flat.state, parts,
                       flat.model_cost.train_flops_per_sample, flat.footprint_bytes, flat.download_bytes)]
    for e, expert in enumerate(hmoe.experts):
        items.append(Trainable(expert.node, expert.model_config, len(taxonomy.children(expert.node)),
                               expert.trainer, expert.state,
                               [client[e] for client in hmoe.routed_indices], expert.cost.train_flops_per_sample,
                               expert.cost.footprint_bytes(batch, slots), expert.state_bytes))
    return items, dataset


def host_ms(item: Trainable, epochs: int, batch_size: int, clients: int = 3) -> tuple[float, float]:
    """(mean wall ms of one client's task, mean samples of those clients) over the first clients with data."""
    holders = [c for c, idx in enumerate(item.client_indices) if len(idx)][:clients]
    times, samples = [], []
    for c in holders:
        job = TrainJob(c, 0, item.client_indices[c], epochs, batch_size, seed=c)
        start = time.perf_counter()
        item.trainer.run([job], {0: item.state})
        times.append((time.perf_counter() - start) * 1000)
        samples.append(len(item.client_indices[c]))
    return float(np.mean(times)), float(np.mean(samples))


def simulated_s(devices: list, flops: float, payload_bytes: int) -> float:
    """Mean over the fleet of download + compute + upload time, without stragglers or link sharing."""
    bits = payload_bytes * 8.0
    return float(np.mean([flops / d.flops_per_s + bits / d.down_bps + bits / d.up_bps
                          + 2 * d.latency_ms.mean() / 1000 for d in devices]))


def _peak_worker(model: dict, input_shape: tuple, outputs: int, batch_size: int, momentum: float, steps: int,
                 queue) -> None:
    torch.set_num_threads(1)
    _train(build_model(ModelConfig(**model), input_shape, 2, seed=1), torch.randn(1, *input_shape),
           torch.zeros(1, dtype=torch.long), momentum, 1)  # warm up torch's kernels and buffers first
    x = torch.randn(batch_size, *input_shape)
    y = torch.randint(0, outputs, (batch_size,))
    status = Path("/proc/self/status")
    rss = lambda key: int(next(line for line in status.read_text().splitlines()  # noqa: E731
                               if line.startswith(key)).split()[1]) / 1024
    baseline = rss("VmRSS:")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    _train(build_model(ModelConfig(**model), input_shape, outputs, seed=0), x, y, momentum, steps)
    queue.put(rss("VmHWM:") - baseline)


def _train(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, momentum: float, steps: int) -> None:
    optimiser = torch.optim.SGD(net.parameters(), lr=0.01, momentum=momentum)
    for _ in range(steps):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        optimiser.step()


def peak_mb(model: ModelConfig, input_shape, outputs: int, batch_size: int, momentum: float, steps: int = 3) -> float:
    """Peak resident MB that training ``model`` adds, measured in a fresh process."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    worker = context.Process(target=_peak_worker, args=(model.model_dump(), tuple(input_shape), outputs,
                                                         batch_size, momentum, steps, queue))
    worker.start()
    result = queue.get(timeout=300)
    worker.join()
    return float(result)


def cost_table(flat_scenario: Scenario, hmoe_scenario: Scenario) -> pd.DataFrame:
    """One row per trainable: host ms, samples, FLOPs, simulated s, payload, footprint and peak MB."""
    torch.set_num_threads(1)
    items, dataset = trainables(flat_scenario, hmoe_scenario)
    config = hmoe_scenario.algorithm
    devices = build_fleet(hmoe_scenario, Streams(hmoe_scenario.seed)).devices
    rows = []
    for item in items:
        ms, samples = host_ms(item, config.local_epochs, config.batch_size)
        flops = item.flops_per_sample * samples * config.local_epochs
        rows.append({"model": item.name, "width": item.model.width, "outputs": item.outputs, "host_ms": ms,
                     "client_samples": samples, "sim_s": simulated_s(devices, flops, item.payload_bytes),
                     "payload_b": item.payload_bytes, "footprint_mb": item.footprint_bytes / 1e6,
                     "peak_mb": peak_mb(item.model, dataset.input_shape, item.outputs, config.batch_size,
                                        config.momentum)})
    return pd.DataFrame(rows)
