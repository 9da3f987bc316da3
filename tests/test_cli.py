"""The command line: exit codes, messages without tracebacks, and the last line of ``run``."""

from __future__ import annotations

import io
import subprocess
import sys

import pandas as pd
import pytest
from rich.console import Console

from run_inputs import SCENARIOS, data_options

from edgesim.cli import _ending_line, _print_sweep_summary, main


def test_validate_ok(capsys):
    assert main(["validate", str(SCENARIOS / "smoke.yaml"), *data_options()]) == 0
    assert capsys.readouterr().out.startswith("ok: smoke: 8 devices in 2 groups, fedavg on ")


def test_validate_bad_input_exits_2_with_one_line_per_problem(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("fleet: {groups: [{name: a, profile: toaster, count: 0, network: wifi5}]}\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "error: fleet.groups[0].count: Input should be greater than or equal to 1" in err
    assert "Traceback" not in err


def test_missing_scenario_file_runs_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "edgesim", "run", str(tmp_path / "missing.yaml")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "scenario file not found" in result.stderr and "Traceback" not in result.stderr


def test_bad_set_value(capsys):
    assert main(["validate", str(SCENARIOS / "smoke.yaml"), "--set", "server.clients_per_round=100"]) == 2
    assert "server.clients_per_round: 100 is more than the fleet's 8 devices" in capsys.readouterr().err


def test_profiles_lists_every_builtin(capsys):
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    assert "raspberry_pi_4" in out and "wifi5" in out


def test_plot_rejects_a_directory_without_results(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 2
    assert "neither a sweep directory" in capsys.readouterr().err


def test_taxonomy_prints_the_summary_and_draws_the_tree(tmp_path, capsys):
    tree = tmp_path / "tree.txt"
    tree.write_text("root low\nroot high\nlow 0\nlow 1\nlow 2\nlow 3\nlow 4\n"
                    "high 5\nhigh 6\nhigh 7\nhigh 8\nhigh 9\n")
    png = tmp_path / "tree.png"
    options = ["--set", "dataset.taxonomy.kind=edgelist", "--set", f"dataset.taxonomy.path={tree}"]
    assert main(["taxonomy", str(SCENARIOS / "smoke.yaml"), "--draw", str(png), *options]) == 0
    out = capsys.readouterr().out
    assert "experts" in out and "│     3 │" in out and str(png) in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_taxonomy_without_one_for_the_dataset_is_an_input_error(capsys):
    assert main(["taxonomy", str(SCENARIOS / "smoke.yaml")]) == 2
    assert "mnist has no built-in taxonomy" in capsys.readouterr().err


def test_run_needs_a_scenario_or_a_run_to_resume_but_not_both(tmp_path, capsys):
    assert main(["run"]) == 2
    assert "give a scenario file, or --resume RUN_DIR" in capsys.readouterr().err
    assert main(["run", str(SCENARIOS / "smoke.yaml"), "--resume", str(tmp_path)]) == 2
    assert "--resume RUN_DIR continues that run with its own scenario" in capsys.readouterr().err
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "not a run directory (it has no scenario.yaml)" in capsys.readouterr().err
    assert main(["run", str(SCENARIOS / "smoke.yaml"), "--checkpoint-every", "sometimes"]) == 2
    assert "--checkpoint-every 'sometimes': give eval, off, or a simulated duration" in capsys.readouterr().err


def test_many_problems_are_cut_to_twenty_lines(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("fleet: {groups: [" + ", ".join(f"{{name: g{i}, profile: toaster, count: 1, network: x}}"
                                                   for i in range(30)) + "]}\n")
    assert main(["validate", str(bad)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 21 and lines[-1] == "error: … and 40 more problems"


def test_sweep_resume_needs_its_directory(capsys):
    assert main(["sweep", str(SCENARIOS / "smoke.yaml"), "--resume"]) == 2
    assert "--resume: give the sweep's directory with --out" in capsys.readouterr().err


def test_threads_must_fit_the_machine(capsys):
    import os

    assert main(["run", str(SCENARIOS / "smoke.yaml"), "--threads", "100000", *data_options()]) == 2
    cores = os.cpu_count()
    assert f"--threads 100000: must be from 1 to {4 * cores} (4 per core of the {cores} here)" in \
        capsys.readouterr().err


def test_the_run_never_replaces_the_scenario_file_it_was_given(tmp_path, capsys):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text((SCENARIOS / "smoke.yaml").read_text())
    assert main(["run", str(scenario), "--out", str(tmp_path), "--overwrite", *data_options()]) == 2
    assert "the run would replace the scenario file itself" in capsys.readouterr().err
    assert scenario.read_text() == (SCENARIOS / "smoke.yaml").read_text()
    # nor one named like a file edgesim would remove, a run's or a sweep variant's
    (tmp_path / "run-000").mkdir()
    for name, command in (("events.csv", "run"), ("run-000/scenario.yaml", "sweep")):
        named = tmp_path / name
        named.write_text(scenario.read_text())
        assert main([command, str(named), "--out", str(tmp_path), "--overwrite", *data_options()]) == 2
        assert "--overwrite would remove the scenario file itself" in capsys.readouterr().err
        assert named.read_text() == scenario.read_text()


@pytest.mark.parametrize("content, message", [
    (b"name: caf\xe9\n", "{bad}:1:10: not UTF-8 text (byte 0xe9); save the file as UTF-8"),
    (b"- 1\n- 2\n", "{bad}: the top level must be a mapping of keys (name:, fleet:, ...)"),
])
def test_a_bad_scenario_file_is_answered_before_torch_loads(tmp_path, content, message):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(content)
    code = ("import sys, time; from edgesim.launch import main; started = time.monotonic(); "
            f"code = main(['validate', {str(bad)!r}]); "
            "print(code, 'torch' in sys.modules, time.monotonic() - started < 1.0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["2", "False", "True"]
    assert done.stderr.strip() == "error: " + message.format(bad=bad)


def test_messages_print_what_the_user_wrote_without_emoji_or_markup(capsys):
    assert main(["validate", str(SCENARIOS / "smoke.yaml"), "--set", "fleet.groups.0.profile=:thumbs_up:[b]x[/b]",
                 *data_options()]) == 2
    assert "unknown device profile ':thumbs_up:[b]x[/b]'" in capsys.readouterr().err


def test_a_set_that_the_sweeps_cases_replace_is_refused_or_warned_about(capsys):
    paper = SCENARIOS / "paper"
    # every case of the AKAFL-RJ sweep sets its whole algorithm mapping: the edit would reach no variant
    assert main(["validate", str(paper / "akafl_rj_mnist.yaml"), "--set", "algorithm.judgement_data=test"]) == 2
    err = capsys.readouterr().err
    assert "edgesim sweep: --set algorithm.judgement_data: no variant keeps it" in err
    assert "(edgesim run, which ignores the sweep: block, takes it)" in err
    assert "--set sweep.cases.<case>.algorithm.judgement_data=" in err and "Traceback" not in err
    assert main(["validate", str(paper / "akafl_rj_adapted_k.yaml"), "--set", "algorithm.k_min=3"]) == 2
    assert "the sweep's grid varies it" in capsys.readouterr().err
    # only the centralised cases set their own round count: the others take the edit, with a warning
    enough = ["--set", "dataset.synthetic.train_size=6000"] if data_options() else []  # 2 shards x 20 x 100 clients
    assert main(["validate", str(paper / "mpt_fl_mnist.yaml"), "--set", "stop.max_rounds=300", *data_options(),
                 *enough]) == 0
    out = capsys.readouterr().out
    assert "warning: --set stop.max_rounds does not reach case dnn_central, case mpt_central" in out


def test_a_run_given_a_sweeps_folder_and_a_sweep_given_a_runs_folder_name_the_command_that_continues_it(
        tmp_path, capsys):
    sweep_dir, run_dir = tmp_path / "sweep", tmp_path / "run"
    sweep_dir.mkdir()
    (sweep_dir / "sweep.csv").write_text("variant,run_dir,status\n0,run-000,pending\n")
    run_dir.mkdir()
    (run_dir / "scenario.yaml").write_text((SCENARIOS / "smoke.yaml").read_text())
    smoke = str(SCENARIOS / "smoke.yaml")
    assert main(["run", smoke, "--out", str(sweep_dir)]) == 2
    err = capsys.readouterr().err
    assert f"holds a sweep (sweep.csv), which `edgesim sweep SCENARIO --out {sweep_dir} --resume` continues" in err
    assert "give --resume" not in err
    assert main(["run", "--resume", str(sweep_dir)]) == 2
    assert "not a run directory (it has no scenario.yaml); it holds a sweep (sweep.csv): `edgesim sweep SCENARIO " \
           f"--out {sweep_dir} --resume` continues it" in capsys.readouterr().err
    sweep_file = str(SCENARIOS / "paper" / "mpt_fl_sparsity.yaml")
    for resume in ([], ["--resume"]):
        assert main(["sweep", sweep_file, "--out", str(run_dir), *resume]) == 2
        err = capsys.readouterr().err
        assert "holds no sweep" in err and f"but a run, which `edgesim run --resume {run_dir}` continues" in err
        assert "give --resume" not in err


def test_validate_checks_a_sweep_files_scenario_as_run_plays_it_and_labels_what_only_one_command_has(
        tmp_path, capsys):
    # 8 clients x 2 classes x 30 samples: the scenario alone has too little data; its one case has enough
    scenario = (SCENARIOS / "smoke.yaml").read_text().replace("name: mnist", "name: synthetic\n  synthetic: "
                                                                "{train_size: 100}").replace("test_subset: 1000",
                                                                                             "test_subset: 100")
    path = tmp_path / "sweep.yaml"
    path.write_text(scenario + "sweep:\n  cases:\n    big: {dataset.synthetic.train_size: 6000}\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: edgesim run (the scenario without its sweep: block): dataset.partition."
                          "samples_per_class: 1 clients x 30 samples of class 0 need 30, but it has 10")
    assert "sweep variant" not in err
    assert main(["validate", str(path), "--set", "dataset.synthetic.train_size=6000"]) == 2  # every case sets it
    err = capsys.readouterr().err
    assert err.startswith("error: edgesim sweep: --set dataset.synthetic.train_size: no variant keeps it")
    assert "edgesim run (the scenario" not in err
    assert main(["validate", str(path), "--set", "dataset.synthetic.train_size=6000",
                 "--set", "sweep.cases.big[dataset.synthetic.train_size]=7000"]) == 0  # the case was told
    assert capsys.readouterr().out.startswith("ok: ")


def test_a_sweeps_printed_summary_names_the_comparisons_its_intervals_separate(tmp_path):
    rows = [("fast", 1, 50.0), ("fast", 2, 51.0), ("slow", 1, 90.0), ("slow", 2, 91.0)]
    pd.DataFrame({"variant": range(4), "run_dir": [f"run-{i:03d}" for i in range(4)],
                  "case": [case for case, _, _ in rows], "seed": [seed for _, seed, _ in rows],
                  "status": "completed", "sim_time_s": 100.0, "time_to_target_s": [t for _, _, t in rows]},
                 ).to_csv(tmp_path / "sweep.csv", index=False)
    printed = io.StringIO()
    _print_sweep_summary(tmp_path, Console(file=printed, width=200))
    assert "1 of 1 one-factor comparisons are separated" in printed.getvalue()
    assert "fast reaches the target sooner than slow (slow takes ×1.79 as long)" in printed.getvalue()


@pytest.mark.parametrize("sweep, message", [
    ("[1, 2]", "error: sweep: Input should be a valid dictionary"),
    ('"abc"', "error: sweep: Input should be a valid dictionary"),
    ("{cases: [1, 2]}", "error: sweep.cases: Input should be a valid dictionary"),
    ("{cases: {a: [1]}}", "error: sweep.cases.a: Input should be a valid dictionary"),
    ('{grid: "abc"}', "error: sweep.grid: Input should be a valid dictionary"),
])
def test_a_sweep_block_of_the_wrong_shape_is_a_schema_error_not_a_traceback(tmp_path, capsys, sweep, message):
    scenario = tmp_path / "shape.yaml"
    scenario.write_text((SCENARIOS / "smoke.yaml").read_text() + f"\nsweep: {sweep}\n")
    for command in (["validate", str(scenario)], ["sweep", str(scenario), "--out", str(tmp_path / "out")]):
        for edits in ([], ["--set", "stop.max_rounds=1"], ["--seed", "1"]):
            assert main([*command, *edits]) == 2
            err = capsys.readouterr().err
            assert err.startswith(message) and len(err.strip().splitlines()) == 1, (command, edits, err)
    assert not (tmp_path / "out").exists()


def test_a_set_inside_a_sweep_case_that_does_not_exist_is_refused(capsys):
    paper = SCENARIOS / "paper" / "akafl_rj_mnist.yaml"
    assert main(["validate", str(paper), "--set", "sweep.cases.no_such_case[stop.max_rounds]=3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --set 'sweep.cases.no_such_case[stop.max_rounds]': the sweep has no case "
                          "'no_such_case' (its cases: ")
    assert len(err.strip().splitlines()) == 1


def test_the_last_line_of_a_run_gives_its_energy_and_battery_drop_outs_when_it_has_them():
    summary = {"status": "completed", "final_accuracy": 0.91, "rounds": 12, "sim_time_s": 90.0,
               "target_accuracy": None, "energy_j": 4200.0, "energy_lost_share": 0.031, "battery_devices": 0}
    assert _ending_line(summary).endswith("simulated; energy 4.2 kJ (3% lost)")
    summary.update(battery_devices=50, battery_dropouts=1, energy_lost_share=0.0)
    assert _ending_line(summary).endswith("simulated; energy 4.2 kJ; 1 battery drop-out")
    assert _ending_line({**summary, "energy_j": 0.0, "battery_devices": 0}).endswith("after 12 rounds, 90s simulated")
    summary.update(battery_dropouts=0, battery_low_at_start=23)
    assert _ending_line(summary).endswith("; 0 battery drop-outs (23 started low)")


@pytest.mark.parametrize("reason, words", [(None, "after 1 round, 90s"), ("target", "after 1 round, 90s"),
                                           ("energy_budget", "after 1 round (stop.energy_budget_j spent), 90s"),
                                           ("plateau", "after 1 round (stop.patience: accuracy plateaued), 90s"),
                                           ("horizon", "after 1 round (the horizon ended it), 90s")])
def test_the_last_line_names_the_stop_rule_that_ended_the_run(reason, words):
    summary = {"status": "completed", "stop_reason": reason, "final_accuracy": 0.5, "rounds": 1, "sim_time_s": 90.0,
               "target_accuracy": None}
    assert f"final accuracy 0.5000 {words} simulated" == _ending_line(summary)
