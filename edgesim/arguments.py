"""The ``edgesim`` command's options: read before torch loads, so bad input is answered at once."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgesim.compute import TRAINERS

DESCRIPTION = "The edgesim command: validate, run, sweep, plot, taxonomy, profiles, calibrate."


def _add_edit_options(parser: argparse.ArgumentParser, scenario_optional: bool = False) -> None:
    parser.add_argument("scenario", nargs="?" if scenario_optional else None, help="scenario YAML file")
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="override a scenario key, e.g. --set fleet.groups.0.count=20 (repeatable); relative "
                             "paths are relative to the scenario file")
    parser.add_argument("--seed", type=int, help="override the scenario's root seed")


def _add_run_dir_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace what an earlier {what} left in --out (a non-empty --out is refused otherwise)")
    parser.add_argument("--checkpoint-every", default="eval", metavar="WHEN",
                        help="when a run takes a checkpoint to resume from: eval (after every evaluation, the "
                             "default), a simulated duration such as 30m, or off")


def _add_compute_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", metavar="DEVICE",
                        help="where real training runs: auto (a CUDA GPU if torch sees one, else the CPU), cpu, "
                             "cuda or cuda:N (default auto)")
    parser.add_argument("--trainer", default="auto", choices=TRAINERS,
                        help="train clients' jobs together (batched, vmap) or one after another (sequential); "
                             "auto batches on a GPU only (default auto)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgesim", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("validate", help="check a scenario (and every sweep variant) without running it")
    _add_edit_options(p)

    p = commands.add_parser("run", help="run a scenario and write its run directory")
    _add_edit_options(p, scenario_optional=True)
    p.add_argument("--out", type=Path, help="run directory (default runs/<name>-<timestamp>); must be new or empty")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR",
                   help="continue the run in RUN_DIR from its last checkpoint (after a crash, Ctrl-C or SIGTERM); "
                        "its tables end as an uninterrupted run's would")
    _add_run_dir_options(p, "run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=int, help="torch threads for training (default: torch's choice, one per "
                                               "core); 1 is fastest for tiny models or on a busy machine")
    _add_compute_options(p)

    p = commands.add_parser("sweep", help="run every variant of the scenario's sweep: block")
    _add_edit_options(p)
    p.add_argument("--out", type=Path, help="sweep directory (default runs/<name>-sweep-<timestamp>); must be new "
                                            "or empty unless --resume or --overwrite")
    p.add_argument("--resume", action="store_true",
                   help="continue the sweep in --out: skip finished variants, resume interrupted ones from their "
                        "checkpoints, run the rest")
    p.add_argument("--only", action="append", default=[], metavar="KEY=VALUE",
                   help="run only the variants whose sweep.csv column KEY (case, a grid key, seed, or variant: "
                        "the number in run-<number>) holds VALUE (repeatable: values of one key are "
                        "alternatives, different keys must all match); the others are left as they are")
    _add_run_dir_options(p, "sweep")
    p.add_argument("--workers", type=int, help="parallel processes (default 1); with --executor ray, the most "
                                               "variants running at once (default: as many as the cluster fits)")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="where variants run: a local process pool, or Ray tasks (needs edgesim[ray])")
    p.add_argument("--address", help="with --executor ray: the Ray cluster to use (auto, HOST:6379 or "
                                     "ray://HOST:10001); default: start a local Ray instance for the sweep")
    p.add_argument("--threads", type=int, help="torch threads per worker (default: the cores divided among the "
                                               "workers; with ray, 1), and with ray the CPUs each task asks for; "
                                               "results are byte-identical only for the same count")
    _add_compute_options(p)
    p.add_argument("--gpus-per-task", type=float, default=0.0, metavar="N",
                   help="with --executor ray: GPUs each task asks Ray for (a fraction shares one GPU among "
                        "tasks); Ray hides GPUs from tasks that ask for none (default 0)")

    p = commands.add_parser("plot", help="draw PNG figures for a run or sweep directory")
    p.add_argument("directory", type=Path)

    p = commands.add_parser("taxonomy", help="summarise (and draw) the class taxonomy of a scenario's dataset")
    _add_edit_options(p)
    p.add_argument("--draw", type=Path, metavar="PNG", help="also draw the tree to this PNG file")

    p = commands.add_parser("profiles", help="list hardware and network profiles with their sources")
    p.add_argument("scenario", nargs="?", help="also list the profiles this scenario defines")

    p = commands.add_parser("calibrate", help="measure this machine's training throughput and write a device "
                                              "profile for it")
    p.add_argument("--model", dest="models", action="extend", nargs="+", metavar="NAME",
                   help="models to train (default: every registered model)")
    p.add_argument("--out", type=Path, help="the profile YAML to write (default <name>.yaml)")
    p.add_argument("--name", help="the profile's name (default calibrated_<host name>)")
    p.add_argument("--seconds", type=float, default=5.0,
                   help="timed seconds per model, in 5 windows, after a warm-up as long as one window (default 5)")
    p.add_argument("--batch-size", type=int, default=10, help="samples per training step (default 10, as the "
                                                              "shipped scenarios train)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    p.add_argument("--endpoint", metavar="URL", help="also time an HTTP GET of this URL and report Mbit/s")
    p.add_argument("--power-idle-w", type=float, metavar="W", help="measured idle power, W (default: not "
                                                                   "measured, 0 written)")
    p.add_argument("--power-active-w", type=float, metavar="W", help="measured power with every core busy, W")
    return parser
