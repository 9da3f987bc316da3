"""Run sweep variants in local worker processes, at most ``workers`` at once, one process per variant.

Each variant runs in a fresh spawned process, which takes it over its own
pipe, sends the summary back and exits. A process per variant costs a few
seconds of start-up, and buys isolation: whatever a variant's run leaves
allocated (torch's allocator caches, model versions a K-async run held) goes
back to the system with its process. Reusing workers, a sweep of 2000-device
K-async variants was seen to grow one worker to 22 GB over six variants. The
driver keeps every worker's handle, so it can stop them:

- Ctrl-C reaches only the driver (workers ignore SIGINT); the driver, or a
  SIGTERM to it, stops the workers by sending each SIGTERM, which a run
  handles as an interruption (tables flushed, an ``interrupted`` summary,
  the checkpoint kept) whose reason names the signal that stopped the driver
  (shared with the workers before it sends theirs); a worker still alive
  after ``STOP_GRACE_S`` is killed;
- a worker whose driver dies, even by ``kill -9``, receives SIGTERM too
  (``edgesim.signals.stop_with_parent``) and stops the same way;
- a worker that dies without a summary (killed, out of memory) has its
  variant recorded as failed with the exit code.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from multiprocessing.sharedctypes import Synchronized

from edgesim import outcome
from edgesim.signals import (interruption_reason, interruptions_ignored, signal_number, sigterm_as_interrupt,
                             stop_with_parent)
from edgesim.sweep.job import Job, run_variant

STOP_GRACE_S = 20.0


def _worker(connection: Connection, parent_pid: int, driver_stopped_by: Synchronized) -> None:
    """A worker process: run the one job it is sent (``None``: none) and send back its summary. A SIGTERM
    stops it as an interruption by ``driver_stopped_by``'s signal (SIGTERM unless the driver sets another)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides, and forwards SIGTERM
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    stop_with_parent(parent_pid)
    try:
        with sigterm_as_interrupt(reported_as=lambda: driver_stopped_by.value):
            job = connection.recv()
            if job is not None:
                connection.send(run_variant(job))
    except KeyboardInterrupt as exc:
        try:
            connection.send({"status": outcome.INTERRUPTED, "reason": interruption_reason(exc)})
        except OSError:  # the driver is gone
            pass
    except (EOFError, OSError):  # the driver is gone
        pass


class _Worker:
    def __init__(self, context, driver_stopped_by: Synchronized):
        self.connection, remote = context.Pipe()
        self.process = context.Process(target=_worker, args=(remote, os.getpid(), driver_stopped_by),
                                       name="edgesim-sweep-worker")
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker starts with Ctrl-C ignored, so
        try:  # a Ctrl-C while it is still importing cannot reach it either
            self.process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        remote.close()
        self.job: Job | None = None

    def give(self, job: Job | None) -> None:
        self.job = job
        self.connection.send(job)


class LocalExecutor:
    """``workers`` processes; torch's thread count per worker is ``threads`` or the cores divided among them."""

    def __init__(self, workers: int = 1, threads: int | None = None):
        self.workers = max(1, workers)
        self.threads = threads or max(1, (multiprocessing.cpu_count() or 1) // self.workers)
        self._context = multiprocessing.get_context("spawn")
        self._pool: list[_Worker] = []
        self._stopped_by = self._context.Value("i", signal.SIGTERM)  # what the workers report stopped them

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.stop(signal_number(exc) if isinstance(exc, KeyboardInterrupt) else signal.SIGTERM)

    def run(self, jobs: list[Job]) -> Iterator[tuple[Job, dict]]:
        queue = list(reversed(jobs))
        while queue and len(self._pool) < self.workers:
            worker = _Worker(self._context, self._stopped_by)
            self._pool.append(worker)
            worker.give(queue.pop())
        while any(worker.job is not None for worker in self._pool):
            busy = [worker for worker in self._pool if worker.job is not None]
            ready = wait([w.connection for w in busy] + [w.process.sentinel for w in busy])
            for worker in busy:
                if worker.connection in ready or worker.process.sentinel in ready:
                    job, summary = worker.job, self._result(worker)
                    worker.process.join()
                    worker.connection.close()
                    self._pool.remove(worker)
                    if queue:
                        fresh = _Worker(self._context, self._stopped_by)
                        self._pool.append(fresh)
                        fresh.give(queue.pop())
                    yield job, summary

    def _result(self, worker: _Worker) -> dict:
        try:
            return worker.connection.recv()
        except (EOFError, OSError):  # it died without a word
            worker.process.join()
            return {"status": outcome.FAILED, "reason": f"the worker process died (exit code "
                                                        f"{worker.process.exitcode})"}

    def stop(self, stopped_by: int = signal.SIGTERM) -> None:
        """Stop every worker still running: SIGTERM, then SIGKILL after ``STOP_GRACE_S`` (a second Ctrl-C
        meanwhile does not leave any behind). Their runs record ``stopped_by``, the signal that stopped the
        sweep, as the reason."""
        with interruptions_ignored():
            self._stop(stopped_by)

    def _stop(self, stopped_by: int) -> None:
        self._stopped_by.value = int(stopped_by)
        for worker in self._pool:
            if worker.process.is_alive():
                os.kill(worker.process.pid, signal.SIGTERM)
        for worker in self._pool:
            worker.process.join(STOP_GRACE_S)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.connection.close()
        self._pool.clear()
