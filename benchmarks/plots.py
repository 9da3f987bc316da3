"""How long the per-run figures take for a large run: the timeline of a run with over 100,000 events.

Writes the plot tests' synthetic run (``tests/plots/plot_fixtures.py``: 150 devices, 300 rounds of 50
clients, phases, interruptions, failures and unavailability) and times ``plot_run`` on it, one process,
after a first small plot warms matplotlib up. Row: the seconds it takes (target 10: a user waits seconds,
not minutes). ``--quick`` draws a run a tenth the size, against the same target.

Run alone: ``.venv/bin/python benchmarks/plots.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "plots"))
from plot_fixtures import write_run  # noqa: E402  (the tests' synthetic run, not a copy of it)

TARGET_S = 10.0


def run(quick: bool = False) -> list[dict]:
    from edgesim.plots import plot_run

    rounds = 30 if quick else 300
    with tempfile.TemporaryDirectory(prefix="edgesim-plots-") as tmp:
        plot_run(write_run(Path(tmp) / "warm", devices=8, rounds=4))
        run_dir = write_run(Path(tmp) / "big", devices=150, rounds=rounds, per_round=50)
        events = len(pd.read_csv(run_dir / "events.csv"))
        started = time.perf_counter()
        written = plot_run(run_dir)
        seconds = time.perf_counter() - started
    return [{"benchmark": "plots", "metric": f"per-run figures of a {events:,}-event run, s", "value": seconds,
             "target": f"<= {TARGET_S:g}", "ok": bool(seconds <= TARGET_S),
             "note": f"{len(written)} figures: {', '.join(sorted(p.name for p in written))}"}]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    for r in run(parser.parse_args().quick):
        print(f"{r['metric']}: {r['value']:.3g} (target {r['target']}) — {r['note']}")
