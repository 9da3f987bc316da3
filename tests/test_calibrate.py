"""``edgesim calibrate``: the throughput figure is the counted FLOPs over the timed samples, the profile YAML has
the schema's fields, a scenario loads it, the transfer test times a download, and bad options are one line."""

from __future__ import annotations

import http.server
import socket
import statistics
import textwrap
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
import torch

from run_inputs import SCENARIOS, data_options

from edgesim import calibrate as calibrate_module
from edgesim.calibrate import (
    INPUT_SHAPE,
    NAME_MAX,
    NAME_PATTERN,
    NUM_CLASSES,
    SAMPLE_BYTES,
    SEED,
    WINDOWS,
    Host,
    ModelThroughput,
    Window,
    check_models,
    check_name,
    default_name,
    device_profile,
    measure_model,
    measure_transfer,
    out_of_memory,
    profile_yaml,
    total_memory_mb,
)
from edgesim.cli import main
from edgesim.models import ModelConfig, build_model, model_names
from edgesim.models.cost import measure_cost
from edgesim.profiles import DeviceProfile, validate_profiles
from edgesim.yaml_file import parse_yaml

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class FakeClock:
    """Advances ``tick`` seconds at every reading (a power of two, so sums are exact)."""

    def __init__(self, tick: float):
        self.now, self.tick, self.readings = 100.0, tick, 0

    def __call__(self) -> float:
        self.now += self.tick
        self.readings += 1
        return self.now


class _Payload(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/blob":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Payload)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _throughput(model: str, flops: float, *windows: tuple[int, float]) -> ModelThroughput:
    return ModelThroughput(model, flops, tuple(Window(samples, seconds) for samples, seconds in windows))


def _error_lines(err: str) -> int:
    """Lines of errors (a warning that the machine is busy may stand before them)."""
    return sum(not line.startswith("warning:") for line in err.strip().splitlines())


HOST = Host("board", "Cortex-A72", 4, 3792, 4, 0.1)
WHEN = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def test_the_figure_is_counted_flops_times_timed_samples_over_seconds():
    clock, calls = FakeClock(1 / 64), []
    result = measure_model("mlp", batch_size=4, seconds=WINDOWS * 4 / 64, clock=clock,
                           on_window=lambda: calls.append(clock.readings))
    model = build_model(ModelConfig(name="mlp"), INPUT_SHAPE, NUM_CLASSES, seed=SEED)
    flops = measure_cost(model, INPUT_SHAPE).train_flops_per_sample
    assert result.flops_per_sample == flops > 0
    # each window reads the clock at its start and after each of its 4 steps, 1/64 s apart
    assert result.windows == (Window(samples=16, seconds=4 / 64),) * WINDOWS
    assert result.window_gflops() == [flops * 16 / (4 / 64) / 1e9] * WINDOWS
    assert result.gflops == flops * 16 / (4 / 64) / 1e9
    assert calls == [5 + 5 * i for i in range(WINDOWS + 1)]  # after the warm-up (4 steps), then each window


def test_a_window_runs_at_least_one_step_and_the_warm_up_two():
    clock = FakeClock(8.0)  # every step takes longer than the whole calibration
    result = measure_model("mlp", batch_size=3, seconds=1.0, clock=clock)
    assert result.windows == (Window(samples=3, seconds=8.0),) * WINDOWS
    assert clock.readings == 3 + WINDOWS * 2


def test_the_profile_holds_the_median_over_models_and_says_how():
    results = [_throughput("a", 1e6, (1000, 1.0), (2000, 1.0), (3000, 1.0)),  # 1, 2, 3 GFLOP/s
               _throughput("b", 2e6, (5000, 1.0), (5000, 2.0)),  # 10, 5 -> 7.5
               _throughput("c", 1e6, (4000, 1.0))]  # 4
    profile = device_profile(results, HOST, batch_size=10, seconds=2.5, measured_at=WHEN, power_w=None)
    assert [r.gflops for r in results] == [2.0, 7.5, 4.0]
    assert profile.train_gflops == statistics.median([2.0, 7.5, 4.0]) == 4.0
    assert profile.ram_mb == 3792 and profile.power_idle_w == profile.power_active_w == 0
    for words in ("2026-12-01T12:00+00:00", "median over models of a 2, b 7.5, c 4 GFLOP/s", "batch 10",
                  "4 threads on 4 cores", "load average 0.10", "power not measured"):
        assert words in profile.source
    assert profile.description == "board: Cortex-A72, 4 cores, 3792 MB (calibrated)"
    measured = device_profile(results, HOST, 10, 2.5, WHEN, power_w=(2.7, 6.4))
    assert (measured.power_idle_w, measured.power_active_w) == (2.7, 6.4)
    assert "power not measured" not in measured.source


def test_the_yaml_is_one_profile_entry_with_the_per_model_figures_as_comments():
    results = [_throughput("mlp", 6.4e5, (800, 0.1), (900, 0.1))]
    profile = device_profile(results, HOST, 10, 0.5, WHEN, power_w=None)
    text = profile_yaml("my_board", profile, results, None, power_measured=False)
    data = parse_yaml(text, "calibrated.yaml")
    assert list(data) == ["my_board"]
    assert list(data["my_board"]) == list(DeviceProfile.model_fields)
    assert data["my_board"]["ram_mb"] == 3792  # an integer, as in the built-in profiles
    assert validate_profiles(data, DeviceProfile, "calibrated.yaml") == {"my_board": profile}
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert any(line.split()[1:4] == ["mlp", "0.64", "5.44"] for line in comments)  # MFLOP, median GFLOP/s
    assert "# transfer test: skipped (no --endpoint given)" in comments
    assert any("NOT measured" in line for line in comments)


def test_calibrate_writes_a_profile_that_a_scenario_uses(tmp_path, server, capsys):
    out = tmp_path / "board.yaml"
    assert main(["calibrate", "--model", "mlp", "--seconds", "0.5", "--out", str(out), "--name", "my_board",
                 "--endpoint", f"{server}/blob", "--threads", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1] == str(out)
    assert "mlp" in captured.out and "transfer test: GET" in captured.out
    assert "--seconds 0.5: timed windows of 0.1 s are swayed by timer and scheduler noise" in captured.err
    text = out.read_text(encoding="utf-8")
    profile = validate_profiles(parse_yaml(text, str(out)), DeviceProfile, str(out))["my_board"]
    assert profile.train_gflops > 0 and profile.ram_mb == total_memory_mb()
    assert "1 thread on" in profile.source and "mlp " in profile.source
    assert f"# transfer test: GET {server}/blob: 1.05 MB in " in text and " Mbit/s " in text

    # the file pasted as it is under profiles.devices, and a group that uses it
    scenario = tmp_path / "scenario.yaml"
    smoke = (SCENARIOS / "smoke.yaml").read_text(encoding="utf-8")
    assert "profile: raspberry_pi_4" in smoke
    scenario.write_text(smoke.replace("profile: raspberry_pi_4", "profile: my_board")
                        + "profiles:\n  devices:\n" + textwrap.indent(text, "    "), encoding="utf-8")
    assert main(["validate", str(scenario), *data_options()]) == 0
    captured = capsys.readouterr()
    assert "ok: smoke: 8 devices" in captured.out
    assert "my_board gives no power figures (0 W idle and active)" in captured.out  # unmeasured: said so
    assert main(["profiles", str(scenario)]) == 0
    listing = capsys.readouterr().out
    assert any(line.startswith("│ my_board ") and f" {profile.train_gflops:g} " in line
               for line in listing.splitlines())


def test_the_transfer_test_times_the_whole_download(server):
    clock = FakeClock(1 / 64)
    transfer = measure_transfer(f"{server}/blob", clock=clock)
    assert transfer.bytes == len(PAYLOAD)
    assert transfer.first_byte_s == 1 / 64
    assert transfer.seconds == (clock.readings - 2) / 64  # one reading per chunk after the answer
    assert transfer.mbps == len(PAYLOAD) * 8 / transfer.seconds / 1e6


@pytest.mark.parametrize("options, message", [
    (["--model", "mlp", "resnet9"], "error: --model 'resnet9': unknown model; known: " + ", ".join(model_names())),
    (["--seconds", "0"], "error: --seconds 0.0: must be a positive number of seconds"),
    (["--batch-size", "0"], "error: --batch-size 0: must be at least 1"),
    (["--power-idle-w", "2"], "error: --power-idle-w and --power-active-w: give both or neither"),
    (["--power-idle-w", "5", "--power-active-w", "2"], "active at least idle"),
    (["--endpoint", "ftp://example.org/x"], "give an http:// or https:// URL"),
    (["--endpoint", "http://[::1"], "error: --endpoint 'http://[::1': not a URL (Invalid IPv6 URL)"),
    (["--name", "../escape"], (f"error: --name '../escape': a profile name is 1 to {NAME_MAX} letters, digits, "
                               f"_, . and - ({NAME_PATTERN}); use --out to choose where the file goes")),
    (["--name", "my box/1"], f"({NAME_PATTERN})"),
    (["--name", ""], f"({NAME_PATTERN})"),
    (["--name", "a" * (NAME_MAX + 1)], f"1 to {NAME_MAX} letters"),
    (["--batch-size", "1000000000000"], ("error: --batch-size 1000000000000: its 1x28x28 inputs alone take "
                                         f"{10**12 * SAMPLE_BYTES / 2**20:,.0f} MiB, more than this machine's")),
])
def test_bad_options_are_one_line_and_exit_2(tmp_path, capsys, options, message):
    assert main(["calibrate", "--out", str(tmp_path / "p.yaml"), *options]) == 2
    err = capsys.readouterr().err
    assert message in err and _error_lines(err) == 1 and "Traceback" not in err
    assert not (tmp_path / "p.yaml").exists()


def test_an_unwritable_out_is_refused_before_measuring(tmp_path, capsys):
    assert main(["calibrate", "--out", str(tmp_path / "missing" / "p.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["calibrate", "--out", str(tmp_path)]) == 2
    assert "a directory; give a file name" in capsys.readouterr().err
    if Path("/proc/self").is_dir():  # a folder no file can be created in, even by root
        assert main(["calibrate", "--out", "/proc/p.yaml"]) == 2
        assert "error: --out /proc/p.yaml: cannot write it: " in capsys.readouterr().err


def test_an_endpoint_that_does_not_answer_is_one_line(tmp_path, server, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    for url, words in ((f"http://127.0.0.1:{closed}/", "cannot download it"), (f"{server}/nothing", "404")):
        assert main(["calibrate", "--model", "mlp", "--out", str(tmp_path / "p.yaml"), "--endpoint", url]) == 2
        err = capsys.readouterr().err
        assert words in err and _error_lines(err) == 1 and "Traceback" not in err


def test_models_default_to_every_registered_one_in_order_without_repeats():
    assert check_models(None) == model_names()
    assert check_models(["mlp", "conv4", "mlp"]) == ["mlp", "conv4"]


def test_a_name_that_is_a_path_writes_nothing_outside_the_folder(tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "sub").mkdir()
    for name in ("../escape", "sub/escape", "..\\escape", "my box"):
        assert main(["calibrate", "--model", "mlp", "--seconds", "0.05", "--name", name]) == 2
        assert "a profile name is" in capsys.readouterr().err
    assert list(tmp_path.rglob("*.yaml")) == []


def test_the_default_name_is_a_valid_profile_name(monkeypatch):
    assert check_name(None) == default_name()
    assert check_name("my_pi.4") == "my_pi.4"
    monkeypatch.setattr(calibrate_module.socket, "gethostname", lambda: "Rack-7." + "node" * 30)
    name = default_name()
    assert name.startswith("calibrated_rack_7_node") and len(name) <= NAME_MAX
    assert check_name(None) == name


@pytest.mark.parametrize("error", [
    RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you "
                 "tried to allocate 313600000000 bytes. Error code 12 (Cannot allocate memory)"),
    torch.OutOfMemoryError("out of memory"),
    MemoryError(),
])
def test_running_out_of_memory_while_measuring_is_one_line(tmp_path, monkeypatch, capsys, error):
    def measure(*args, **kwargs):
        raise error

    monkeypatch.setattr(calibrate_module, "measure_model", measure)
    assert main(["calibrate", "--model", "conv4", "--batch-size", "4096", "--out", str(tmp_path / "p.yaml")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()  # the progress bar as it stopped stands above
    assert lines[-1] == ("error: --batch-size 4096: does not fit in this machine's memory for model 'conv4'; try a "
                         "smaller --batch-size")
    assert sum(line.startswith("error:") for line in lines) == 1 and "Traceback" not in "\n".join(lines)
    assert not (tmp_path / "p.yaml").exists()


def test_other_runtime_errors_are_not_taken_for_running_out_of_memory():
    assert out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory"))
    assert not out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert not out_of_memory(ValueError("out of memory"))


def test_an_endpoint_that_cannot_be_fetched_is_reported_before_measuring(tmp_path, monkeypatch, capsys):
    measured = []
    monkeypatch.setattr(calibrate_module, "measure_model", lambda *args, **kwargs: measured.append(args))
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert main(["calibrate", "--model", "mlp", "--out", str(tmp_path / "p.yaml"),
                 "--endpoint", f"http://127.0.0.1:{closed}/"]) == 2
    assert "cannot download it" in capsys.readouterr().err
    assert measured == [] and not (tmp_path / "p.yaml").exists()
