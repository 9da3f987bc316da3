"""The journal: when checkpoints are taken, and a replay that does not reach its checkpoint as recorded."""

from __future__ import annotations

import pytest

from edgesim.errors import InputError
from edgesim.journal import CheckpointPolicy, Journal, ResumeError
from edgesim.results.checkpoint import load_checkpoint
from edgesim.results.run_dir import RunDirectory
from edgesim.sim.event_log import EventLog


class Stateless:
    def training_state(self):
        return {}

    def load_training_state(self, state):
        self.loaded = state


@pytest.mark.parametrize("text, policy", [
    ("eval", CheckpointPolicy()), ("off", CheckpointPolicy(at_evaluations=False)),
    ("30m", CheckpointPolicy(at_evaluations=False, every_s=1800.0)),
    ("90", CheckpointPolicy(at_evaluations=False, every_s=90.0)),
])
def test_checkpoint_policies(text, policy):
    assert CheckpointPolicy.parse(text) == policy
    assert policy.enabled == (text != "off")


@pytest.mark.parametrize("text", ["0", "-5m", "soon", "1e400"])
def test_bad_checkpoint_policies(text):
    with pytest.raises(InputError, match="--checkpoint-every"):
        CheckpointPolicy.parse(text)


def journal(tmp_path, policy, resuming=False):
    directory = RunDirectory.open(tmp_path / "run", "resume" if resuming else "new")
    (directory.path / "scenario.yaml").write_text("name: j\n")
    log = EventLog(None)
    journal = Journal.for_run(directory, log, Stateless(), policy, "sha", resuming)
    journal.start()
    return journal, directory, log


def test_round_zero_is_checkpointed_unless_checkpoints_are_off(tmp_path):
    _, directory, _ = journal(tmp_path / "every", CheckpointPolicy(at_evaluations=False, every_s=60.0))
    assert load_checkpoint(directory.checkpoint).torch_threads >= 1
    _, directory, _ = journal(tmp_path / "off", CheckpointPolicy(at_evaluations=False))
    assert load_checkpoint(directory.checkpoint) is None and not directory.checkpoint.exists()


def test_checkpoints_every_simulated_interval_and_at_round_zero(tmp_path):
    j, directory, _ = journal(tmp_path, CheckpointPolicy(at_evaluations=False, every_s=60.0))
    assert load_checkpoint(directory.checkpoint).round == 0
    for round, now, evaluated in ((1, 30.0, True), (2, 61.0, False), (3, 100.0, True), (4, 125.0, False)):
        j.round_done(round, now, evaluated, False, {}, 0, {})
    assert load_checkpoint(directory.checkpoint).round == 4 and j.checkpoints == 3  # rounds 0, 2 and 4


def test_a_replay_that_reaches_its_checkpoint_elsewhere_is_refused(tmp_path):
    j, directory, log = journal(tmp_path, CheckpointPolicy())
    log.attach(directory.events)
    log.emit(0.0, "a", "x")
    j.round_done(1, 5.0, True, False, {"rounds": 1}, 0, {})
    directory.close()
    resumed, _, replay_log = journal(tmp_path, CheckpointPolicy(), resuming=True)
    assert resumed.replaying(0) and resumed.resumes_at(1)
    with pytest.raises(ResumeError, match="the replay reached round 1 at 5.000000 s with 0 event rows"):
        resumed.restore(1, 5.0)


def test_a_checkpoint_of_another_scenario_is_refused(tmp_path):
    j, directory, _ = journal(tmp_path, CheckpointPolicy())
    j.round_done(1, 5.0, True, False, {}, 0, {})
    directory.close()
    directory = RunDirectory.open(tmp_path / "run", "resume")
    with pytest.raises(InputError, match="scenario.yaml has changed since the checkpoint"):
        Journal.for_run(directory, EventLog(None), Stateless(), CheckpointPolicy(), "another sha", True)
