"""The run directory as a transaction: modes, the lock, strict JSON, summaries tied to their scenario."""

import json

import pytest

from edgesim.errors import InputError, OutputError
from edgesim.results.run_dir import (RunDirectory, clear_owned_files, default_run_dir, name_slug, read_summary,
                                     refuse_to_remove, strict_json, summary_belongs)
from edgesim.scenario import scenario_text, validate

SCENARIO = validate({"name": "tiny", "fleet": {"groups": [{"name": "a", "profile": "laptop", "count": 2,
                                                             "network": "wifi5"}]},
                     "dataset": {"name": "synthetic"}, "server": {"clients_per_round": 2}})


def test_new_wants_an_empty_directory_and_overwrite_clears_only_edgesims_files(tmp_path):
    path = tmp_path / "run"
    with RunDirectory.open(path) as run:
        sha = run.write_scenario(scenario_text(SCENARIO))
        run.write_summary({"status": "completed", "scenario": "tiny", "scenario_sha256": sha})
    (path / "notes.txt").write_text("mine")
    (path / "accuracy.png").write_bytes(b"png")
    (path / "holiday.png").write_bytes(b"png")
    (path / "checkpoint").mkdir()
    (path / "checkpoint" / "state.pt").write_bytes(b"")
    (path / "checkpoint" / "mine.txt").write_text("mine")
    with pytest.raises(OutputError, match="holds a completed run of 'tiny'; give --resume"):
        RunDirectory.open(path)
    with RunDirectory.open(path, "overwrite"):
        pass
    assert sorted(p.name for p in path.iterdir()) == [".lock", "checkpoint", "holiday.png", "notes.txt"]
    assert [p.name for p in (path / "checkpoint").iterdir()] == ["mine.txt"]


def test_overwrite_clears_a_sweeps_files_too_and_nothing_of_the_users(tmp_path):
    # a run over a sweep, or a sweep over a run, leaves nothing of the other behind (nor anything of the user's)
    path = tmp_path / "out"
    for name in ("sweep.csv", "sweep_accuracy.png", "events.csv", "run-000/events.csv", "run-000/scenario.yaml",
                 "run-000/.lock", "run-000/checkpoint/state.pt", "run-000/notes.txt", "run-000/plots/a.txt",
                 "run-001/metrics.csv", "run-001/summary.json", "notes.txt", "run-xyz/events.csv"):
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text("x")
    clear_owned_files(path)
    left = sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())
    assert left == ["notes.txt", "run-000/notes.txt", "run-000/plots/a.txt", "run-xyz/events.csv"]
    assert not (path / "run-001").exists() and not (path / "run-000" / "checkpoint").exists()


def test_overwrite_never_removes_the_scenario_file_it_was_given(tmp_path):
    out = tmp_path / "out"
    (out / "run-000").mkdir(parents=True)
    for name in ("events.csv", "run-000/scenario.yaml", "mine.yaml"):
        (out / name).write_text("name: x")
    for owned in ("events.csv", "run-000/scenario.yaml"):
        with pytest.raises(InputError, match="--overwrite would remove the scenario file itself"):
            refuse_to_remove(out, out / owned)
    refuse_to_remove(out, out / "mine.yaml")
    refuse_to_remove(out, out / "absent.csv")  # nothing there yet to remove


def test_resume_needs_a_run_and_new_refuses_any_other_content(tmp_path):
    with pytest.raises(OutputError, match="not a run directory"):
        RunDirectory.open(tmp_path, "resume")
    (tmp_path / "x").write_text("")
    with pytest.raises(OutputError, match=r"is not empty \(1 entry\)"):
        RunDirectory.open(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]  # a refusal leaves no lock file behind


def test_a_run_that_never_starts_leaves_no_trace(tmp_path):
    deep = tmp_path / "a" / "b" / "run"
    RunDirectory.open(deep).abandon()
    assert list(tmp_path.iterdir()) == []


def test_one_process_at_a_time(tmp_path):
    with RunDirectory.open(tmp_path / "run"):
        with pytest.raises(OutputError, match=r"another edgesim process \(pid \d+\) is writing into it"):
            RunDirectory.open(tmp_path / "run", "overwrite")
    RunDirectory.open(tmp_path / "run", "overwrite").close()  # released


def test_a_file_in_the_way_is_an_output_error(tmp_path):
    (tmp_path / "run").write_text("")
    with pytest.raises(OutputError, match="a file is in the way of the run directory"):
        RunDirectory.open(tmp_path / "run")


def test_summaries_are_strict_json_and_belong_to_the_scenario_beside_them(tmp_path):
    with RunDirectory.open(tmp_path / "run") as run:
        sha = run.write_scenario(scenario_text(SCENARIO))
        run.write_summary({"scenario_sha256": sha, "loss": float("nan"), "nested": [float("inf"), 1.5]})
    text = (tmp_path / "run" / "summary.json").read_text()
    assert json.loads(text, parse_constant=lambda c: pytest.fail(c)) == {
        "scenario_sha256": sha, "loss": None, "nested": [None, 1.5]}
    summary = read_summary(tmp_path / "run")
    assert summary_belongs(tmp_path / "run", summary)
    (tmp_path / "run" / "scenario.yaml").write_text("name: other\n")
    assert not summary_belongs(tmp_path / "run", summary)
    assert strict_json({"a": (float("-inf"),)}) == {"a": [None]}


def test_default_directories_take_a_safe_part_of_the_name(tmp_path):
    assert name_slug("IoT home (v2)") == "IoT_home_v2" and name_slug("..") == "run"
    assert default_run_dir(SCENARIO.name, tmp_path).name.startswith("tiny-")
