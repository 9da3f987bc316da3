"""How torch's threads wait: edgesim's choice (``edgesim.launch``) against spinning, idle and beside busy work.

The workload is local SGD of the WKAFL CNN (the ``iot_home`` model) on random 28x28 images, batch 10,
``cores`` torch threads, in a fresh process each time (OpenMP reads its settings once, when torch loads).
Each process runs it under one of two settings:

- ``spinning``: libgomp's default (threads spin for a while before they sleep);
- ``edgesim``: what the ``edgesim`` command sets before it imports torch (``launch.settle_openmp_waiting``).

Both are timed on the idle machine and again beside ``cores`` busy processes (a pure-Python loop each),
interleaved, with repeats; a row is the median of edgesim's time over spinning's. Targets: idle, no slower
than spinning (<= 1.1); busy, at most half of spinning's time (<= 0.5).

Run alone: ``.venv/bin/python benchmarks/threads.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

STEPS, QUICK_STEPS = 300, 120
IDLE_TARGET, BUSY_TARGET = 1.1, 0.5

WORKLOAD = """
import sys, time
{setup}
import torch
from edgesim.models import ModelConfig, build_model
torch.set_num_threads({threads})
model = build_model(ModelConfig(name="wkafl_cnn"), (1, 28, 28), 10, seed=1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
g = torch.Generator().manual_seed(0)
x, y = torch.randn(10, 1, 28, 28, generator=g), torch.randint(0, 10, (10,), generator=g)
started = time.perf_counter()
for _ in range({steps}):
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
print(time.perf_counter() - started)
"""

SETTINGS = {
    "spinning": "",
    "edgesim": "from edgesim.launch import settle_openmp_waiting; settle_openmp_waiting()",
}


def timed(setting: str, steps: int, threads: int) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    code = WORKLOAD.format(setup=SETTINGS[setting], threads=threads, steps=steps)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def measure(steps: int, repeats: int, threads: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for i in range(repeats):
        for name in (list(SETTINGS) if i % 2 == 0 else list(reversed(SETTINGS))):
            times[name].append(timed(name, steps, threads))
    return times


def busy(cores: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]


def run(quick: bool = False) -> list[dict]:
    cores = os.cpu_count() or 1
    steps, repeats = (QUICK_STEPS, 2) if quick else (STEPS, 3)
    rows = []
    for condition, target in (("idle", IDLE_TARGET), (f"beside {cores} busy processes", BUSY_TARGET)):
        loaders = busy(cores) if condition != "idle" else []
        try:
            time.sleep(1.0 if loaders else 0.0)
            times = measure(steps, repeats, cores)
        finally:
            for process in loaders:
                process.kill()
                process.wait()
        ratio = statistics.median(e / s for e, s in zip(times["edgesim"], times["spinning"]))
        rows.append({"benchmark": "threads", "metric": f"{condition}: edgesim's wait policy / spinning, "
                                                       f"{steps} SGD steps of the WKAFL CNN on {cores} threads, wall",
                     "value": ratio, "target": f"<= {target:g}", "ok": ratio <= target,
                     "note": f"medians {statistics.median(times['edgesim']):.2f} s (edgesim) vs "
                             f"{statistics.median(times['spinning']):.2f} s (spinning), {repeats} repeats"})
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    for r in run(parser.parse_args().quick):
        print(f"{r['metric']}: {r['value']:.3g} (target {r['target']}) — {r['note']}")
