"""edgesim vs Flower's simulation engine vs a bare PyTorch loop: FedAvg on MNIST, whole processes.

The workload: 100 clients holding 2 classes x 20 MNIST images, 10 a round, the WKAFL CNN, one
local epoch of SGD (batch 10), 30 rounds, then a 1,000-image test subset and the full test set.
Three processes, each timed from start to exit with the peak memory of its process tree:

- edgesim: ``edgesim run benchmarks/fedavg_mnist.yaml --threads T --quiet`` (ideal network, so only
  training counts), started through a two-line wrapper that timestamps each round;
- bare: ``benchmarks/flower_app.py bare``, plain PyTorch (numpy + torch, no framework);
- Flower: ``benchmarks/flower_app.py flower`` in its own venv (``benchmarks/.flower-venv``, created
  here on first use: flwr[simulation] 1.42.0, which pins ray 2.55.1, and torch 2.13.0), the same
  model and training code as the bare loop in Flower's simulation engine (``run_simulation``, Ray
  backend, ``--actors`` CPUs for Ray, one client each; default 1: the same CPU budget as the others).

Each gets T torch threads (default 1). Runs are interleaved (the order rotates each repeat); a
ratio is the median over repeats of the ratio within a repeat. Memory is the largest sampled
(every 50 ms) sum of the resident set sizes of the process, its descendants and anything else in
its session (Ray starts daemons), read from /proc. Steady-state time per round: from the end of
round 5 to the end of the last round, divided by the rounds in between.

Run alone: ``.venv/bin/python benchmarks/flower_compare.py [--quick] [--repeats N] [--actors N]``.
If Flower cannot be installed, its columns are reported as skipped, with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FLOWER_VENV = HERE / ".flower-venv"
FLOWER_PYTHON = FLOWER_VENV / "bin" / "python"
FLWR, RAY, TORCH = "1.42.0", "2.55.1", "2.13.0"
SCENARIO = HERE / "fedavg_mnist.yaml"
STEADY_FROM = 5
PAGE = os.sysconf("SC_PAGE_SIZE")
INSTALL_TIMEOUT_S, RUN_TIMEOUT_S = 1800, 1800


def row(metric, value, target, note):
    ok = None if value is None or target is None else bool(value <= target)
    return {"benchmark": "flower_compare", "metric": metric, "value": value,
            "target": None if target is None else f"<= {target:g}", "ok": ok, "note": note}


def data_dir() -> Path:
    return Path(os.environ.get("EDGESIM_DATA") or Path.home() / ".cache" / "edgesim" / "data")


# --- the Flower environment ---

def _flower_works() -> str | None:
    """The installed versions, or None when the venv cannot import flwr, ray and torch."""
    if not FLOWER_PYTHON.exists():
        return None
    probe = "import flwr, ray, torch; print(flwr.__version__, ray.__version__, torch.__version__)"
    done = subprocess.run([str(FLOWER_PYTHON), "-c", probe], capture_output=True, text=True, timeout=300)
    return done.stdout.strip() if done.returncode == 0 else None


def _pip(*args: str, log) -> bool:
    done = subprocess.run([str(FLOWER_PYTHON), "-m", "pip", "install", "--quiet", *args], capture_output=True,
                          text=True, timeout=INSTALL_TIMEOUT_S)
    log(done.stdout[-2000:] + done.stderr[-4000:])
    return done.returncode == 0


def ensure_flower(log=lambda text: None) -> tuple[bool, str]:
    """(ready, what happened). Creates benchmarks/.flower-venv and installs Flower on first use."""
    versions = _flower_works()
    if versions:
        return True, f"flwr/ray/torch {versions.replace(' ', '/')}"
    started = time.perf_counter()
    try:
        if not FLOWER_PYTHON.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(FLOWER_VENV)], check=True, timeout=300)
        how = "as asked"
        if not _pip(f"flwr[simulation]=={FLWR}", f"torch=={TORCH}", log=log):
            # flwr 1.42.0 asks for certifi>=2026.10.19, which a package index frozen a day earlier lacks.
            # certifi only carries CA certificates (never used by a local simulation): install flwr's
            # own requirements with that one lower bound dropped, then flwr itself without resolution.
            how = _install_relaxing_certifi(log)
            if how is None:
                return False, f"pip could not install flwr[simulation]=={FLWR}"
    except (subprocess.SubprocessError, OSError) as exc:
        return False, f"installing Flower failed: {exc}"
    versions = _flower_works()
    if not versions:
        return False, "Flower installed but `import flwr, ray, torch` fails in benchmarks/.flower-venv"
    return True, (f"flwr/ray/torch {versions.replace(' ', '/')}, installed now in "
                  f"{time.perf_counter() - started:.0f} s ({how})")


def _install_relaxing_certifi(log) -> str | None:
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([str(FLOWER_PYTHON), "-m", "pip", "download", "--quiet", "--no-deps",
                               f"flwr=={FLWR}", "-d", tmp], capture_output=True, text=True, timeout=600)
        wheels = list(Path(tmp).glob("flwr-*.whl"))
        if done.returncode or not wheels:
            log(done.stderr[-2000:])
            return None
        with zipfile.ZipFile(wheels[0]) as wheel:
            metadata = wheel.read(f"flwr-{FLWR}.dist-info/METADATA").decode()
        requirements = [line.split(":", 1)[1].split(";")[0].strip() for line in metadata.splitlines()
                        if line.startswith("Requires-Dist:") and "extra ==" not in line]
        relaxed = ["certifi" if r.replace(" ", "").startswith("certifi") else r for r in requirements]
        if not _pip(*relaxed, f"ray=={RAY}", f"torch=={TORCH}", log=log):
            return None
        if not _pip("--no-deps", str(wheels[0]), log=log):
            return None
    return "flwr's certifi>=2026.10.19 relaxed to the newest certifi the index has; everything else as pinned"


# --- running one process and watching it ---

def _tree_rss(root: int, session: int) -> int:
    """Bytes resident in ``root``, its descendants and the rest of its session."""
    parents, sessions = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)], sessions[int(entry)] = int(fields[1]), int(fields[3])
    members = {pid for pid, sid in sessions.items() if sid == session}
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        members.add(pid)
        frontier += [child for child, parent in parents.items() if parent == pid and child not in members]
    total = 0
    for pid in members:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except OSError:
            pass
    return total


def run_process(cmd: list[str], env: dict, log_path: Path) -> dict:
    """Run ``cmd`` in its own session; wall time, peak tree memory, round timestamps, RESULT line."""
    rounds, result, peak = {}, None, 0
    started = time.time()
    with open(log_path, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=ROOT,
                                start_new_session=True)
        stop = threading.Event()

        def sample():
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _tree_rss(proc.pid, proc.pid))
                stop.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        deadline = threading.Timer(RUN_TIMEOUT_S, proc.kill)
        deadline.start()
        for line in proc.stdout:
            if line.startswith("ROUND "):
                _, k, stamp = line.split()
                rounds[int(k)] = float(stamp)
            elif line.startswith("RESULT "):
                result = json.loads(line[len("RESULT "):])
        code = proc.wait()
        wall = time.time() - started
        deadline.cancel()
        stop.set()
        sampler.join()
    _kill_session(proc.pid)
    last = max(rounds, default=0)
    steady = ((rounds[last] - rounds[STEADY_FROM]) / (last - STEADY_FROM)
              if STEADY_FROM in rounds and last > STEADY_FROM else None)
    return {"code": code, "wall_s": wall, "peak_bytes": peak, "steady_s": steady, "rounds": last,
            "result": result, "log": str(log_path)}


def _kill_session(session: int) -> None:
    """Stop whatever the run left behind in its own session (Ray daemons), by process id."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[3]) == session:
                        os.kill(int(entry), 9)
            except (OSError, ValueError, IndexError):
                pass


def commands(rounds: int, threads: int, actors: int, out: Path) -> dict[str, list[str]]:
    data = str(data_dir())
    common = ["--data", data, "--rounds", str(rounds), "--threads", str(threads)]
    return {
        "edgesim": [sys.executable, str(Path(__file__).resolve()), "--child-edgesim", str(SCENARIO), str(out / "run"),
                    "--rounds", str(rounds), "--threads", str(threads)],
        "bare": [sys.executable, str(HERE / "flower_app.py"), "bare", *common],
        "flower": [str(FLOWER_PYTHON), str(HERE / "flower_app.py"), "flower", *common, "--actors", str(actors)],
    }


def child_edgesim(scenario: str, out: str, rounds: int, threads: int) -> int:
    """``edgesim run`` with a timestamp after each round (the only addition)."""
    from edgesim.cli import main as edgesim_main
    from edgesim.fl.fedavg import FedAvg

    plain = FedAvg.aggregate

    def timed(self, aggregation):
        if aggregation.round == 1:
            print(f"ROUND 0 {time.time():.6f}", flush=True)
        decision = plain(self, aggregation)
        print(f"ROUND {aggregation.round} {time.time():.6f}", flush=True)
        return decision

    FedAvg.aggregate = timed
    shutil.rmtree(out, ignore_errors=True)
    code = edgesim_main(["run", scenario, "--out", out, "--threads", str(threads), "--quiet",
                         "--set", f"stop.max_rounds={rounds}", "--set", f"evaluation.every_rounds={rounds}"])
    summary = json.loads((Path(out) / "summary.json").read_text())
    print("RESULT " + json.dumps({"accuracy": summary.get("final_accuracy")}), flush=True)
    return code


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _ratio(runs, a, b, key):
    pairs = [r[a][key] / r[b][key] for r in runs if a in r and b in r and r[a].get(key) and r[b].get(key)]
    return round(statistics.median(pairs), 3) if pairs else None


def run(quick: bool = False, repeats: int | None = None, actors: int = 1, threads: int | None = None,
        log=print) -> list[dict]:
    """The comparison rows; ``quick``: 10 rounds, one repeat."""
    import torch

    threads = threads or torch.get_num_threads()
    rounds = 10 if quick else 30
    repeats = repeats or (1 if quick else 3)
    if [name for name in ("train", "t10k") for kind in ("images", "labels")
            if not (data_dir() / "mnist" / f"{name}-{kind}-idx{3 if kind == 'images' else 1}-ubyte.gz").exists()]:
        return [row("edgesim / bare PyTorch, whole-process wall", None, 1.15,
                    f"skipped: the MNIST files are not in {data_dir()}/mnist (set EDGESIM_DATA)")]
    pip_output: list[str] = []
    flower_ok, flower_note = ensure_flower(log=pip_output.append)
    if not flower_ok and pip_output:
        flower_note += "; pip said: " + " ".join(pip_output[-1].split())[-600:]
    if not flower_ok:
        log(f"Flower is not available: {flower_note}; its columns are skipped")
    load_before = "/".join(f"{v:.1f}" for v in os.getloadavg())
    runs = []
    with tempfile.TemporaryDirectory(prefix="edgesim-flower-") as tmp:
        out = Path(tmp)
        cmds = commands(rounds, threads, actors, out)
        names = ["edgesim", "bare"] + (["flower"] if flower_ok else [])
        env = {**os.environ, "EDGESIM_DATA": str(data_dir()), "OMP_NUM_THREADS": str(threads),
               "PYTHONUNBUFFERED": "1"}
        for rep in range(repeats):
            measured = {}
            for name in names[rep % len(names):] + names[:rep % len(names)]:
                result = run_process(cmds[name], env, out / f"{name}-{rep}.log")
                if result["code"] != 0 or result["rounds"] != rounds:
                    tail = Path(result["log"]).read_text()[-1500:]
                    log(f"{name} failed (exit {result['code']}, {result['rounds']} rounds):\n{tail}")
                    if name == "flower":
                        flower_note += f"; run {rep + 1} failed (exit {result['code']})"
                    continue
                measured[name] = result
                log(f"  {name}: {result['wall_s']:.1f} s, {result['steady_s'] or float('nan'):.3f} s/round, "
                    f"{result['peak_bytes'] / 2**20:.0f} MiB, accuracy {(result['result'] or {}).get('accuracy')}")
            runs.append(measured)
    load_after = "/".join(f"{v:.1f}" for v in os.getloadavg())

    def summary(name):
        got = [r[name] for r in runs if name in r]
        if not got:
            return "no successful run"
        accuracies = ", ".join(f"{(g['result'] or {}).get('accuracy')}" for g in got)
        return (f"{name} {_median(g['wall_s'] for g in got):.1f} s, {_median(g['steady_s'] for g in got):.3f} s/round, "
                f"{_median(g['peak_bytes'] for g in got) / 2**20:.0f} MiB (medians), final accuracy {accuracies}")

    setting = (f"{rounds} rounds, {repeats} interleaved repeat(s), {threads} torch thread(s); "
               f"Flower: {actors} Ray CPU(s); load average {load_before} -> {load_after}")
    rows = [
        row("edgesim / bare PyTorch, whole-process wall", _ratio(runs, "edgesim", "bare", "wall_s"), 1.15,
            f"{summary('edgesim')}; {summary('bare')}; {setting}"),
        row("edgesim / bare PyTorch, steady-state time per round", _ratio(runs, "edgesim", "bare", "steady_s"), None,
            f"rounds {STEADY_FROM + 1}-{rounds}"),
    ]
    if flower_ok and any("flower" in r for r in runs):
        rows += [
            row("edgesim / Flower, whole-process wall", _ratio(runs, "edgesim", "flower", "wall_s"), 0.5,
                f"{summary('flower')}; {flower_note}"),
            row("edgesim / Flower, steady-state time per round", _ratio(runs, "edgesim", "flower", "steady_s"), None, ""),
            row("edgesim / Flower, peak memory of the process tree", _ratio(runs, "edgesim", "flower", "peak_bytes"),
                0.5, "sum of RSS over the process, its descendants and its session, sampled every 50 ms"),
            row("Flower / bare PyTorch, whole-process wall", _ratio(runs, "flower", "bare", "wall_s"), None,
                "for reference (measured earlier with plain scripts: 2.45)"),
            row("Flower / bare PyTorch, steady-state time per round", _ratio(runs, "flower", "bare", "steady_s"), None,
                "for reference (earlier: 1.67)"),
            row("Flower / bare PyTorch, peak memory", _ratio(runs, "flower", "bare", "peak_bytes"), None,
                "for reference (earlier: 3.8)"),
        ]
    else:
        rows.append(row("edgesim / Flower, whole-process wall", None, 0.5, f"skipped: {flower_note}"))
    return rows


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child-edgesim":
        parser = argparse.ArgumentParser()
        parser.add_argument("scenario")
        parser.add_argument("out")
        parser.add_argument("--rounds", type=int, required=True)
        parser.add_argument("--threads", type=int, required=True)
        args = parser.parse_args(argv[1:])
        sys.exit(child_edgesim(args.scenario, args.out, args.rounds, args.threads))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 rounds, one repeat")
    parser.add_argument("--repeats", type=int, help="interleaved repeats (default 3, quick 1)")
    parser.add_argument("--actors", type=int, default=1, help="CPUs Ray gives Flower's clients (default 1)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in every process (default 1)")
    args = parser.parse_args(argv)
    for r in run(args.quick, args.repeats, args.actors, args.threads):
        print(f"{r['metric']}: {r['value']} (target {r['target']}, ok={r['ok']})\n    {r['note']}")


if __name__ == "__main__":
    main()
