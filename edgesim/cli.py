"""The ``edgesim`` command: validate, run, sweep, plot, taxonomy, profiles.

Problems with input exit with status 2 and one message per problem, never a
traceback; an interrupted command exits with 130.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from edgesim.compute import TRAINERS, Compute
from edgesim.errors import InputError
from edgesim.progress import describe_time
from edgesim.scenario import Scenario, apply_edits, expand_sweep, read_raw, validate

EXIT_INPUT = 2
EXIT_INTERRUPTED = 130


def _add_edit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="override a scenario key, e.g. --set fleet.groups.0.count=20 (repeatable)")
    parser.add_argument("--seed", type=int, help="override the scenario's root seed")


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
    _add_edit_options(p)
    p.add_argument("--out", type=Path, help="run directory (default runs/<name>-<timestamp>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=int, help="torch threads for training (default: torch's choice, one per "
                                               "core); 1 is fastest for tiny models or on a busy machine")
    _add_compute_options(p)

    p = commands.add_parser("sweep", help="run every variant of the scenario's sweep: block")
    _add_edit_options(p)
    p.add_argument("--out", type=Path, help="sweep directory (default runs/<name>-sweep-<timestamp>); "
                                            "re-using one skips completed variants")
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


def cmd_validate(args, console: Console) -> int:
    data = apply_edits(read_raw(args.scenario), args.assignments, args.seed)
    scenario = validate(data)
    line = f"ok: {_one_line(scenario)}"
    if scenario.sweep:
        line += f"; sweep of {len(expand_sweep(data))} variants"
    console.print(line, highlight=False)
    return 0


def cmd_run(args, console: Console) -> int:
    from edgesim.results.run_dir import default_run_dir
    from edgesim.runner import run_scenario

    scenario = validate(apply_edits(read_raw(args.scenario), args.assignments, args.seed))
    compute = _compute(args).resolved()
    if args.threads is not None:
        if args.threads < 1:
            raise InputError("--threads: must be at least 1")
        import torch

        torch.set_num_threads(args.threads)
    run_dir = args.out or default_run_dir(scenario)
    result = run_scenario(scenario, run_dir, Console(stderr=True), show_progress=not args.quiet, compute=compute)
    s = result.summary
    reached = ("not reached" if s["time_to_target_s"] is None
               else f"reached in {describe_time(s['time_to_target_s'])} simulated")
    target = f"; target {s['target_accuracy']} {reached}" if s["target_accuracy"] else ""
    print(f"final accuracy {s['final_accuracy']:.4f} after {s['rounds']} rounds, "
          f"{describe_time(s['sim_time_s'])} simulated{target}", file=sys.stderr)
    console.print(str(run_dir), highlight=False, soft_wrap=True)
    return 0


def cmd_sweep(args, console: Console) -> int:
    from edgesim.sweep import LocalExecutor, run_sweep

    data = apply_edits(read_raw(args.scenario), args.assignments, args.seed)
    variants = expand_sweep(data)
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
    sweep_dir = args.out or Path("runs") / f"{variants[0].scenario.name}-sweep-{_stamp()}"
    run_sweep(variants, sweep_dir, executor, Console(stderr=True), compute)
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

    scenario = validate(apply_edits(read_raw(args.scenario), args.assignments, args.seed))
    taxonomy = dataset_taxonomy(scenario.dataset)
    render_summary(taxonomy, console, f"{scenario.dataset.name} taxonomy ({scenario.dataset.taxonomy.kind})")
    if args.draw:
        console.print(str(draw_taxonomy(taxonomy, args.draw)), highlight=False, soft_wrap=True)
    return 0


def cmd_profiles(args, console: Console) -> int:
    from edgesim.profiles.listing import render_profiles
    from edgesim.scenario.checks import device_profiles, network_profiles

    if args.scenario:
        scenario = validate(read_raw(args.scenario))
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
    try:
        return COMMANDS[args.command](args, console)
    except InputError as exc:
        for problem in exc.problems:
            errors.print(f"[red]error:[/red] {escape(problem)}", soft_wrap=True)
        return EXIT_INPUT
    except KeyboardInterrupt:
        errors.print("interrupted; files written so far are kept")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
