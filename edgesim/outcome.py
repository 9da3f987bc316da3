"""How a run ends: its status in ``summary.json`` and the exit status of ``edgesim``.

Every run ends in exactly one status, with a ``reason`` in words for all but ``completed``:

| status | meaning | exit |
| --- | --- | --- |
| ``completed`` | a stop rule ended it (``stop_reason``: target, max_rounds, plateau, energy_budget or horizon) | 0 |
| ``stalled`` | it could not make progress: no update was applied before the horizon, or the clock moved too slowly ever to reach the horizon (``edgesim.sim.engine.NoProgress``) | 3 |
| ``diverged`` | training produced a non-finite loss; the run stopped there | 4 |
| ``interrupted`` | Ctrl-C (exit 130) or SIGTERM (exit 143); ``--resume`` continues it | 130 / 143 |
| ``failed`` | an error inside edgesim, or a file that could not be written | 1, or 2 for output errors |

Input and output problems found before a run starts (a bad scenario, a
non-empty ``--out``) exit with 2 and write no run. ``completed``, ``stalled``
and ``diverged`` are deterministic outcomes of the scenario: a sweep does not
run such a variant again.
"""

from __future__ import annotations

import signal

from edgesim.errors import InputError

COMPLETED = "completed"
STALLED = "stalled"
DIVERGED = "diverged"
INTERRUPTED = "interrupted"
FAILED = "failed"
RUNNING = "running"
INVALID = "invalid"
"""A sweep variant whose scenario the pre-flight checks refused: it never ran (``sweep.csv`` only)."""

FINISHED = (COMPLETED, STALLED, DIVERGED)
"""Statuses a re-run of the same scenario and seed would reproduce."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_STALLED = 3
EXIT_DIVERGED = 4

_EXIT_BY_STATUS = {COMPLETED: EXIT_OK, STALLED: EXIT_STALLED, DIVERGED: EXIT_DIVERGED, FAILED: EXIT_FAILED}


def exit_status(status: str) -> int:
    """The exit status of a run that ended in ``status`` (interruptions exit through ``interrupted_exit``)."""
    return _EXIT_BY_STATUS[status]


def interrupted_exit(signum: int = signal.SIGINT) -> int:
    """128 + the signal's number, as shells report it: 130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + int(signum)


def failure_reason(exc: BaseException) -> str:
    """An error in words for a summary's ``reason``: edgesim's own input and output errors as their message,
    any other error with its type (it is a fault inside edgesim)."""
    return str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
