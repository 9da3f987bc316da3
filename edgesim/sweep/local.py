"""Run sweep variants in a local process pool (spawned processes, one variant each at a time)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from edgesim.sweep.driver import Job, run_variant


class LocalExecutor:
    """``workers`` processes; torch's thread count per worker is ``threads`` or the cores divided among them."""

    def __init__(self, workers: int = 1, threads: int | None = None):
        self.workers = max(1, workers)
        self.threads = threads or max(1, (multiprocessing.cpu_count() or 1) // self.workers)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self

    def __exit__(self, *exc_info) -> None:
        self._pool.shutdown()
        self._pool = None

    def run(self, jobs: list[Job]) -> Iterator[tuple[Job, dict]]:
        futures = {self._pool.submit(run_variant, job.scenario, str(job.run_dir), job.threads, job.compute): job
                   for job in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()
