"""Checkpoints: what is saved comes back, immutable parts are written once and pruned, bad files are refused."""

import pytest
import torch

from edgesim.errors import InputError
from edgesim.fl.training_state import Immutable
from edgesim.results.checkpoint import Checkpoint, load_checkpoint, save_checkpoint


def checkpoint(round: int, training: dict) -> Checkpoint:
    return Checkpoint(round=round, sim_time_s=1.5 * round, events_rows=10, events_bytes=300, metrics_bytes=40,
                      stop=False, progress={"rounds": round, "best_accuracy": None}, training=training,
                      scenario_sha256="ab", torch_threads=1, wall_time_s=2.0, decisions=[[3, -1], [2, 100]])


def test_what_is_saved_comes_back(tmp_path):
    training = {"state": {"w": torch.arange(4.0)}, "k": 3, "judge": {"a_hat": None, "keeps": 2}}
    save_checkpoint(tmp_path, checkpoint(2, training))
    loaded = load_checkpoint(tmp_path)
    assert loaded.round == 2 and loaded.decisions == [[3, -1], [2, 100]] and loaded.progress["rounds"] == 2
    assert torch.equal(loaded.training["state"]["w"], torch.arange(4.0))
    assert loaded.training["judge"] == {"a_hat": None, "keeps": 2}


def test_immutable_parts_are_written_once_and_deleted_when_no_longer_named(tmp_path):
    v1, v2 = {"w": torch.ones(3)}, {"w": torch.zeros(3)}
    save_checkpoint(tmp_path, checkpoint(1, {"versions": {1: Immutable("version-1", v1)}}))
    part = tmp_path / "parts" / "version-1.pt"
    written = part.stat().st_mtime_ns
    save_checkpoint(tmp_path, checkpoint(2, {"versions": {1: Immutable("version-1", v1),
                                                          2: Immutable("version-2", v2)}}))
    assert part.stat().st_mtime_ns == written
    save_checkpoint(tmp_path, checkpoint(3, {"versions": {2: Immutable("version-2", v2)}}))
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == ["version-2.pt"]
    assert torch.equal(load_checkpoint(tmp_path).training["versions"][2]["w"], torch.zeros(3))


def test_no_checkpoint_and_an_unreadable_one(tmp_path):
    assert load_checkpoint(tmp_path) is None
    (tmp_path / "state.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="unreadable checkpoint"):
        load_checkpoint(tmp_path)
