"""Fault injection on real processes: kill -9 and resume, SIGTERM, Ctrl-C on a sweep, a dying sweep driver,
two processes on one run directory, and output that cannot be written (read-only, file too large, disk full).

Every run here is ``edgesim`` in a child process on the smoke fleet, on one torch thread, so that the
tables of an interrupted-and-resumed run can be compared byte for byte with an uninterrupted one.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from run_inputs import SCENARIOS, data_options

SMOKE = [str(SCENARIOS / "smoke.yaml"), "--threads", "1", *data_options()]
SYNC = [*SMOKE, "--quiet", "--set", "stop.max_rounds=12"]
ASYNC = [*SMOKE, "--quiet", "--set", "algorithm={name: akafl_rj, k: 3, eps_k: 2.0, remodel_staleness: 2}",
         "--set", "dataset.validation_size=300", "--set", "stop.max_rounds=240",
         "--set", "evaluation.every_rounds=20"]
POWER_OF_CHOICE = [*SYNC, "--set", "server.selection={kind: power_of_choice, candidates: 2}"]
BUFFERED = [*SMOKE, "--quiet", "--set", "algorithm={name: fedbuff, k: 3}", "--set", "server.protocol={kind: buffered, "
            "concurrency: 5}", "--set", "stop.max_rounds=40", "--set", "evaluation.every_rounds=10"]
TABLES = ("events.csv", "metrics.csv", "scenario.yaml")


def edgesim(*args: str, prefix: tuple[str, ...] = (), limit_file_bytes: int | None = None) -> subprocess.Popen:
    """``edgesim ARGS`` in a child process of its own process group (as a terminal's foreground job), with
    Ctrl-C (SIGINT) at its default."""
    def child_setup():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if limit_file_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_bytes, limit_file_bytes))

    return subprocess.Popen([*prefix, sys.executable, "-m", "edgesim", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=child_setup, start_new_session=True)


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    _, err = process.communicate(timeout=timeout)
    return process.returncode, err


def wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def complete_lines(path: Path) -> int:
    """Rows of a table, after checking each is whole (ends in a newline, has the header's column count)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if not text:
        return 0
    assert text.endswith("\n"), f"{path.name}: unfinished last row"
    header, *rows = list(csv.reader(text.splitlines()))
    assert all(len(row) == len(header) for row in rows), f"{path.name}: a row with the wrong column count"
    return len(rows)


def metrics_rows(run_dir: Path) -> int:
    path = run_dir / "metrics.csv"
    return path.read_text(encoding="utf-8").count("\n") - 1 if path.exists() else 0


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, Path]:
    """Uninterrupted runs to compare against."""
    root = tmp_path_factory.mktemp("reference")
    runs = {"sync": (root / "sync", SYNC), "async": (root / "async", ASYNC),
            "power_of_choice": (root / "power_of_choice", POWER_OF_CHOICE), "buffered": (root / "buffered", BUFFERED)}
    started = [edgesim("run", *args, "--out", str(run_dir)) for run_dir, args in runs.values()]  # side by side
    for process in started:
        code, err = finish(process)
        assert code == 0, err
    return {name: run_dir for name, (run_dir, _) in runs.items()}


def assert_same_tables(run_dir: Path, reference_dir: Path) -> None:
    for name in TABLES:
        assert (run_dir / name).read_bytes() == (reference_dir / name).read_bytes(), name


def kill_9_after(args: list[str], run_dir: Path, rows: int) -> None:
    """Start ``edgesim run ARGS --out RUN_DIR`` and kill -9 it once ``metrics.csv`` has ``rows`` rows."""
    process = edgesim("run", *args, "--out", str(run_dir))
    wait_until(lambda: (run_dir / "events.csv").exists() and metrics_rows(run_dir) >= rows)
    process.kill()
    process.wait()


def resume(run_dir: Path) -> None:
    code, err = finish(edgesim("run", "--resume", str(run_dir), "--quiet"))
    assert code == 0, err


@pytest.mark.parametrize("kill_after_rows", [0, 4, 9])
def test_kill_9_at_any_moment_then_resume_gives_the_uninterrupted_tables(tmp_path, reference, kill_after_rows):
    run_dir = tmp_path / "run"
    kill_9_after(SYNC, run_dir, kill_after_rows)
    assert not (run_dir / "summary.json").exists()
    complete_lines(run_dir / "events.csv")
    complete_lines(run_dir / "metrics.csv")
    resume(run_dir)
    assert_same_tables(run_dir, reference["sync"])
    assert summary(run_dir)["status"] == "completed" and not (run_dir / "checkpoint").exists()


def test_kill_9_then_resume_of_a_run_selecting_by_loss_replays_its_selections(tmp_path, reference):
    run_dir = tmp_path / "run"
    kill_9_after(POWER_OF_CHOICE, run_dir, 6)
    resume(run_dir)
    assert_same_tables(run_dir, reference["power_of_choice"])
    assert (run_dir / "events.csv").read_bytes() != (reference["sync"] / "events.csv").read_bytes()


def test_kill_9_then_resume_of_a_k_async_run_with_judgement(tmp_path, reference):
    run_dir = tmp_path / "run"
    kill_9_after(ASYNC, run_dir, 130)
    assert (run_dir / "checkpoint" / "parts").is_dir()  # model versions clients still hold
    resume(run_dir)
    assert_same_tables(run_dir, reference["async"])


def test_kill_9_then_resume_of_a_buffered_run_drawing_who_starts(tmp_path, reference):
    run_dir = tmp_path / "run"
    kill_9_after(BUFFERED, run_dir, 15)
    resume(run_dir)
    assert_same_tables(run_dir, reference["buffered"])


def test_sigterm_flushes_the_tables_writes_an_interrupted_summary_and_exits_143(tmp_path, reference):
    run_dir = tmp_path / "run"
    process = edgesim("run", *SYNC, "--out", str(run_dir))
    wait_until(lambda: metrics_rows(run_dir) >= 5)
    process.send_signal(signal.SIGTERM)
    code, err = finish(process, timeout=30)
    assert code == 143 and "--resume" in err and "Traceback" not in err
    stopped = summary(run_dir)
    assert stopped["status"] == "interrupted" and stopped["reason"] == "stopped by SIGTERM"
    assert complete_lines(run_dir / "metrics.csv") == stopped["rounds"]  # every finished round's row is there
    code, err = finish(edgesim("run", "--resume", str(run_dir), "--quiet"))
    assert code == 0, err
    assert_same_tables(run_dir, reference["sync"])


def test_sigterm_on_a_parquet_run_says_to_run_it_again_not_to_resume(tmp_path):
    run_dir = tmp_path / "run"
    process = edgesim("run", *SYNC, "--set", "output.events=parquet", "--out", str(run_dir))
    wait_until(lambda: metrics_rows(run_dir) >= 3)
    process.send_signal(signal.SIGTERM)
    code, err = finish(process, timeout=30)
    assert code == 143 and "Traceback" not in err
    assert "--resume" not in err and f"--out {run_dir} --overwrite" in err
    assert summary(run_dir)["status"] == "interrupted"


def sweep_args(out: Path) -> list[str]:
    return ["sweep", *SMOKE, "--set", "stop.max_rounds=12", "--set", "sweep={seeds: [7, 8, 9]}",
            "--workers", "2", "--out", str(out)]


def children(pid: int) -> list[int]:
    """The sweep workers (spawned multiprocessing children) of process ``pid``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid and b"spawn_main" in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_a_sweep_stops_its_workers_and_records_each_variants_state(tmp_path, reference, stop):
    out = tmp_path / "sweep"
    process = edgesim(*sweep_args(out), "--threads", "1")
    wait_until(lambda: metrics_rows(out / "run-000") >= 3 and metrics_rows(out / "run-001") >= 3)
    workers = children(process.pid)
    assert len(workers) == 2
    started = time.monotonic()
    if stop == signal.SIGINT:
        os.killpg(process.pid, signal.SIGINT)  # a terminal sends Ctrl-C to the whole foreground group
    else:
        process.send_signal(stop)  # kill PID: the driver alone
    code, err = finish(process, timeout=60)
    assert code == 128 + stop and "--resume" in err
    wait_until(lambda: not any(alive(pid) for pid in workers), timeout=10)
    assert time.monotonic() - started < 15
    with open(out / "sweep.csv", newline="") as handle:
        states = [row["status"] for row in csv.DictReader(handle)]
    # the two under way were stopped (one may have finished just before); the third never started
    assert "interrupted" in states[:2] and set(states[:2]) <= {"interrupted", "completed"}
    assert states[2] == "pending" and not (out / "run-002").exists()
    assert "summary.md its finished runs so far" in err and " not finished)" in (out / "summary.md").read_text()
    for run_dir, state in zip(("run-000", "run-001"), states):
        assert summary(out / run_dir)["status"] == state
        if state == "interrupted":  # named by the signal the driver got, not the SIGTERM it sent its workers
            assert summary(out / run_dir)["reason"] == f"stopped by {stop.name}"
        assert (out / run_dir / "checkpoint").exists() == (state == "interrupted")
    code, err = finish(edgesim(*sweep_args(out), "--threads", "1", "--resume"))
    assert code == 0, err
    assert f"resuming {states.count('interrupted')} interrupted variant" in err
    assert_same_tables(out / "run-000", reference["sync"])


def test_the_workers_of_a_sweep_whose_driver_is_killed_stop_too(tmp_path):
    out = tmp_path / "sweep"
    process = edgesim(*sweep_args(out), "--threads", "1")
    wait_until(lambda: metrics_rows(out / "run-000") >= 2)
    workers = children(process.pid)
    process.kill()
    process.wait()
    wait_until(lambda: not any(alive(pid) for pid in workers), timeout=10)
    written = {path: path.stat().st_mtime_ns for path in out.rglob("*") if path.is_file()}
    time.sleep(1.5)
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*") if path.is_file()} == written


def test_a_second_process_cannot_write_a_run_directory_in_use(tmp_path):
    run_dir = tmp_path / "run"
    first = edgesim("run", *SYNC, "--set", "stop.max_rounds=200", "--out", str(run_dir))
    try:
        wait_until(lambda: (run_dir / "events.csv").exists())
        for extra in ([], ["--overwrite"]):
            code, err = finish(edgesim("run", *SYNC, "--out", str(run_dir), *extra))
            assert code == 2 and len(err.strip().splitlines()) == 1, err
            assert f"another edgesim process (pid {first.pid})" in err
        code, err = finish(edgesim("run", "--resume", str(run_dir), "--quiet"))
        assert code == 2 and "another edgesim process" in err
    finally:
        first.kill()
        first.wait()


def test_a_non_empty_out_is_refused_unless_resumed_or_overwritten(tmp_path, reference):
    run_dir = tmp_path / "run"
    shutil.copytree(reference["sync"], run_dir)
    code, err = finish(edgesim("run", *SYNC, "--out", str(run_dir)))
    assert code == 2 and "holds a completed run of 'smoke'" in err and len(err.strip().splitlines()) == 1
    code, err = finish(edgesim("run", "--resume", str(run_dir)))
    assert code == 2 and "the run already ended (completed)" in err
    code, err = finish(edgesim("run", *SYNC, "--out", str(run_dir), "--overwrite"))
    assert code == 0, err
    assert_same_tables(run_dir, reference["sync"])


def namespace(setup: str) -> tuple[str, ...]:
    """A command prefix running the command in a user and mount namespace after ``setup`` (shell), or a skip
    where this machine has none."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        pytest.skip("needs user namespaces (unshare -rm) to make a read-only or full file system")
    return ("unshare", "-rm", "sh", "-c", f'{setup} && exec "$@"', "sh")


def one_error_line(err: str, *expected: str) -> None:
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("error: ") and "Traceback" not in err, err
    assert all(text in lines[-1] for text in expected), lines[-1]


def test_a_read_only_out_is_one_line_and_exit_2(tmp_path):
    folder = tmp_path / "ro"
    (folder / "empty").mkdir(parents=True)
    prefix = namespace(f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}")
    for out in (folder / "new", folder / "empty"):
        started = time.monotonic()
        code, err = finish(edgesim("run", *SYNC, "--out", str(out), prefix=prefix))
        assert code == 2 and time.monotonic() - started < 30
        one_error_line(err, str(out), "Read-only file system")


def test_a_full_disk_stops_the_run_with_one_line_and_keeps_what_was_written(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    prefix = namespace(f"mount -t tmpfs -o size=24k tmpfs {disk}")
    code, err = finish(edgesim("run", *SYNC, "--out", str(disk / "run"), "--checkpoint-every", "off",
                               prefix=prefix))
    assert code == 2
    one_error_line(err, "No space left on device")


def test_a_file_over_the_size_limit_stops_the_run_with_one_line_and_keeps_whole_rows(tmp_path):
    run_dir = tmp_path / "run"  # the round-0 checkpoint (27 kB) fits, the events of 30 rounds (54 kB) do not
    code, err = finish(edgesim("run", *SYNC, "--set", "stop.max_rounds=30", "--out", str(run_dir),
                               "--checkpoint-every", "off", limit_file_bytes=40_000))
    assert code == 2
    one_error_line(err, "events.csv", "File too large")
    assert complete_lines(run_dir / "metrics.csv") >= 1 and complete_lines(run_dir / "events.csv") >= 1
    assert summary(run_dir)["status"] == "failed"
