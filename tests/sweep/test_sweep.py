"""Local sweeps: one run per variant, sweep.csv, invalid variants recorded, finished variants skipped on --resume,
a variant's directory never mistaken for another scenario's, --resume never dropping another sweep's runs, and the
exit status of a sweep none of whose variants ran."""

from __future__ import annotations

import csv
import json
import textwrap

import yaml

from edgesim.cli import main
from edgesim.results.run_dir import sha256_text
from edgesim.scenario import load_scenario
from edgesim.sweep.driver import variant_state

SCENARIO = """
name: tiny_sweep
seed: 3
fleet:
  groups:
    - {name: pi, profile: raspberry_pi_4, count: 4, network: wifi5}
dataset: {name: synthetic, synthetic: {train_size: 400, test_size: 200}}
server: {clients_per_round: 2}
stop: {max_rounds: 2}
sweep:
  grid:
    fleet.memory_fraction: [0.5, 1.0e-9]
  seeds: [3, 4]
"""


def rows(out) -> list[dict]:
    with open(out / "sweep.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_sweep_runs_records_invalid_variants_and_resumes(tmp_path, capsys):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(textwrap.dedent(SCENARIO))
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--out", str(out), "--workers", "2"]) == 0
    table = rows(out)
    assert [(r["fleet.memory_fraction"], r["seed"]) for r in table] == [("0.5", "3"), ("0.5", "4"),
                                                                       ("1e-09", "3"), ("1e-09", "4")]
    assert [r["status"] for r in table] == ["completed", "completed", "invalid", "invalid"]
    assert table[2]["reason"].startswith("server.clients_per_round: a round needs 2 ready devices, "
                                         "but only 0 of the 4 devices can take part in rounds: 4 cannot hold")
    assert table[0]["rounds"] == "2" and table[0]["run_dir"] == "run-000" and table[0]["reason"] == ""
    assert table[0]["staleness_p50"] == "0" and table[0]["rounds_to_target"] == ""  # synchronous; no target
    printed = capsys.readouterr().out
    assert "sweep summary (seeds pooled)" in printed and "2/2" not in printed  # no target: none reached
    assert "memory_fraction" in (out / "summary.md").read_text()
    assert not (out / "labels.json").exists()  # no sweep.labels
    assert (out / "summary.csv").read_text().splitlines()[0].startswith("memory_fraction,runs,not_finished,failed,reached")

    # The same variant run on its own gives the same tables.
    single = tmp_path / "single"
    assert main(["run", str(scenario), "--out", str(single), "--quiet", "--seed", "3",
                 "--set", "fleet.memory_fraction=0.5"]) == 0
    assert (single / "metrics.csv").read_bytes() == (out / "run-000" / "metrics.csv").read_bytes()
    assert (single / "events.csv").read_bytes() == (out / "run-000" / "events.csv").read_bytes()

    # The directory is not reused by accident; --resume skips what is finished and retries what was invalid.
    capsys.readouterr()
    assert main(["sweep", str(scenario), "--out", str(out)]) == 2
    assert "holds a sweep; give --resume to continue it, --overwrite to replace it" in capsys.readouterr().err
    summary_mtime = (out / "run-000" / "summary.json").stat().st_mtime_ns
    assert main(["sweep", str(scenario), "--out", str(out), "--workers", "1", "--resume"]) == 0
    assert "2 of 4 variants already finished" in capsys.readouterr().err
    assert (out / "run-000" / "summary.json").stat().st_mtime_ns == summary_mtime

    # --overwrite starts again from nothing.
    assert main(["sweep", str(scenario), "--out", str(out), "--overwrite"]) == 0
    assert "already finished" not in capsys.readouterr().err
    assert (out / "run-000" / "summary.json").stat().st_mtime_ns != summary_mtime


def one_variant(tmp_path, **edits):
    text = textwrap.dedent(SCENARIO).replace("[0.5, 1.0e-9]", "[0.5]").replace("[3, 4]", "[3]")
    for old, new in edits.items():
        text = text.replace(old, new)
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(text)
    return scenario


def test_a_run_saved_before_a_key_was_added_still_counts_as_finished(tmp_path, capsys):
    scenario = one_variant(tmp_path)
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--out", str(out)]) == 0
    # as an edgesim that had no dataset.taxonomy key yet would have written it
    run = out / "run-000"
    stored = yaml.safe_load((run / "scenario.yaml").read_text())
    del stored["dataset"]["taxonomy"]
    (run / "scenario.yaml").write_text(yaml.safe_dump(stored))
    summary = json.loads((run / "summary.json").read_text())
    summary["scenario_sha256"] = sha256_text((run / "scenario.yaml").read_text())
    (run / "summary.json").write_text(json.dumps(summary))
    capsys.readouterr()
    assert main(["sweep", str(scenario), "--out", str(out), "--resume"]) == 0
    assert "1 of 1 variants already finished" in capsys.readouterr().err


def test_a_summary_left_beside_another_scenario_is_never_taken_for_its_result(tmp_path, capsys):
    """The failure this guards against: a sweep re-run after the scenario was edited, killed mid-variant,
    left the new scenario.yaml beside the old run's summary, and the next run reported the old result."""
    scenario = one_variant(tmp_path)
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--out", str(out)]) == 0
    run = out / "run-000"
    edited = load_scenario(one_variant(tmp_path, **{"max_rounds: 2": "max_rounds: 3"})).model_copy(
        update={"sweep": None})
    assert variant_state(edited, run)[0] == "fresh"  # another scenario: run it afresh
    # the torn state: the edited scenario's file written, the old summary still there
    (run / "scenario.yaml").write_text(yaml.safe_dump(edited.model_dump(mode="json", by_alias=True,
                                                                        exclude={"sweep"}), sort_keys=False))
    assert variant_state(edited, run) == ("fresh", None)
    capsys.readouterr()
    assert main(["sweep", str(one_variant(tmp_path, **{"max_rounds: 2": "max_rounds: 3"})), "--out", str(out),
                 "--resume"]) == 0
    assert "1 variant changed since its run (run-000): running it again" in capsys.readouterr().err
    assert rows(out)[0]["rounds"] == "3"


def test_a_variant_left_behind_by_an_interrupted_sweep_is_pending_unless_its_directory_is_this_scenarios(tmp_path):
    from edgesim.sweep.driver import _left_behind

    scenario = one_variant(tmp_path)
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--out", str(out)]) == 0
    run = out / "run-000"
    same = load_scenario(scenario).model_copy(update={"sweep": None})
    edited = load_scenario(one_variant(tmp_path, **{"max_rounds: 2": "max_rounds: 3"})).model_copy(
        update={"sweep": None})
    assert _left_behind(same, run)["status"] == "completed"
    assert _left_behind(edited, run) == {"status": "pending"}  # never the old scenario's result
    assert _left_behind(same, tmp_path / "absent") == {"status": "pending"}


def test_seeds_belong_in_the_sweeps_seeds(tmp_path, capsys):
    scenario = one_variant(tmp_path)
    assert main(["sweep", str(scenario), "--out", str(tmp_path / "s"), "--seed", "5"]) == 2
    assert "--seed 5: the sweep lists its own seeds (sweep.seeds); give --set 'sweep.seeds=[5]'" in \
        capsys.readouterr().err
    # the same through --set seed=..., and from validate, the sweep's pre-flight
    for command in (["sweep", str(scenario), "--out", str(tmp_path / "s2"), "--set", "seed=3"],
                    ["validate", str(scenario), "--set", "seed=3"], ["validate", str(scenario), "--seed", "3"]):
        assert main(command) == 2
        assert "the sweep lists its own seeds (sweep.seeds); give --set 'sweep.seeds=[3]'" in capsys.readouterr().err
    assert not (tmp_path / "s2").exists()
    assert main(["validate", str(scenario), "--set", "sweep.grid={seed: [1, 2]}"]) == 2
    assert "sweep.grid.seed: list the seeds under sweep.seeds" in capsys.readouterr().err


def test_the_resume_hint_repeats_the_sweeps_options(tmp_path):
    from edgesim.arguments import build_parser
    from edgesim.cli import _resume_sweep_command

    args = build_parser().parse_args(["sweep", "my study.yaml", "--set", "sweep={seeds: [1, 2]}", "--workers", "2",
                                      "--threads", "1", "--checkpoint-every", "30m", "--only", "seed=2"])
    assert _resume_sweep_command(args, tmp_path / "out") == (
        f"edgesim sweep 'my study.yaml' --set 'sweep={{seeds: [1, 2]}}' --only seed=2 --workers 2 --threads 1 "
        f"--checkpoint-every 30m --out {tmp_path / 'out'} --resume")


def test_labels_the_scenario_gives_name_the_grid_values_in_the_summary(tmp_path, capsys):
    text = textwrap.dedent(SCENARIO).replace("[0.5, 1.0e-9]", "[0.5, 1.0]").replace("[3, 4]", "[3]")
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(text + "  labels: {fleet.memory_fraction: [halved, whole]}\n")
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--out", str(out)]) == 0
    assert json.loads((out / "labels.json").read_text()) == {
        "fleet.memory_fraction": {"0.5": "halved", "1.0": "whole"}}
    summary = (out / "summary.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in summary[1:]] == ["halved", "whole"]
    assert "halved" in capsys.readouterr().out
    scenario.write_text(text)  # the labels removed: the file they left goes too
    assert main(["sweep", str(scenario), "--out", str(out), "--resume"]) == 0
    assert not (out / "labels.json").exists()
    assert [line.split(",")[0] for line in (out / "summary.csv").read_text().splitlines()[1:]] == ["0.5", "1"]


def scenario_file(tmp_path, name: str, **edits):
    """The sweep of ``SCENARIO`` at one grid value, named ``guarded`` (two variants: seeds 3 and 4), edited."""
    text = textwrap.dedent(SCENARIO).replace("[0.5, 1.0e-9]", "[0.5]").replace("name: tiny_sweep", "name: guarded")
    for old, new in edits.items():
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_resume_refuses_a_sweep_of_another_scenario_or_of_more_variants(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario_file(tmp_path, "a.yaml")), "--out", str(out)]) == 0
    table = (out / "sweep.csv").read_bytes()
    kept = {p.name: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != ".lock"}
    capsys.readouterr()

    other = scenario_file(tmp_path, "b.yaml", **{"name: guarded": "name: other", "[3, 4]": "[3]"})
    assert main(["sweep", str(other), "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"error: {out}: holds a sweep of scenario 'guarded' (run-000), not of 'other'; give --overwrite to " \
           "replace it, or another --out" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err

    # the same scenario with a seed fewer would leave run-001 out of sweep.csv
    fewer = scenario_file(tmp_path, "c.yaml", **{"[3, 4]": "[3]"})
    assert main(["sweep", str(fewer), "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"error: {out}: holds a sweep of 2 variants and this one has 1; resuming would drop the others' runs; " \
           "give --overwrite to replace it, or another --out" in err
    assert len(err.strip().splitlines()) == 1

    # nothing was touched
    assert (out / "sweep.csv").read_bytes() == table
    assert {p.name: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != ".lock"} == kept
    # the same sweep still resumes, and --overwrite still replaces it
    assert main(["sweep", str(scenario_file(tmp_path, "a.yaml")), "--out", str(out), "--resume"]) == 0
    assert "2 of 2 variants already finished" in capsys.readouterr().err
    assert main(["sweep", str(fewer), "--out", str(out), "--overwrite"]) == 0


def test_resume_of_a_directory_that_does_not_exist_says_so_and_starts_the_sweep(tmp_path, capsys):
    scenario = scenario_file(tmp_path, "a.yaml", **{"[3, 4]": "[3]"})
    out = tmp_path / "absent" / "sweep"
    assert main(["sweep", str(scenario), "--out", str(out), "--resume"]) == 0
    assert f"nothing to resume in {out}: starting the sweep" in capsys.readouterr().err
    assert (out / "run-000" / "summary.json").is_file()
    # an empty directory alike; one with other files in it is still refused
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine\n")
    assert main(["sweep", str(scenario_file(tmp_path, "bad.yaml", **{"[0.5]": "[1.0e-9]", "[3, 4]": "[3]"})),
                 "--out", str(empty), "--resume"]) == 1
    assert f"nothing to resume in {empty}: starting the sweep" in capsys.readouterr().err
    assert main(["sweep", str(scenario), "--out", str(tmp_path / "busy"), "--resume"]) == 2
    assert "holds no sweep (no sweep.csv) to resume" in capsys.readouterr().err


def test_a_sweep_whose_every_variant_was_invalid_exits_with_the_failure_status(tmp_path, capsys):
    scenario = scenario_file(tmp_path, "a.yaml", **{"[0.5]": "[1.0e-9]"})
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "every variant failed or was invalid (0 failed, 2 invalid); sweep.csv has their reasons" in err
    assert (out / "sweep.csv").read_text().count(",invalid,") == 2


def test_only_runs_the_chosen_variants_and_a_later_resume_runs_the_rest(tmp_path, capsys):
    text = textwrap.dedent(SCENARIO).replace("[0.5, 1.0e-9]", "[0.5, 1.0]")
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(text)
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--out", str(out), "--only", "seed=4",
                 "--only", "fleet.memory_fraction=1.0"]) == 0
    assert "--only: 1 of 4 variants chosen" in capsys.readouterr().err
    assert [(r["status"], r["reason"]) for r in rows(out)] == [("pending", "not chosen by --only")] * 3 + [
        ("completed", "")]
    assert sorted(p.name for p in out.glob("run-*")) == ["run-003"]
    chosen_mtime = (out / "run-003" / "summary.json").stat().st_mtime_ns
    assert main(["sweep", str(scenario), "--out", str(out), "--only", "seed=3"]) == 2
    assert "holds a sweep; give --resume to continue it, or another --out" in capsys.readouterr().err

    # values of one key are alternatives; a finished chosen variant is skipped, the unchosen stay pending
    assert main(["sweep", str(scenario), "--out", str(out), "--resume", "--only", "seed=3", "--only", "seed=4",
                 "--only", "fleet.memory_fraction=1.0"]) == 0
    assert "1 of 2 chosen variants already finished" in capsys.readouterr().err
    assert [r["status"] for r in rows(out)] == ["pending", "pending", "completed", "completed"]

    # the rest; the variant run alone has the tables its own run gives
    assert main(["sweep", str(scenario), "--out", str(out), "--resume"]) == 0
    assert "2 of 4 variants already finished" in capsys.readouterr().err
    assert [r["status"] for r in rows(out)] == ["completed"] * 4
    assert (out / "run-003" / "summary.json").stat().st_mtime_ns == chosen_mtime
    single = tmp_path / "single"
    assert main(["run", str(scenario), "--out", str(single), "--quiet", "--seed", "4",
                 "--set", "fleet.memory_fraction=1.0"]) == 0
    for table in ("metrics.csv", "events.csv"):
        assert (single / table).read_bytes() == (out / "run-003" / table).read_bytes()


def test_only_refuses_a_key_or_value_the_sweep_lacks_naming_what_it_has(tmp_path, capsys):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(textwrap.dedent(SCENARIO))
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--out", str(out), "--only", "case=fedavg", "--only", "seed=9"]) == 2
    err = capsys.readouterr().err
    assert "--only case=...: not a parameter of this sweep; its parameters are fleet.memory_fraction, seed" in err
    assert "--only seed=9: no variant has it; the sweep's values of seed are 3, 4" in err
    assert main(["sweep", str(scenario), "--out", str(out), "--only", "seed"]) == 2
    assert "--only seed: give KEY=VALUE" in capsys.readouterr().err
    assert main(["sweep", str(scenario), "--out", str(out), "--only", "seed=3", "--overwrite"]) == 2
    assert "--overwrite clears the whole sweep directory, the variants --only leaves out too" in \
        capsys.readouterr().err
    assert not out.exists()


def test_a_variant_left_out_whose_scenario_changed_is_pending_never_its_old_result(tmp_path, capsys):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(textwrap.dedent(SCENARIO).replace("[0.5, 1.0e-9]", "[0.5, 1.0]").replace("[3, 4]", "[3]"))
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["sweep", str(scenario), "--out", str(out), "--resume", "--set", "stop.max_rounds=3",
                 "--only", "fleet.memory_fraction=0.5"]) == 0
    err = capsys.readouterr().err
    assert "1 variant changed since its run (run-000): running it again" in err
    assert "1 variant changed since its run (run-001): left out by --only: pending" in err
    assert [(r["status"], r["rounds"], r["reason"]) for r in rows(out)] == [
        ("completed", "3", ""), ("pending", "", "not chosen by --only; its run is of an earlier version of the scenario")]
