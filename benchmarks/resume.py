"""What crash safety costs: checkpoints during a run, and the replay a resumed run spends to reach its checkpoint.

Three whole ``edgesim run`` processes of ``scenarios/iot_home.yaml`` (``--quick``: the smoke scenario for 20
rounds) on one torch thread: checkpoints off, checkpoints at every evaluation (the default), and one
killed with SIGKILL halfway through its rounds and then resumed with ``--resume``. Rows:

- checkpoint writing / the run's wall time, with a checkpoint at every evaluation (``summary.json``'s
  ``checkpoints.write_s`` over ``wall_time_s``; the note gives the whole-run times with and without
  checkpoints, whose difference is mostly the machine's noise);
- the resumed run's replay / the uninterrupted run's wall time: the clock replayed from time 0 to the
  checkpoint, with training skipped (``checkpoints.replay_s``);
- both sessions of the killed run / the uninterrupted run: the work lost after the last checkpoint,
  the second start-up and the replay together (whole-process wall times).

The note says whether the resumed run's tables equal the uninterrupted run's byte for byte.

Run alone: ``.venv/bin/python benchmarks/resume.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHECKPOINT_TARGET, REPLAY_TARGET, KILLED_TARGET = 0.02, 0.05, 1.6


def edgesim(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edgesim", *args], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def timed_run(*args: str) -> float:
    started = time.perf_counter()
    if edgesim(*args).wait() != 0:
        raise RuntimeError(f"edgesim {' '.join(args)} failed")
    return time.perf_counter() - started


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def metrics_rows(run_dir: Path) -> int:
    path = run_dir / "metrics.csv"
    return path.read_text().count("\n") - 1 if path.exists() else 0


def run(quick: bool = False) -> list[dict]:
    scenario = ["scenarios/smoke.yaml", "--set", "stop.max_rounds=20"] if quick else ["scenarios/iot_home.yaml"]
    common = [*scenario, "--threads", "1", "--quiet"]
    with tempfile.TemporaryDirectory(prefix="edgesim-resume-") as tmp:
        off, on, killed = Path(tmp) / "off", Path(tmp) / "on", Path(tmp) / "killed"
        timed_run("run", *common, "--out", str(off), "--checkpoint-every", "off")
        whole = timed_run("run", *common, "--out", str(on))
        rounds = summary(on)["rounds"]
        started = time.perf_counter()
        process = edgesim("run", *common, "--out", str(killed))
        while metrics_rows(killed) < rounds // 2 and process.poll() is None:
            time.sleep(0.05)
        process.kill()
        process.wait()
        first = time.perf_counter() - started
        second = timed_run("run", "--resume", str(killed), "--quiet")
        same = all((killed / name).read_bytes() == (on / name).read_bytes()
                   for name in ("events.csv", "metrics.csv", "scenario.yaml"))
        with_checkpoints, without = summary(on), summary(off)
        resumed = summary(killed)
    label = "smoke, 20 rounds" if quick else f"iot_home, {rounds} rounds"
    ratios = [
        (f"checkpoint writing / the run's wall time, a checkpoint at every evaluation ({label})",
         with_checkpoints["checkpoints"]["write_s"] / with_checkpoints["wall_time_s"], CHECKPOINT_TARGET,
         f"{with_checkpoints['checkpoints']['taken']} checkpoints took {with_checkpoints['checkpoints']['write_s']} s "
         f"of {with_checkpoints['wall_time_s']} s; the same run without checkpoints took {without['wall_time_s']} s"),
        (f"replay to the checkpoint / uninterrupted run ({label}), wall", resumed["checkpoints"]["replay_s"]
         / with_checkpoints["wall_time_s"], REPLAY_TARGET,
         f"replayed {resumed['checkpoints']['replay_s']} s; tables equal to the uninterrupted run's: {same}"),
        (f"killed halfway and resumed / uninterrupted ({label}), whole-process wall", (first + second) / whole,
         KILLED_TARGET, f"{first:.1f} s until the kill + {second:.1f} s resumed, against {whole:.1f} s"),
    ]
    return [{"benchmark": "resume", "metric": metric, "value": value, "target": f"<= {target:g}",
             "ok": bool(value <= target) and same, "note": note} for metric, value, target, note in ratios]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    for r in run(parser.parse_args().quick):
        print(f"{r['metric']}: {r['value']:.3g} (target {r['target']}) — {r['note']}")
