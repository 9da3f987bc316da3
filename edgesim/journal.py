"""Checkpoints and replay: how a run goes on after a crash and ends with the tables it would have had.

**Taking checkpoints.** At the end of a round (a K-async iteration), after its
metrics row, the coordinator tells the journal; the event log is flushed
whenever an evaluation ran, and a checkpoint (``edgesim.results.checkpoint``)
is taken when the policy says so: at every evaluation (``eval``, the default),
once at least ``every_s`` simulated seconds have passed since the last one, or
never (``off``).

**Resuming** (``edgesim run --resume RUN_DIR``). The run is prepared exactly as
a fresh one and its clock replays from time 0. The simulation depends on
training only through the decisions the coordinator returns (synchronous:
stop or go on; K-async: the next K and the remodel threshold), so until the
checkpoint's round the coordinator returns the recorded decisions and trains
nothing, while the event log counts rows without writing them. At that round
the journal checks that the replay reached the same moment (simulated time
and number of event rows), loads the algorithm's training state and the
progress counters, cuts ``events.csv`` and ``metrics.csv`` back to their
checkpointed lengths and lets the run go on live. The clock costs little
(about 200,000 events a second), so replaying is cheap next to training.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from edgesim.errors import InputError, brief
from edgesim.results.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from edgesim.results.run_dir import RunDirectory
from edgesim.signals import signals_deferred
from edgesim.sim.event_log import EventLog
from edgesim.units import parse_duration


class ResumeError(Exception):
    """The replayed clock did not reach the checkpoint as recorded (the run cannot be continued)."""


@dataclass(frozen=True)
class CheckpointPolicy:
    """When to take checkpoints: at evaluations, every ``every_s`` simulated seconds, or never."""

    at_evaluations: bool = True
    every_s: float | None = None

    @property
    def enabled(self) -> bool:
        return self.at_evaluations or self.every_s is not None

    @classmethod
    def parse(cls, text: str) -> CheckpointPolicy:
        """``eval``, ``off``, or a simulated duration such as ``30m`` (``InputError`` otherwise)."""
        if text == "eval":
            return cls()
        if text == "off":
            return cls(at_evaluations=False)
        try:
            seconds = parse_duration(text)
        except ValueError:
            seconds = 0.0
        if not 0 < seconds < math.inf:
            raise InputError(f"--checkpoint-every {brief(text)}: give eval, off, or a simulated duration "
                             "such as 30m")
        return cls(at_evaluations=False, every_s=seconds)


class Journal:
    """The checkpoints of one run, and the replay that resumes it from ``resume`` (``None``: a fresh run)."""

    def __init__(self, run_dir: RunDirectory, log: EventLog, algorithm, policy: CheckpointPolicy,
                 scenario_sha256: str, resume: Checkpoint | None = None):
        self.run_dir = run_dir
        self.log = log
        self.algorithm = algorithm
        self.policy = policy
        self.scenario_sha256 = scenario_sha256
        self.resume = resume
        self._started = time.perf_counter()
        self._wall_before = resume.wall_time_s if resume else 0.0
        self._last_checkpoint_time = 0.0
        self.checkpoints = 0
        self.checkpoint_seconds = 0.0
        self.replay_seconds = 0.0

    @classmethod
    def for_run(cls, run_dir: RunDirectory, log: EventLog, algorithm, policy: CheckpointPolicy,
                scenario_sha256: str, resuming: bool) -> Journal:
        """A fresh run's journal, or, when ``resuming``, one that replays to the run's last checkpoint."""
        resume = load_checkpoint(run_dir.checkpoint) if resuming else None
        if resume is not None and resume.scenario_sha256 != scenario_sha256:
            raise InputError(f"{run_dir.path}: scenario.yaml has changed since the checkpoint was taken; "
                             "resuming would mix two scenarios (run it afresh with --overwrite)")
        return cls(run_dir, log, algorithm, policy, scenario_sha256, resume if resume and resume.round else None)

    def start(self) -> None:
        """Before the clock: a run that starts from time 0 takes a checkpoint of round 0 unless checkpoints are
        ``off``. It has nothing to replay, but it records how the run trains (the thread count), so that a run
        stopped before its next checkpoint resumes as it began."""
        if self.resume is None and self.policy.enabled:
            self.save(0, 0.0, False, {}, 0, {})

    # --- replay

    def replaying(self, round: int) -> bool:
        """Whether ``round`` lies before the checkpoint being resumed (its decision is recorded)."""
        return self.resume is not None and round < self.resume.round

    def resumes_at(self, round: int) -> bool:
        return self.resume is not None and round == self.resume.round

    def restore(self, round: int, now: float) -> Checkpoint:
        """At the checkpoint's round: check the replay, load the training state, continue the tables."""
        checkpoint = self.resume
        if now != checkpoint.sim_time_s or self.log.rows != checkpoint.events_rows:
            raise ResumeError(f"the replay reached round {round} at {now:.6f} s with {self.log.rows} event rows; "
                              f"the checkpoint has {checkpoint.sim_time_s:.6f} s and {checkpoint.events_rows}")
        self.algorithm.load_training_state(checkpoint.training)
        self.log.attach(self.run_dir.events, resume_at=checkpoint.events_bytes)
        self.resume = None
        self._last_checkpoint_time = now
        self.replay_seconds = time.perf_counter() - self._started
        return checkpoint

    # --- taking checkpoints

    def round_done(self, round: int, now: float, evaluated: bool, stop: bool, progress: dict,
                   metrics_bytes: int, decisions: dict[int, dict]) -> None:
        """After a live round's metrics row: flush the log after an evaluation, checkpoint if due."""
        policy = self.policy
        due = (policy.at_evaluations and evaluated) or (
            policy.every_s is not None and now - self._last_checkpoint_time >= policy.every_s)
        if evaluated or due:
            self.log.flush()
        if due:
            self.save(round, now, stop, progress, metrics_bytes, decisions)

    def save(self, round: int, now: float, stop: bool, progress: dict, metrics_bytes: int,
             decisions: dict[int, dict]) -> None:
        """Take a checkpoint at the end of ``round`` (the event log flushed first)."""
        started = time.perf_counter()
        self.log.flush()
        checkpoint = Checkpoint(round=round, sim_time_s=now, events_rows=self.log.rows, events_bytes=self.log.size,
                                metrics_bytes=metrics_bytes, stop=stop, progress=progress,
                                training=self.algorithm.training_state(), scenario_sha256=self.scenario_sha256,
                                torch_threads=torch.get_num_threads(), wall_time_s=self.wall_time_s(),
                                decisions=[[round, dict(entry)] for round, entry in sorted(decisions.items())])
        with signals_deferred():
            save_checkpoint(self.run_dir.checkpoint, checkpoint)
        self._last_checkpoint_time = now
        self.checkpoints += 1
        self.checkpoint_seconds += time.perf_counter() - started

    def wall_time_s(self) -> float:
        """Host seconds spent on this run, over every session that worked on it (replays included)."""
        return self._wall_before + time.perf_counter() - self._started
