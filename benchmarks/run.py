"""All of edgesim's benchmarks in one command: ``make bench`` (``.venv/bin/python benchmarks/run.py``).

Runs ``training.py`` (edgesim's training path against a bare PyTorch loop, and the masked MPT step
against a dense one), ``batched.py`` (batched against sequential client training on this device),
``engine.py`` (the simulation engine), ``cells.py`` (10,000 devices behind 100 shared cells against a bare
SimPy twin), ``scale.py`` (100,000 devices for a day: events/s, memory, Parquet against CSV),
``flower_compare.py`` (edgesim vs Flower vs the bare loop,
whole processes), ``threads.py`` (how torch's threads wait, idle and beside busy work) and
``resume.py`` (checkpoints and resuming) and ``plots.py`` (the figures of a large run), prints one table of the ratios measured side by side in
this run, with the machine, and writes ``benchmarks/REPORT.md``. ``--quick`` for a fast pass.

Every module exposes ``run(quick: bool = False) -> list[dict]`` with rows
``{"benchmark", "metric", "value", "target", "ok", "note"}``. A module that is missing or fails
gives one row saying so; the others still run. Timing belongs here, never in the unit tests.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import platform
import shlex
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = ("training", "batched", "engine", "cells", "scale", "traces", "flower_compare", "threads", "resume",
           "plots")


def machine() -> dict:
    import numpy
    import torch

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu or "unknown", "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "numpy": numpy.__version__,
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (torch sees no CUDA device)",
            "platform": platform.platform()}


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def _verdict(ok) -> str:
    return {True: "ok", False: "MISSED", None: "-"}[ok]


def run_module(name: str, quick: bool) -> list[dict]:
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # a missing or broken module is a row, not a crash
        return [{"benchmark": name, "metric": "(module not run)", "value": None, "target": None, "ok": None,
                 "note": f"import failed: {type(exc).__name__}: {exc}"}]
    try:
        return list(module.run(quick=quick))
    except Exception as exc:
        traceback.print_exc()
        return [{"benchmark": name, "metric": "(module failed)", "value": None, "target": None, "ok": False,
                 "note": f"{type(exc).__name__}: {exc}"}]


def table(rows: list[dict]) -> list[str]:
    header = ["benchmark", "metric", "value", "target", "verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["benchmark"], r["metric"], _cell(r["value"]), _cell(r["target"]), _verdict(r["ok"])]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return lines


def report(rows, info, command, seconds, loads) -> str:
    lines = [
        "# edgesim benchmarks",
        "",
        f"Command: `{command}` ({datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}, "
        f"{seconds:.0f} s)",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores; Python {info['python']}, torch {info['torch']} "
        f"({info['torch_threads']} thread(s) in this process), numpy {info['numpy']}; {info['platform']}; "
        f"GPU: {info['gpu']}.",
        f"Load average (1/5/15 min) before: {loads[0]}; after: {loads[1]}. Other work on the machine slows "
        "both sides of a ratio alike only on average: each ratio is measured side by side, interleaved, "
        "with repeats; the notes give the medians behind each ratio (and, for training, the CPU-time ratio).",
        "",
        "Every value is a ratio (lower is better), so `target` is an upper bound.",
        "",
        *table(rows),
        "",
        "## Notes",
        "",
    ]
    lines += [f"- **{r['benchmark']}: {r['metric']}** — {r['note']}" for r in rows if r.get("note")]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run edgesim's benchmarks and write benchmarks/REPORT.md")
    parser.add_argument("--quick", action="store_true", help="a fast pass: fewer repeats, clients and rounds")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads, the same for every side of every ratio (default 1: "
                             "on a busy machine more threads mostly measure the contention)")
    parser.add_argument("--only", nargs="+", choices=MODULES, help="run only these modules")
    parser.add_argument("--report", type=Path, default=HERE / "REPORT.md")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    shared = HERE.parent.parent / "shared" / "data"  # as the Makefile: a ../shared/data beside the checkout
    if not os.environ.get("EDGESIM_DATA") and (shared / "mnist").is_dir():
        os.environ["EDGESIM_DATA"] = str(shared)
    sys.path.insert(0, str(HERE))
    info = machine()
    command = "make bench" if os.environ.get("MAKELEVEL") else "python " + " ".join(
        shlex.quote(a) for a in ["benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])])
    loads = ["/".join(f"{v:.1f}" for v in os.getloadavg())]
    print(f"machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']} with {info['torch_threads']} "
          f"thread(s); load average {loads[0]}", flush=True)
    started = time.perf_counter()
    rows = []
    for name in args.only or MODULES:
        print(f"== {name}", flush=True)
        got = run_module(name, args.quick)
        for r in got:
            print(f"   {r['metric']}: {_cell(r['value'])} (target {_cell(r['target'])}, {_verdict(r['ok'])})",
                  flush=True)
        rows += got
    loads.append("/".join(f"{v:.1f}" for v in os.getloadavg()))
    seconds = time.perf_counter() - started
    print()
    print("\n".join(table(rows)))
    print(f"\nmachine: {info['cpu']}, {info['cores']} cores, torch {info['torch']}, {info['torch_threads']} thread(s); "
          f"load average {loads[0]} -> {loads[1]}; {seconds:.0f} s")
    args.report.write_text(report(rows, info, command, seconds, loads))
    print(f"wrote {args.report}")
    return 1 if any(r["metric"] == "(module failed)" for r in rows) else 0  # a missed target is reported, not fatal


if __name__ == "__main__":
    sys.exit(main())
