"""The ``edgesim`` command: validate, run, sweep, plot, taxonomy, profiles.

Problems with input or output exit with status 2 and one message per problem,
never a traceback; a run's own ending has its exit status (``edgesim.outcome``:
0 completed, 3 stalled, 4 diverged, 1 failed); Ctrl-C exits with 130 and
SIGTERM, handled the same way, with 143.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from edgesim import outcome
from edgesim.compute import TRAINERS, Compute
from edgesim.errors import InputError
from edgesim.progress import describe_time
from edgesim.scenario import Scenario, apply_edits, expand_sweep, read_raw, validate
from edgesim.signals import signal_number, sigterm_as_interrupt

MAX_PROBLEMS_SHOWN = 20
MAX_PROBLEM_CHARS = 500


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


def _compute(args) -> Compute:
    return Compute(args.device, args.trainer)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgesim", description=__doc__.splitlines()[0])
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
    return parser


def _one_line(scenario: Scenario) -> str:
    groups = scenario.fleet.groups
    stop = scenario.stop
    target = f", target accuracy {stop.target_accuracy}" if stop.target_accuracy else ""
    return (f"{scenario.name}: {scenario.device_count} devices in {len(groups)} groups, "
            f"{scenario.algorithm.name} on {scenario.dataset.name} ({scenario.dataset.partition.kind}), "
            f"{scenario.server.clients_per_round} clients/round, horizon {describe_time(stop.horizon_s)}{target}")


def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def _source(args) -> tuple[dict, Path]:
    """The scenario file's data with the command line's edits, and the folder its relative paths start from."""
    return apply_edits(read_raw(args.scenario), args.assignments, args.seed), Path(args.scenario).parent


def cmd_validate(args, console: Console) -> int:
    from edgesim.preflight import check

    data, base_dir = _source(args)
    scenario = validate(data, base_dir=base_dir)
    variants = [v.scenario for v in expand_sweep(data, base_dir)] if scenario.sweep else [scenario]
    problems, warnings, datasets = [], [], {}
    # the pre-flight of every variant, those sharing a dataset and seed one after another (loaded once)
    for i in sorted(range(len(variants)), key=lambda i: (variants[i].dataset.model_dump_json(), variants[i].seed)):
        prefix = f"sweep variant {i}: " if scenario.sweep else ""
        try:
            warnings.extend(prefix + warning for warning in check(variants[i], datasets))
        except InputError as exc:
            problems.extend(prefix + problem for problem in exc.problems)
    if problems:
        raise InputError(problems)
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False, soft_wrap=True)
    line = f"ok: {_one_line(scenario)}"
    if scenario.sweep:
        line += f"; sweep of {len(variants)} variants"
    console.print(line, highlight=False)
    return 0


def _set_threads(threads: int | None) -> None:
    if threads is None:
        return
    if threads < 1:
        raise InputError("--threads: must be at least 1")
    import torch

    torch.set_num_threads(threads)


def cmd_run(args, console: Console) -> int:
    from edgesim.journal import CheckpointPolicy
    from edgesim.results.run_dir import default_run_dir
    from edgesim.runner import run_scenario

    policy = CheckpointPolicy.parse(args.checkpoint_every)
    if args.resume is not None:
        if args.scenario or args.assignments or args.seed is not None or args.out or args.overwrite:
            raise InputError("--resume RUN_DIR continues that run with its own scenario: give no scenario file, "
                             "--set, --seed, --out or --overwrite")
        run_dir, mode = args.resume, "resume"
        scenario = _resumed_scenario(run_dir)
        _set_threads(args.threads if args.threads is not None else _checkpointed_threads(run_dir))
    else:
        if args.scenario is None:
            raise InputError("give a scenario file, or --resume RUN_DIR")
        data, base_dir = _source(args)
        scenario = validate(data, base_dir=base_dir)
        _set_threads(args.threads)
        run_dir, mode = args.out or default_run_dir(scenario), "overwrite" if args.overwrite else "new"
    compute = _compute(args).resolved()
    try:
        result = run_scenario(scenario, run_dir, Console(stderr=True), show_progress=not args.quiet,
                              compute=compute, mode=mode, checkpoints=policy)
    except KeyboardInterrupt as exc:
        print(f"interrupted; the files written so far are kept; continue with: edgesim run --resume {run_dir}",
              file=sys.stderr)
        console.print(str(run_dir), highlight=False, soft_wrap=True)
        return outcome.interrupted_exit(signal_number(exc))
    except Exception as exc:
        if isinstance(exc, InputError) or os.environ.get("EDGESIM_DEBUG"):
            raise
        print(f"failed: {type(exc).__name__}: {exc} (EDGESIM_DEBUG=1 shows the traceback); the files written "
              "so far are kept", file=sys.stderr)
        console.print(str(run_dir), highlight=False, soft_wrap=True)
        return outcome.EXIT_FAILED
    print(_ending_line(result.summary), file=sys.stderr)
    console.print(str(run_dir), highlight=False, soft_wrap=True)
    return outcome.exit_status(result.summary["status"])


def _resumed_scenario(run_dir: Path) -> Scenario:
    from edgesim.scenario import load_scenario

    if not (run_dir / "scenario.yaml").is_file():
        raise InputError(f"--resume {run_dir}: not a run directory (it has no scenario.yaml)")
    return load_scenario(run_dir / "scenario.yaml")


def _checkpointed_threads(run_dir: Path) -> int | None:
    """The torch thread count the run used so far (so that its tables come out byte-identical)."""
    from edgesim.results.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(run_dir / "checkpoint")
    return None if checkpoint is None else checkpoint.torch_threads


def _ending_line(s: dict) -> str:
    """The line ``run`` prints before the run directory."""
    if s["status"] != outcome.COMPLETED:
        return f"{s['status']}: {s['reason']}"
    target = ""
    if s["target_accuracy"]:
        at = s["accuracy_at_target"]
        if at is None:
            target = f"; target {s['target_accuracy']} not reached"
        else:
            checked = ("" if at["subset"] is None else f" (full test set {at['full_test']:.4f}; the "
                       f"{s['evaluation_samples']}-sample evaluation subset {at['subset']:.4f})")
            target = (f"; target {s['target_accuracy']} reached in {describe_time(s['time_to_target_s'])} "
                      f"simulated{checked}")
    return (f"final accuracy {s['final_accuracy']:.4f} after {s['rounds']} rounds, "
            f"{describe_time(s['sim_time_s'])} simulated{target}")


def cmd_sweep(args, console: Console) -> int:
    from edgesim.journal import CheckpointPolicy
    from edgesim.results.run_dir import name_slug
    from edgesim.sweep import LocalExecutor, run_sweep

    policy = CheckpointPolicy.parse(args.checkpoint_every)
    if args.resume and args.overwrite:
        raise InputError("--resume and --overwrite: choose one")
    if args.resume and args.out is None:
        raise InputError("--resume: give the sweep's directory with --out")
    mode = "resume" if args.resume else "overwrite" if args.overwrite else "new"
    data, base_dir = _source(args)
    variants = expand_sweep(data, base_dir)
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers: must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise InputError("--threads: must be at least 1")
    if args.gpus_per_task < 0:
        raise InputError("--gpus-per-task: must not be negative")
    compute = _compute(args)
    if args.executor == "ray":  # the device is resolved on the node that runs each variant
        from edgesim.sweep.ray_executor import RayExecutor  # Ray itself is imported only here

        executor = RayExecutor(args.address, args.threads, max_in_flight=args.workers,
                               gpus_per_task=args.gpus_per_task)
    elif args.address is not None or args.gpus_per_task:
        raise InputError(f"{'--address' if args.address is not None else '--gpus-per-task'}: "
                         "only with --executor ray")
    else:
        compute = compute.resolved()
        executor = LocalExecutor(args.workers or 1, args.threads)
    sweep_dir = args.out or Path("runs") / f"{name_slug(variants[0].scenario.name)}-sweep-{_stamp()}"
    try:
        run_sweep(variants, sweep_dir, executor, Console(stderr=True), compute, mode, policy)
    except KeyboardInterrupt as exc:
        print(f"interrupted; sweep.csv records every variant's state; continue with: edgesim sweep "
              f"{args.scenario} --out {sweep_dir} --resume", file=sys.stderr)
        console.print(str(sweep_dir), highlight=False, soft_wrap=True)
        return outcome.interrupted_exit(signal_number(exc))
    console.print(str(sweep_dir), highlight=False, soft_wrap=True)
    return 0


def cmd_plot(args, console: Console) -> int:
    from edgesim.plots import plot_any

    for path in plot_any(args.directory):
        console.print(str(path), highlight=False, soft_wrap=True)
    return 0


def cmd_taxonomy(args, console: Console) -> int:
    from edgesim.taxonomy import draw_taxonomy, render_summary
    from edgesim.taxonomy.for_dataset import dataset_taxonomy

    data, base_dir = _source(args)
    scenario = validate(data, base_dir=base_dir)
    taxonomy = dataset_taxonomy(scenario.dataset)
    render_summary(taxonomy, console, f"{scenario.dataset.name} taxonomy ({scenario.dataset.taxonomy.kind})")
    if args.draw:
        console.print(str(draw_taxonomy(taxonomy, args.draw)), highlight=False, soft_wrap=True)
    return 0


def cmd_profiles(args, console: Console) -> int:
    from edgesim.profiles.listing import render_profiles
    from edgesim.scenario.checks import device_profiles, network_profiles

    if args.scenario:
        scenario = validate(read_raw(args.scenario), base_dir=Path(args.scenario).parent)
        devices, networks = device_profiles(scenario), network_profiles(scenario)
    else:
        from edgesim.profiles import builtin_devices, builtin_networks

        devices, networks = builtin_devices(), builtin_networks()
    render_profiles(devices, networks, console)
    return 0


COMMANDS = {"validate": cmd_validate, "run": cmd_run, "sweep": cmd_sweep, "plot": cmd_plot,
            "taxonomy": cmd_taxonomy, "profiles": cmd_profiles}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console()
    errors = Console(stderr=True, highlight=False)
    if hasattr(signal, "SIGXFSZ"):  # a file over the size limit then fails its write (an output error)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        with sigterm_as_interrupt():
            return COMMANDS[args.command](args, console)
    except InputError as exc:
        _print_problems(exc.problems, errors)
        return outcome.EXIT_INPUT
    except KeyboardInterrupt as exc:
        errors.print("interrupted; files written so far are kept")
        return outcome.interrupted_exit(signal_number(exc))


def _print_problems(problems: list[str], errors: Console) -> None:
    """One line per problem (each cut to a readable length), at most ``MAX_PROBLEMS_SHOWN`` of them."""
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        line = problem if len(problem) <= MAX_PROBLEM_CHARS else problem[: MAX_PROBLEM_CHARS - 1] + "…"
        errors.print(f"[red]error:[/red] {escape(line)}", soft_wrap=True)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        errors.print(f"[red]error:[/red] … and {len(problems) - MAX_PROBLEMS_SHOWN} more problems", soft_wrap=True)


if __name__ == "__main__":
    sys.exit(main())
