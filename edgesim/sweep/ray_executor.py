"""Run sweep variants as Ray tasks, on an existing cluster or on a local instance started for the sweep.

Each task runs ``run_variant`` with torch pinned to ``threads`` threads and
asks Ray for as many CPUs, and for ``gpus_per_task`` GPUs (Ray hides the GPUs
from a task that asks for none, so ``--device auto`` then trains on the CPU).
It writes the run directory in a temporary
directory on whichever node runs it and sends the files back, so the driver
writes every run directory under the sweep directory (no shared file system
needed); a variant to resume takes its directory's files along. Stopping the
driver (Ctrl-C, SIGTERM) cancels every task still running; the variants it
cancels are recorded as interrupted, and their files so far stay on the node
and are lost. Ray is imported only when a ``RayExecutor`` is made.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from edgesim.errors import InputError
from edgesim.results.run_dir import LOCK_FILE
from edgesim.sweep.job import Job, failure, run_variant

INSTALL_HINT = 'pip install "edgesim[ray]"'


def _import_ray():
    try:
        import ray
    except ImportError as exc:
        raise InputError(f"--executor ray: Ray is not installed ({exc}); {INSTALL_HINT}") from None
    return ray


def run_variant_task(job: Job, files: dict[str, bytes]) -> tuple[dict, dict[str, bytes]]:
    """Ray task: ``run_variant`` in a temporary directory holding ``files`` (a resumed variant's so far);
    returns the summary and the run directory's files."""
    with tempfile.TemporaryDirectory(prefix="edgesim-") as tmp:
        run_dir = Path(tmp) / job.run_dir.name
        _write_run_dir(run_dir, files)
        summary = run_variant(replace(job, run_dir=run_dir))
        files = _read_run_dir(run_dir)
    return summary, files


def _read_run_dir(run_dir: Path) -> dict[str, bytes]:
    if not run_dir.is_dir():
        return {}
    return {path.relative_to(run_dir).as_posix(): path.read_bytes()
            for path in sorted(run_dir.rglob("*")) if path.is_file() and path.name != LOCK_FILE}


def _write_run_dir(run_dir: Path, files: dict[str, bytes]) -> None:
    """Write the files a task sent back; ``summary.json``, which marks a variant finished, goes last."""
    for name in sorted(files, key=lambda name: name == "summary.json"):
        path = run_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])


class RayExecutor:
    """Ray tasks of ``threads`` CPUs (default 1) and ``gpus_per_task`` GPUs (default 0) each, at most
    ``max_in_flight`` at once (default: no limit).

    ``address`` is a running cluster's (``auto``, ``host:6379``, ``ray://host:10001``);
    without one a local Ray instance is started. The driver disconnects (and a
    local instance stops) when the sweep ends. If this process is already
    connected to Ray and no address is given, that connection is used and kept.
    """

    def __init__(self, address: str | None = None, threads: int | None = None, max_in_flight: int | None = None,
                 gpus_per_task: float = 0.0):
        self._ray = _import_ray()
        self.address = address
        self.threads = threads or 1
        self.gpus_per_task = gpus_per_task
        self.max_in_flight = max_in_flight
        self._initialized_here = False
        self._pending: dict = {}

    def __enter__(self) -> RayExecutor:
        ray = self._ray
        quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
        if self.address is None and not ray.is_initialized():
            ray.init(address="local", num_cpus=max(os.cpu_count() or 1, self.threads), include_dashboard=False,
                     **quiet)
            self._initialized_here = True
        elif self.address is not None:
            try:
                ray.init(address=self.address, **quiet)
            except Exception as exc:  # ConnectionError, or Ray's own errors for a bad address
                first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise InputError(f"--address {self.address}: cannot connect to a Ray cluster: {first_line}") from None
            self._initialized_here = True
        try:
            self._check_resources()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _check_resources(self) -> None:
        """A task asking for more CPUs or GPUs than any node has would wait forever."""
        for option, resource, wanted in (("--threads", "CPU", self.threads),
                                         ("--gpus-per-task", "GPU", self.gpus_per_task)):
            largest = max((node["Resources"].get(resource, 0) for node in self._ray.nodes() if node.get("Alive")),
                          default=0)
            if largest < wanted:
                raise InputError(f"{option} {wanted:g}: no node of the Ray cluster has that many {resource}s "
                                 f"(the largest has {largest:g})")

    def __exit__(self, *exc_info) -> None:
        for ref in self._pending:
            self._ray.cancel(ref, force=True)
        self._pending = {}
        if self._initialized_here:
            self._ray.shutdown()
            self._initialized_here = False

    def run(self, jobs: list[Job]) -> Iterator[tuple[Job, dict]]:
        ray = self._ray
        task = ray.remote(run_variant_task)
        queue = list(reversed(jobs))
        limit = self.max_in_flight or len(jobs)
        while queue or self._pending:
            while queue and len(self._pending) < limit:
                job = queue.pop()
                files = _read_run_dir(job.run_dir) if job.mode == "resume" else {}
                ref = task.options(num_cpus=job.threads, num_gpus=self.gpus_per_task).remote(job, files)
                self._pending[ref] = job
            [ref], _ = ray.wait(list(self._pending), num_returns=1)
            job = self._pending.pop(ref)
            try:
                summary, files = ray.get(ref)
            except Exception as exc:  # the task itself died (worker or node lost); record it, go on
                summary, files = failure(exc), None
            if files is not None:  # the whole directory came back: it replaces what was there
                shutil.rmtree(job.run_dir, ignore_errors=True)
                _write_run_dir(job.run_dir, files)
            yield job, summary
