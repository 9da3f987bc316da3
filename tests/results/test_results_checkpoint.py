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


def test_a_checkpoint_that_cannot_be_written_is_an_output_error_and_leaves_the_last_one(tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    from edgesim.errors import OutputError

    save_checkpoint(tmp_path, checkpoint(1, {"w": torch.ones(2)}))
    real = Path.write_bytes

    def full(self, data):
        if self.name.endswith(".tmp"):
            real(self, bytes(data)[:10])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OutputError, match="cannot write the checkpoint: No space left on device"):
        save_checkpoint(tmp_path, checkpoint(2, {"w": torch.zeros(2)}))
    monkeypatch.undo()
    assert load_checkpoint(tmp_path).round == 1 and not list(tmp_path.glob("*.tmp"))


def test_removing_a_checkpoint_deletes_only_its_own_files(tmp_path):
    from edgesim.results.checkpoint import remove_checkpoint

    save_checkpoint(tmp_path / "c", checkpoint(1, {"v": Immutable("version-1", {"w": torch.ones(1)})}))
    (tmp_path / "c" / "notes.txt").write_text("mine")
    remove_checkpoint(tmp_path / "c")
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["notes.txt"]
    (tmp_path / "c" / "notes.txt").unlink()
    remove_checkpoint(tmp_path / "c")
    assert not (tmp_path / "c").exists()
