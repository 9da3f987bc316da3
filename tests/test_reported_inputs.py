"""The small inputs reported to fail (issue 11), each through the command line, plus the other members of
their classes: rounds that can never fill, schedules that never change, training that cannot run or diverges,
bad values anywhere a number is read, paths relative to the scenario, files that are not text."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from run_inputs import SCENARIOS, data_options

from edgesim.cli import main

SMOKE = str(SCENARIOS / "smoke.yaml")
QUICK = ["--set", "stop.max_rounds=2", *data_options()]


def run(tmp_path, *edits: str) -> tuple[int, dict | None]:
    out = tmp_path / "run"
    code = main(["run", SMOKE, "--out", str(out), "--quiet", "--threads", "1", *QUICK,
                 *[arg for edit in edits for arg in ("--set", edit)]])
    path = out / "summary.json"
    return code, (json.loads(path.read_text(), parse_constant=_refuse) if path.exists() else None)


def _refuse(constant):
    raise AssertionError(f"summary.json holds {constant}, which is not JSON")


def errors(capsys) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("error: ")]


def test_a_round_that_can_never_fill_is_an_input_error_of_validate_and_run(tmp_path, capsys):
    """40 devices, a Dirichlet split leaving most of them without data, 30 clients a round."""
    edits = ["fleet.groups.0.count=36", "dataset.partition={kind: dirichlet, alpha: 0.001, min_samples: 0}",
             "server.clients_per_round=30"]
    options = [arg for edit in edits for arg in ("--set", edit)]
    assert main(["validate", SMOKE, *options, *data_options()]) == 2
    [message] = errors(capsys)
    assert "server.clients_per_round: a round needs 30 ready devices, but only" in message
    assert "of the 40 devices can take part in rounds" in message and "hold no training data" in message
    assert run(tmp_path, *edits) == (2, None)
    assert errors(capsys) == [message] and not (tmp_path / "run").exists()


def test_a_fleet_never_available_before_the_horizon_is_an_input_error(capsys):
    night = "fleet.availability={kind: windows, windows: [[22, 6]]}"
    assert main(["validate", SMOKE, "--set", night, "--set", "start_hour=8", "--set", "stop.horizon_s=2h",
                 *data_options()]) == 2
    assert errors(capsys) == ["error: fleet.availability: only 0 of the 8 devices that can take part are ever "
                              "available before the horizon (stop.horizon_s = 2.0h), and a round needs 4"]


def test_every_device_excluded_is_an_input_error(capsys):
    assert main(["validate", SMOKE, "--set", "fleet.memory_fraction=1e-9", *data_options()]) == 2
    [message] = errors(capsys)
    assert "only 0 of the 8 devices can take part in rounds: 8 cannot hold the footprint" in message


@pytest.mark.parametrize("availability", [
    "{kind: windows, windows: [[0, 24]]}",
    "{kind: windows, windows: [[0, 12], [12, 24]]}",
    "{kind: hourly, probability: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}",
])
def test_schedules_that_never_change_do_not_hang(tmp_path, availability):
    started = time.monotonic()
    code, summary = run(tmp_path, f"fleet.availability={availability}")
    assert code == 0 and summary["status"] == "completed" and summary["rounds"] == 2
    assert time.monotonic() - started < 60


def test_an_always_unavailable_hourly_schedule_is_refused_not_waited_out(capsys):
    never = "fleet.availability={kind: hourly, probability: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, " \
            "0, 0, 0, 0, 0, 0, 0, 0]}"
    assert main(["validate", SMOKE, "--set", never, *data_options()]) == 2
    assert "are ever available before the horizon" in errors(capsys)[0]


def test_bnn_fl_1_1_with_batches_of_one_is_refused_by_validate(capsys):
    assert main(["validate", SMOKE, "--set", "algorithm={name: bnn_fl, variant: '1/1', batch_size: 1}",
                 *data_options()]) == 2
    assert errors(capsys) == ["error: algorithm: batch_size 1 cannot train variant 1/1, whose BatchNorm layers need "
                              "at least 2 samples per batch"]


def test_batchnorm_models_train_clients_whose_last_batch_would_hold_one_sample(tmp_path):
    """21 samples in batches of 10 leave one sample over, which BatchNorm cannot train on."""
    code, summary = run(tmp_path, "algorithm={name: bnn_fl, variant: '1/1', batch_size: 10}", "model.name=mlp",
                        "dataset.partition={kind: shards, classes_per_client: 1, samples_per_class: 21}")
    assert code == 0 and summary["status"] == "completed"


def test_a_huge_learning_rate_ends_as_diverged_with_strict_json(tmp_path, capsys):
    code, summary = run(tmp_path, "algorithm.lr=1e6")
    assert code == 4
    assert summary["status"] == "diverged" and summary["reason"].startswith("training diverged: train_loss = nan")
    assert summary["final_loss"] is None and summary["stop_reason"] is None
    assert summary["final_accuracy"] is None  # a model with NaN weights has no accuracy
    assert "diverged: training diverged" in capsys.readouterr().err


@pytest.mark.parametrize("edit, message", [
    ("fleet.groups.0.overrides={up_mbps: -1}", "fleet.groups[0].overrides.up_mbps: must be positive (got -1)"),
    ("fleet.groups.0.overrides={down_mbps: 0}", "fleet.groups[0].overrides.down_mbps: must be positive (got 0)"),
    ("fleet.groups.0.overrides={latency_ms: -5}", "fleet.groups[0].overrides.latency_ms: must be zero or more"),
    ("fleet.groups.0.overrides={up_mbps: {kind: uniform, low: 0, high: 5}}",
     "up_mbps: must be positive, but this uniform distribution can draw 0"),
    ("fleet.groups.0.overrides={latency_ms: .nan}", "latency_ms: Input should be a finite number"),
    ("profiles={networks: {bad: {down_mbps: {kind: normal, mean: 5, std: 1}, up_mbps: 1, latency_ms: 1, "
     "source: x}}}", "profiles.networks.bad.down_mbps: must be positive, but this normal distribution can draw 0"),
    ("fleet.failures={kind: random, mtbf_s: .nan, mttr_s: 60}", "fleet.failures.mtbf_s: Input should be a finite"),
    ("fleet.failures={kind: random, mtbf_s: 3600, mttr_s: -1}", "fleet.failures.mttr_s: must be positive"),
    ("fleet.stragglers={kind: uniform, low: 1, high: .inf}", "fleet.stragglers.high: Input should be a finite"),
    ("stop.horizon_s=.inf", "stop.horizon_s: Input should be a finite number"),
])
def test_bad_values_are_refused_wherever_they_appear(edit, message, capsys):
    assert main(["validate", SMOKE, "--set", edit, *data_options()]) == 2
    assert any(message in line for line in errors(capsys)), message


def test_a_latency_of_zero_stays_valid(capsys):
    assert main(["validate", SMOKE, "--set", "fleet.groups.0.overrides={latency_ms: 0}", *data_options()]) == 0


def test_a_taxonomy_file_relative_to_the_scenario_works_from_another_folder(tmp_path):
    folder, elsewhere = tmp_path / "study", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (folder / "tree.txt").write_text("root low\nroot high\nlow 0\nlow 1\nlow 2\nlow 3\nlow 4\n"
                                     "high 5\nhigh 6\nhigh 7\nhigh 8\nhigh 9\n")
    scenario = folder / "flat.yaml"
    scenario.write_text(smoke_text())
    command = [sys.executable, "-m", "edgesim"]
    edits = ["--set", "dataset.taxonomy={kind: edgelist, path: tree.txt}", "--set", "algorithm.name=flat_softmax",
             *QUICK]
    for verb in (["validate"], ["run", "--out", str(tmp_path / "run"), "--quiet"]):
        done = subprocess.run([*command, *verb, str(scenario), *edits], cwd=elsewhere, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    resolved = (tmp_path / "run" / "scenario.yaml").read_text()
    assert f"path: {folder / 'tree.txt'}" in resolved  # absolute: the resolved scenario runs from anywhere


def smoke_text() -> str:
    return (SCENARIOS / "smoke.yaml").read_text()


def test_a_scenario_name_never_chooses_where_files_go(tmp_path, capsys, monkeypatch):
    for name in ("../../escape", "a/b", "..", "a\\b"):
        assert main(["validate", SMOKE, "--set", f"name={name}", *data_options()]) == 2
        assert "name: must not contain / or \\ or be only dots" in errors(capsys)[0]
    monkeypatch.chdir(tmp_path)
    assert main(["run", SMOKE, "--set", "name=IoT home & *test*", "--quiet", "--threads", "1", *QUICK]) == 0
    [run_dir] = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("IoT_home_test-")


@pytest.mark.parametrize("content, message", [
    (b"name: caf\xe9\n", ":1:10: not UTF-8 text (byte 0xe9)"),
    (b"fleet: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nest"),
    (b"- " * 50 + b"x\n", "nested more than 32 levels deep"),
    (textwrap.dedent("""\
        a: &a [x, x, x, x, x, x, x, x, x, x]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
        """).encode(), "aliases expand to more than 100,000 values"),
    (b"\x00\x01\x02\xff" * 100, "not UTF-8 text"),
    (b"name: x\n" + b"# padding\n" * 30_000, "larger than a scenario file may be"),
    (b"fleet: {groups: [{name: " + b"a" * 5000 + b", profile: x, count: 1, network: wifi5}]}\n", "fleet.groups[0]"),
])
def test_any_file_gives_one_line_and_exit_2_within_a_second(tmp_path, content, message, capsys):
    path = tmp_path / "scenario.yaml"
    path.write_bytes(content)
    started = time.monotonic()
    assert main(["validate", str(path)]) == 2
    assert time.monotonic() - started < 1.0
    lines = errors(capsys)
    assert 1 <= len(lines) <= 3 and all(len(line) < 600 for line in lines)
    assert message in lines[0]


def test_a_sweep_edited_and_killed_mid_variant_never_reports_the_old_result(tmp_path):
    """Run a sweep; edit the scenario; resume it into the same --out and kill it mid-variant; resume again."""
    scenario = tmp_path / "study.yaml"
    base = smoke_text() + "sweep: {seeds: [7]}\n"
    scenario.write_text(base.replace("max_rounds: 5", "max_rounds: 2"))
    out = tmp_path / "sweep"
    command = [sys.executable, "-m", "edgesim", "sweep", str(scenario), "--out", str(out), "--threads", "1",
               *data_options()]
    assert subprocess.run(command, capture_output=True, timeout=300).returncode == 0
    old = (out / "run-000" / "scenario.yaml").read_text()
    scenario.write_text(base.replace("max_rounds: 5", "max_rounds: 40"))
    running = subprocess.Popen([*command, "--resume"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not ((out / "run-000" / "events.csv").exists() and _text(out / "run-000" / "scenario.yaml") != old):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    running.kill()
    running.wait()
    assert subprocess.run([*command, "--resume"], capture_output=True, timeout=300).returncode == 0
    summary = json.loads((out / "run-000" / "summary.json").read_text())
    assert summary["rounds"] == 40


def _text(path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None
