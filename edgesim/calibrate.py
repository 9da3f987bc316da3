"""Host calibration: measure this machine's sustained training throughput and write a device profile for it.

``edgesim calibrate`` measures what a device profile's ``train_gflops``
stands for (sustained fp32 training throughput, GFLOP/s, of the FLOPs edgesim
counts) on the machine it runs on, so that a Raspberry Pi or phone-class board
can stand in a scenario as itself rather than as an estimate from a datasheet.

Method, for each model (every registered one unless named):

1. build it with ``build_model`` (width 1, seed ``SEED``) for MNIST's input,
   ``INPUT_SHAPE`` = 1x28x28 with 10 classes, and count its training FLOPs
   per sample with ``measure_cost`` — the same count the simulator divides
   by ``train_gflops`` (convolutions and matrix products, forward and
   backward; element-wise work is not counted, so the figure is *counted*
   FLOPs per second);
2. train on torch's CPU: one fixed mini-batch of ``batch_size`` random
   samples (seeded), cross-entropy loss, backward, plain SGD step (lr
   ``LR``), repeated: ``WINDOWS`` timed windows of ``seconds / WINDOWS``
   each (whole steps, at least one per window) after a warm-up as long as
   one window (and at least ``WARMUP_MIN_STEPS`` steps);
3. per window, GFLOP/s = FLOPs per sample x samples trained / seconds / 1e9;
   the model's figure is the median over the windows, with their spread
   (lowest and highest).

The profile's ``train_gflops`` is the median over the models of those figures.
A simulation applies that one figure to every model a scenario trains, while
the per-model figures (written as comments in the YAML and in ``source``)
show how far a given model's real speed departs from it; calibrate with only
the scenario's model (``--model``) when that matters.

``ram_mb`` is the machine's physical memory (``os.sysconf``, MiB, as in the
built-in profiles). Power cannot be measured from software: unless given, both
power figures are written as 0 W and said to be unmeasured. An optional
transfer test downloads a URL (HTTP GET) and reports Mbit/s beside the profile;
it describes the network path, not the device, so it is a comment, not a field.
"""

from __future__ import annotations

import math
import os
import platform
import re
import socket
import statistics
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from http.client import HTTPException
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from edgesim.errors import InputError, OutputError, brief, brief_path
from edgesim.models import ModelConfig, build_model, model_names
from edgesim.models.cost import measure_cost
from edgesim.profiles import DeviceProfile

SEED = 0
INPUT_SHAPE = (1, 28, 28)
"""MNIST's images (channels, height, width): the input every model is built and trained for."""
NUM_CLASSES = 10
LR = 0.01
WINDOWS = 5
SHORT_S = 1.0
"""Fewer ``--seconds`` than this per model draws a warning: windows under 0.2 s are mostly noise."""
WARMUP_MIN_STEPS = 2
TRANSFER_TIMEOUT_S = 10.0
"""Seconds to wait for the endpoint to answer (and between two reads)."""
TRANSFER_MAX_S = 10.0
TRANSFER_MAX_BYTES = 256 * 2**20
TRANSFER_CHUNK = 64 * 1024
NAME_PATTERN = r"[A-Za-z0-9_.-]+"
"""A profile name: letters, digits, ``_``, ``.`` and ``-``, so that it never holds a path separator and
``<name>.yaml`` stays in the current folder."""
NAME_MAX = 64
SAMPLE_BYTES = math.prod(INPUT_SHAPE) * 4 + 8
"""Memory one sample of the training batch takes: fp32 input and an int64 label."""
_ALLOCATION_FAILED = re.compile(r"can't allocate|cannot allocate|could not allocate|not enough memory"
                                r"|out of memory", re.IGNORECASE)

Clock = Callable[[], float]


@dataclass(frozen=True)
class Window:
    """One timed window: samples trained in it and its length in seconds."""

    samples: int
    seconds: float


@dataclass(frozen=True)
class ModelThroughput:
    """A model's counted training FLOPs per sample and its timed windows."""

    model: str
    flops_per_sample: float
    windows: tuple[Window, ...]

    def window_gflops(self) -> list[float]:
        """GFLOP/s of each window: FLOPs per sample x samples / seconds / 1e9."""
        return [self.flops_per_sample * w.samples / w.seconds / 1e9 for w in self.windows]

    @property
    def gflops(self) -> float:
        """The median over the windows, GFLOP/s."""
        return statistics.median(self.window_gflops())


@dataclass(frozen=True)
class Transfer:
    """An HTTP GET of ``url``: bytes received, seconds from the answer's headers to the last byte, and seconds
    from the request to the headers."""

    url: str
    bytes: int
    seconds: float
    first_byte_s: float

    @property
    def mbps(self) -> float:
        return self.bytes * 8 / self.seconds / 1e6

    def describe(self) -> str:
        return (f"GET {self.url}: {self.bytes / 1e6:.3g} MB in {self.seconds:.3g} s = {self.mbps:.3g} Mbit/s "
                f"(answer after {self.first_byte_s * 1000:.0f} ms)")


def check_models(names: Sequence[str] | None) -> list[str]:
    """The models to measure: ``names`` in order without repeats, or every registered model; ``InputError``
    for a name the registry does not know."""
    known = model_names()
    if not names:
        return known
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InputError([f"--model {brief(name)}: unknown model; known: {', '.join(known)}" for name in unknown])
    return list(dict.fromkeys(names))


def measure_model(name: str, batch_size: int, seconds: float, clock: Clock = time.perf_counter,
                  on_window: Callable[[], None] | None = None) -> ModelThroughput:
    """Train ``name`` on this machine's CPU for a warm-up and ``WINDOWS`` windows filling ``seconds`` (see the
    module docstring); ``on_window`` is called after the warm-up and after each window."""
    model = build_model(ModelConfig(name=name), INPUT_SHAPE, NUM_CLASSES, seed=SEED)
    flops = measure_cost(model, INPUT_SHAPE).train_flops_per_sample
    generator = torch.Generator().manual_seed(SEED)
    x = torch.randn((batch_size, *INPUT_SHAPE), generator=generator)
    y = torch.randint(0, NUM_CLASSES, (batch_size,), generator=generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    model.train()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    window_s = seconds / WINDOWS
    _run_for(step, window_s, WARMUP_MIN_STEPS, clock)
    if on_window:
        on_window()
    windows = []
    for _ in range(WINDOWS):
        steps, elapsed = _run_for(step, window_s, 1, clock)
        windows.append(Window(samples=steps * batch_size, seconds=elapsed))
        if on_window:
            on_window()
    return ModelThroughput(name, flops, tuple(windows))


def _run_for(step: Callable[[], None], seconds: float, min_steps: int, clock: Clock) -> tuple[int, float]:
    """Call ``step`` until ``seconds`` have passed on ``clock`` and it ran ``min_steps`` times; the steps run and
    the seconds they took."""
    start = now = clock()
    steps = 0
    while steps < min_steps or now - start < seconds:
        step()
        steps += 1
        now = clock()
    return steps, now - start


def check_endpoint(url: str) -> None:
    """``InputError`` unless ``url`` is a well-formed http:// or https:// URL."""
    try:
        scheme = urllib.parse.urlsplit(url).scheme
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise InputError(f"--endpoint {brief(url)}: not a URL ({exc})") from None
    if scheme not in ("http", "https"):
        raise InputError(f"--endpoint {brief(url)}: give an http:// or https:// URL")


def measure_transfer(url: str, clock: Clock = time.perf_counter) -> Transfer:
    """Download ``url`` (http or https) for at most ``TRANSFER_MAX_S`` seconds or ``TRANSFER_MAX_BYTES``;
    ``InputError`` naming the URL when it cannot be fetched or sends nothing."""
    check_endpoint(url)
    try:
        start = clock()
        with urllib.request.urlopen(url, timeout=TRANSFER_TIMEOUT_S) as response:
            answered = clock()
            received, now = 0, answered
            while received < TRANSFER_MAX_BYTES and now - answered < TRANSFER_MAX_S:
                chunk = response.read(TRANSFER_CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                now = clock()
    except (urllib.error.URLError, HTTPException, OSError, ValueError) as exc:
        reason = exc if isinstance(exc, urllib.error.HTTPError) else getattr(exc, "reason", None) or exc
        raise InputError(f"--endpoint {brief(url)}: cannot download it: {reason}") from None
    if received == 0 or now <= answered:
        raise InputError(f"--endpoint {brief(url)}: the answer held no data to time a transfer by")
    return Transfer(url, received, now - answered, answered - start)


@dataclass(frozen=True)
class Host:
    """What the profile says about the machine it was measured on."""

    name: str
    cpu: str
    cores: int
    ram_mb: int
    threads: int
    load: float | None
    """The 1-minute load average when the calibration started (``None`` where the system has none)."""

    @staticmethod
    def here() -> Host:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            load = None
        return Host(socket.gethostname(), _cpu_name(), os.cpu_count() or 1, total_memory_mb(),
                    torch.get_num_threads(), load)

    def busy(self) -> bool:
        """Whether other work was running (a load of half a core or more): the figures then understate it."""
        return self.load is not None and self.load >= 0.5


def total_memory_mb() -> int:
    """Physical memory in MiB (``os.sysconf``: Linux, Android, macOS); ``InputError`` where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (AttributeError, ValueError, OSError):
        raise InputError("this system does not report its memory size (os.sysconf); calibrate on Linux, "
                         "Android or macOS") from None


def _cpu_name() -> str:
    """The processor's name from ``/proc/cpuinfo`` (``model name`` on x86, ``Model`` or ``Hardware`` on ARM
    boards), else what ``platform`` knows."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for key in ("model name", "Model", "Hardware"):
        match = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if match:
            return " ".join(match.group(1).split())
    return platform.processor() or platform.machine() or "unknown processor"


def _shape() -> str:
    return "x".join(map(str, INPUT_SHAPE))


def default_name() -> str:
    """``calibrated_<host name>``, the host name cut down to letters, digits and ``_``, at most ``NAME_MAX``
    characters."""
    host = re.sub(r"[^a-z0-9]+", "_", socket.gethostname().lower()).strip("_") or "host"
    return ("calibrated_" + host)[:NAME_MAX].rstrip("_")


def check_name(name: str | None) -> str:
    """The profile's name: ``name``, or ``default_name()`` when it is ``None``; ``InputError`` unless it matches
    ``NAME_PATTERN`` within ``NAME_MAX`` characters."""
    if name is None:
        return default_name()
    if not (re.fullmatch(NAME_PATTERN, name) and len(name) <= NAME_MAX):
        raise InputError(f"--name {brief(name)}: a profile name is 1 to {NAME_MAX} letters, digits, _, . and - "
                         f"({NAME_PATTERN}); use --out to choose where the file goes")
    return name


def check_batch_size(batch_size: int, ram_mb: int) -> None:
    """``InputError`` unless ``batch_size`` is at least 1 and the batch's inputs alone fit in ``ram_mb`` MiB."""
    if batch_size < 1:
        raise InputError(f"--batch-size {batch_size}: must be at least 1")
    need_mb = batch_size * SAMPLE_BYTES / 2**20
    if need_mb > ram_mb:
        raise InputError(f"--batch-size {batch_size}: its {_shape()} inputs alone take {need_mb:,.0f} MiB, more "
                         f"than this machine's {ram_mb:,} MiB of memory; try a smaller --batch-size")


def device_profile(results: Sequence[ModelThroughput], host: Host, batch_size: int, seconds: float,
                   measured_at: datetime, power_w: tuple[float, float] | None) -> DeviceProfile:
    """The profile: ``train_gflops`` the median over ``results``; ``power_w`` (idle, active) measured
    elsewhere, or ``None`` for unmeasured (0 W)."""
    per_model = ", ".join(f"{r.model} {r.gflops:.3g}" for r in results)
    threads = f"{host.threads} thread{'' if host.threads == 1 else 's'} on {host.cores} cores"
    load = "" if host.load is None else f", load average {host.load:.2f}"
    power = "power given" if power_w else "power not measured (0 W)"
    source = (f"edgesim calibrate, {measured_at.isoformat(timespec='minutes')}, torch {torch.__version__} CPU, "
              f"{threads}{load}: counted training FLOPs x samples / s of SGD steps (batch {batch_size}, random "
              f"{_shape()}), median of {WINDOWS} windows of {seconds / WINDOWS:.3g} s after a warm-up; "
              f"train_gflops = median over models of {per_model} GFLOP/s; ram_mb = physical memory; {power}")
    idle, active = power_w or (0.0, 0.0)
    return DeviceProfile(
        description=f"{host.name}: {host.cpu}, {host.cores} cores, {host.ram_mb} MB (calibrated)",
        train_gflops=float(f"{statistics.median(r.gflops for r in results):.4g}"),
        ram_mb=host.ram_mb, power_idle_w=idle, power_active_w=active, source=source)


def profile_yaml(name: str, profile: DeviceProfile, results: Sequence[ModelThroughput],
                 transfer: Transfer | None, power_measured: bool) -> str:
    """The file's text: comments with the per-model figures and notes, then ``name: {profile fields}``, the
    shape of an entry under a scenario's ``profiles.devices``."""
    lines = [
        "# A device profile written by `edgesim calibrate`: put the entry below under `profiles: devices:`",
        "# in a scenario and name it as a group's `profile`.",
        "# train_gflops is the median over these models; a simulation applies it to every model.",
        "#",
        (f"# {'model':<12} {'MFLOP/sample':>12} {'GFLOP/s':>8} {'lowest':>8} {'highest':>8} {'samples':>8} "
         f"{'seconds':>8}"),
    ]
    for r in results:
        gflops = r.window_gflops()
        lines.append(f"# {r.model:<12} {r.flops_per_sample / 1e6:>12.4g} {r.gflops:>8.3g} {min(gflops):>8.3g} "
                     f"{max(gflops):>8.3g} {sum(w.samples for w in r.windows):>8} "
                     f"{sum(w.seconds for w in r.windows):>8.3g}")
    lines.append("#")
    if not power_measured:
        lines.append("# power_idle_w and power_active_w are NOT measured (0 W): replace them with a meter's readings.")
    lines.append(f"# transfer test: {transfer.describe() if transfer else 'skipped (no --endpoint given)'}")
    fields = {key: int(value) if isinstance(value, float) and value.is_integer() else value
              for key, value in profile.model_dump().items()}  # 512, not 512.0
    body = yaml.safe_dump({name: fields}, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(lines) + "\n" + body


def check_out(out: Path) -> None:
    """``OutputError`` unless ``out`` can be written: a file (not a folder) in a folder that exists, which this
    process can open for appending (tried, so that a measurement is not lost to an unwritable path; a file
    that was not there before is removed again)."""
    shown = brief_path(out)
    if out.is_dir():
        raise OutputError(f"--out {shown}: a directory; give a file name")
    if not out.parent.is_dir():
        raise OutputError(f"--out {shown}: the folder {brief_path(out.parent)} does not exist")
    existed = out.exists()
    try:
        with open(out, "a", encoding="utf-8"):
            pass
        if not existed:
            out.unlink()
    except OSError as exc:
        raise OutputError(f"--out {shown}: cannot write it: {exc.strerror or exc}") from None


def check_power(idle_w: float | None, active_w: float | None) -> tuple[float, float] | None:
    """Measured (idle, active) watts when both are given, ``None`` when neither is; ``InputError`` otherwise."""
    if idle_w is None and active_w is None:
        return None
    if idle_w is None or active_w is None:
        raise InputError("--power-idle-w and --power-active-w: give both or neither")
    if not (math.isfinite(idle_w) and math.isfinite(active_w) and 0 <= idle_w <= active_w):
        raise InputError(f"--power-idle-w {idle_w}, --power-active-w {active_w}: give finite watts, idle at "
                         "least 0 and active at least idle")
    return idle_w, active_w


def calibrate(models: Sequence[str] | None, out: Path | None, name: str | None, seconds: float, batch_size: int,
              endpoint: str | None, power_w: tuple[float, float] | None, console: Console,
              progress_console: Console) -> Path:
    """Check the options, run the transfer test and then the measurements (a progress bar on
    ``progress_console``), print the results to ``console`` and write the profile; its path. ``power_w`` comes
    from ``check_power``. An endpoint that cannot be fetched is reported before anything is measured."""
    names = check_models(models)
    name = check_name(name)
    if not (math.isfinite(seconds) and seconds > 0):
        raise InputError(f"--seconds {seconds}: must be a positive number of seconds")
    check_batch_size(batch_size, total_memory_mb())
    if endpoint:
        check_endpoint(endpoint)
    out = Path(out) if out is not None else Path(f"{name}.yaml")
    check_out(out)
    host, measured_at = Host.here(), datetime.now().astimezone()
    if host.busy():
        progress_console.print(f"[yellow]warning:[/yellow] the load average is {host.load:.2f} on {host.cores} "
                               "cores: other work is running, and the figures will understate an idle machine",
                               highlight=False, soft_wrap=True)
    if seconds < SHORT_S:
        progress_console.print(f"[yellow]warning:[/yellow] --seconds {seconds:g}: timed windows of "
                               f"{seconds / WINDOWS:.2g} s are swayed by timer and scheduler noise; give "
                               f"{SHORT_S:g} or more for a steady figure", highlight=False, soft_wrap=True)
    transfer = measure_transfer(endpoint) if endpoint else None
    results = _measure_all(names, batch_size, seconds, progress_console)
    profile = device_profile(results, host, batch_size, seconds, measured_at, power_w)
    _print_results(results, profile, transfer, batch_size, console)
    try:
        out.write_text(profile_yaml(name, profile, results, transfer, power_w is not None), encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"--out {brief_path(out)}: cannot write it: {exc.strerror or exc}") from None
    return out


def _measure_all(names: Sequence[str], batch_size: int, seconds: float, console: Console) -> list[ModelThroughput]:
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("warm-up + windows"), TimeElapsedColumn(), console=console)
    results = []
    with bar:
        for name in names:
            task = bar.add_task(name, total=WINDOWS + 1)
            results.append(_measure_within_memory(name, batch_size, seconds, lambda task=task: bar.advance(task)))
    return results


def _measure_within_memory(name: str, batch_size: int, seconds: float,
                           on_window: Callable[[], None]) -> ModelThroughput:
    """``measure_model``, with running out of memory reported as an ``InputError`` naming the batch size."""
    try:
        return measure_model(name, batch_size, seconds, on_window=on_window)
    except (MemoryError, RuntimeError) as exc:
        if not out_of_memory(exc):
            raise
    # raised outside the except block, so the failed attempt's tensors are freed rather than kept as its context
    raise InputError(f"--batch-size {batch_size}: does not fit in this machine's memory for model {brief(name)}; "
                     "try a smaller --batch-size")


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says memory ran out: ``MemoryError``, torch's ``OutOfMemoryError``, or a ``RuntimeError``
    from an allocator that could not allocate."""
    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)):
        return True
    return isinstance(exc, RuntimeError) and bool(_ALLOCATION_FAILED.search(str(exc)))


def _print_results(results: Sequence[ModelThroughput], profile: DeviceProfile, transfer: Transfer | None,
                   batch_size: int, console: Console) -> None:
    table = Table(title=f"sustained training throughput (batch {batch_size} of {_shape()} inputs)",
                  title_justify="left")
    for column in ("model", "MFLOP/sample", "samples", "GFLOP/s (median)", f"lowest-highest of {WINDOWS}"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for r in results:
        gflops = r.window_gflops()
        table.add_row(escape(r.model), f"{r.flops_per_sample / 1e6:.4g}", str(sum(w.samples for w in r.windows)),
                      f"{r.gflops:.3g}", f"{min(gflops):.3g}-{max(gflops):.3g}")
    console.print(table)
    console.print(f"train_gflops {profile.train_gflops:g} (the median over models; a simulation applies it to "
                  f"every model), ram_mb {profile.ram_mb:g}", highlight=False, soft_wrap=True)
    console.print(f"transfer test: {escape(transfer.describe()) if transfer else 'skipped (no --endpoint given)'}",
                  highlight=False, soft_wrap=True)
