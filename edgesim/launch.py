"""The ``edgesim`` command's entry point: check the scenario file and settle how OpenMP's threads wait, both
before torch loads, then run the CLI.

torch's CPU kernels run on OpenMP threads that spin while they wait for
work. On an idle machine that is fastest; beside other busy processes the
spinning threads take the cores from the ones doing work, and training
crawls. Measured on a 2-core machine, 3 rounds of ``iot_home`` with 2 threads:
idle, 15.5 s spinning and 19.9 s waiting passively; beside two busy
processes, 110 s spinning and 34 s passively (one thread: 22.8 s and 34 s).

So when the command starts on a busy machine (others use half a core or
more over 0.2 s), threads wait passively (``OMP_WAIT_POLICY=PASSIVE``); otherwise they spin
for a short while before sleeping (``GOMP_SPINCOUNT``), which keeps the idle
speed and limits the damage if the machine gets busy later. Only wall time
depends on this, never results. Settings the user made are left alone.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

BUSY_CORES = 0.5
"""CPU used by other processes, in cores, from which the machine counts as busy."""

SPIN_COUNT = "30000"


def busy_cores(sample_s: float = 0.2) -> float:
    """Cores' worth of CPU that other processes use now, measured over ``sample_s`` (Linux's ``/proc/stat``;
    elsewhere the 1-minute load average, which lags behind)."""
    try:
        before = _cpu_times()
        time.sleep(sample_s)
        after = _cpu_times()
    except (OSError, ValueError):
        try:
            return os.getloadavg()[0]
        except OSError:
            return 0.0
    total = sum(after) - sum(before)
    idle = (after[3] + after[4]) - (before[3] + before[4])
    return (os.cpu_count() or 1) * (total - idle) / total if total > 0 else 0.0


def _cpu_times() -> list[int]:
    with open("/proc/stat", encoding="ascii") as handle:
        return [int(field) for field in handle.readline().split()[1:9]]


def settle_openmp_waiting(environ=os.environ) -> None:
    """Set the OpenMP wait policy for this process and its children (see the module docstring)."""
    if "OMP_WAIT_POLICY" in environ or "GOMP_SPINCOUNT" in environ:
        return
    if busy_cores() >= BUSY_CORES:
        environ["OMP_WAIT_POLICY"] = "PASSIVE"
    else:
        environ["GOMP_SPINCOUNT"] = SPIN_COUNT


def main(argv: list[str] | None = None) -> int:
    try:
        problem = scenario_file_problem(argv)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        settle_openmp_waiting()
        from edgesim.cli import main as cli_main  # imports torch, which reads the settings once
    except KeyboardInterrupt:  # Ctrl-C while starting up: nothing has been done yet
        return 130
    return cli_main(argv)


def scenario_file_problem(argv: list[str] | None) -> str | None:
    """What is wrong with the scenario file the command line names, read before anything heavy is imported (so
    a file that is not a scenario is answered within a fraction of a second); ``None`` if nothing is."""
    from edgesim.arguments import build_parser
    from edgesim.errors import InputError
    from edgesim.yaml_file import read_yaml_mapping

    args, _ = build_parser().parse_known_args(argv)
    scenario = getattr(args, "scenario", None)
    if scenario is None:
        return None
    try:
        read_yaml_mapping(Path(scenario))
    except InputError as exc:
        return exc.problems[0]
    return None
