"""The frozen types that pass between the simulated clock and the FL strategies, and nothing else.

The clock (``edgesim.sim``) decides *when* work happens; a strategy
(``edgesim.fl``) decides *what* it is and what it yields. They meet only
through these values:

- ``Task``: what the server hands one client: train from model ``version``
  in ``round``.
- ``TaskCost``: what that task asks of the device (bytes each way, FLOPs,
  memory). A strategy returns ``None`` instead when the client holds no data
  for the task.
- ``Arrival``: an update that reached the server, with the version it was
  computed on and its staleness (server version at aggregation minus that
  version; always 0 in synchronous rounds), and how many earlier updates the
  client computed from that same version.
- ``Aggregation``: one aggregation the server asks for: the arrivals, the
  version they are folded into (the result is ``version + 1``) and the oldest
  version a client may still deliver an update from.
- ``Decision``: what the strategy decided: its metrics and, for protocols
  that aggregate every K arrivals, the next K and a remodel threshold.
- ``Outcome``: what the protocol is told after an aggregation: the
  strategy's decision for the clock, and whether a stop rule ended the run.

The server owns the model version, once: strategies receive it in every
``Task`` and ``Aggregation`` and never count it themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True, slots=True)
class Task:
    """One unit of client work: ``client`` (its index in fleet order, which is also its data partition) trains
    from model ``version`` in ``round`` (the round, or the K-async iteration under way; from 1)."""

    client: int
    round: int
    version: int


@dataclass(frozen=True, slots=True)
class TaskCost:
    """What a task asks of a device: bytes downloaded and uploaded, training FLOPs, and the memory (bytes) it
    needs; a device with less memory cannot take the task."""

    download_bytes: int
    flops: float
    upload_bytes: int
    footprint_bytes: int


@dataclass(frozen=True, slots=True)
class TaskKind:
    """One kind of task a strategy hands out (HMoE: one per expert), for the checks before the clock starts."""

    label: str
    """How messages name these tasks, e.g. ``"rounds"`` or ``"rounds of expert n02084071"``."""
    footprint_bytes: int
    has_work: Callable[[int], bool]
    """Client index -> whether that client holds data for such a task."""


@dataclass(frozen=True, slots=True)
class Arrival:
    """An update that reached the server: from ``client``, computed on ``base_version``; ``staleness`` = the
    server's version at aggregation minus ``base_version`` (>= 0)."""

    client: int
    base_version: int
    staleness: int
    repeat: int = 0
    """How many earlier updates of this run the client computed from the same ``base_version`` (a client that
    trains again before the model changes, under the buffered and periodic protocols): the update's seed
    differs from theirs. Always 0 in synchronous rounds and under K-async."""


@dataclass(frozen=True, slots=True)
class Aggregation:
    """The server folds ``arrivals`` (arrival order, at least one) into model ``version`` in ``round``; the
    result becomes ``version + 1``. No client will deliver an update computed on a version older than
    ``oldest_held_version``, so a strategy may forget those."""

    round: int
    version: int
    arrivals: tuple[Arrival, ...]
    oldest_held_version: int


@dataclass(frozen=True, slots=True)
class Decision:
    """A strategy's answer to an ``Aggregation``: ``metrics`` for ``metrics.csv``; ``next_k``, the arrivals
    the next aggregation waits for (protocols that count arrivals; ``None`` keeps K); ``remodel_staleness``:
    send the new model at once to every client whose model is staler than this (K-async; ``None``: no
    remodel)."""

    metrics: dict = field(default_factory=dict)
    next_k: int | None = None
    remodel_staleness: int | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the protocol is told after a round or aggregation: the decision's ``next_k`` and
    ``remodel_staleness``, and ``stop`` when a stop rule ended the run."""

    next_k: int | None = None
    remodel_staleness: int | None = None
    stop: bool = False
