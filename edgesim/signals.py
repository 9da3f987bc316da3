"""Signals: SIGTERM handled as Ctrl-C is, critical sections that a signal cannot cut, and workers that
stop when the process that started them dies.

- ``Terminated`` is a ``KeyboardInterrupt``, so every ``except KeyboardInterrupt``
  (flush the tables, write an ``interrupted`` summary) treats SIGTERM the same
  way; ``signum`` gives the exit status (``edgesim.outcome.interrupted_exit``).
  Only the first SIGTERM raises; later ones find the process already stopping.
  A sweep worker, stopped by its driver's SIGTERM, reports the signal that
  stopped the driver instead (Ctrl-C: SIGINT).
- ``signals_deferred()`` holds SIGINT and SIGTERM back while a summary or a
  checkpoint is written; they arrive when it is done. ``interruptions_ignored()``
  drops them while an interruption is being reported.
- ``stop_with_parent(pid)``, called in a worker process, sends the worker
  SIGTERM when its parent dies, even by ``kill -9``: through Linux's
  parent-death signal where there is one, and by a thread that checks the
  parent once a second everywhere.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

_HELD = {signal.SIGINT, signal.SIGTERM}
_PR_SET_PDEATHSIG = 1
PARENT_POLL_S = 1.0


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (raised in the main thread). Its only argument is the signal's number, as SimPy
    re-creates an exception from its arguments when it passes one out of a process."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__(int(signum))
        self.signum = int(signum)


def signal_number(exc: KeyboardInterrupt) -> int:
    """The signal behind an interruption: SIGTERM for ``Terminated``, else SIGINT (Ctrl-C)."""
    return getattr(exc, "signum", signal.SIGINT)


def interruption_reason(exc: KeyboardInterrupt) -> str:
    """The ``reason`` an interrupted run records: ``"stopped by SIGINT"`` or ``"stopped by SIGTERM"``."""
    return f"stopped by {signal.Signals(signal_number(exc)).name}"


_terminating = threading.Event()


def _terminated_handler(reported_as: Callable[[], int] | None):
    def raise_terminated(signum, frame):
        if not _terminating.is_set():
            _terminating.set()
            raise Terminated(signum if reported_as is None else reported_as())
    return raise_terminated


@contextmanager
def sigterm_as_interrupt(reported_as: Callable[[], int] | None = None):
    """Within the block (main thread only), SIGTERM raises ``Terminated``, carrying SIGTERM or, given
    ``reported_as``, the signal number it returns when SIGTERM arrives (a sweep worker: the signal that
    stopped its driver)."""
    previous = signal.signal(signal.SIGTERM, _terminated_handler(reported_as))
    _terminating.clear()
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def signals_deferred():
    """Hold SIGINT and SIGTERM back for the block; a signal sent meanwhile is delivered after it.

    The handlers are swapped for ones that only note the signal, then restored and the noted signals
    raised again. (Blocking them with ``pthread_sigmask`` is not enough: it masks the main thread only, and
    the kernel hands a process-directed signal to any other thread, torch's among them, whose Python handler
    then runs in the main thread at once.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: noted.append(signum)) for signum in _HELD}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(noted):
            signal.raise_signal(signum)


@contextmanager
def interruptions_ignored():
    """Ignore SIGINT and SIGTERM for the block (while an interruption is being reported), then restore them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in _HELD}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def stop_with_parent(parent_pid: int) -> None:
    """Make this process receive SIGTERM once ``parent_pid`` is no longer its parent (it died)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os.kill(os.getpid(), signal.SIGTERM)

    if os.getppid() != parent_pid:  # it died before the watch began
        os.kill(os.getpid(), signal.SIGTERM)
    threading.Thread(target=watch, name="edgesim-parent-watch", daemon=True).start()
