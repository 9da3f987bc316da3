"""The ``edgesim`` command: validate, run, sweep, plot, taxonomy, profiles, calibrate.

Problems with input or output exit with status 2 and one message per problem,
never a traceback; a run's own ending has its exit status (``edgesim.outcome``:
0 completed, 3 stalled, 4 diverged, 1 failed); Ctrl-C exits with 130 and
SIGTERM, handled the same way, with 143.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from edgesim import outcome
from edgesim.arguments import build_parser
from edgesim.compute import Compute
from edgesim.contract import CHECKPOINT_DIR, SCENARIO_FILE
from edgesim.errors import InputError, OutputError
from edgesim.progress import describe_time
from edgesim.scenario import Scenario, apply_edits, expand_sweep, read_raw, shadowed_assignments, validate
from edgesim.signals import interruptions_ignored, signal_number, sigterm_as_interrupt
from edgesim.units import energy_unit

MAX_PROBLEMS_SHOWN = 20
MAX_THREADS_PER_CORE = 4
MAX_PROBLEM_CHARS = 500


def _compute(args) -> Compute:
    return Compute(args.device, args.trainer)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _one_line(scenario: Scenario) -> str:
    groups = scenario.fleet.groups
    stop = scenario.stop
    target = f", target accuracy {stop.target_accuracy}" if stop.target_accuracy else ""
    return (f"{scenario.name}: {_count(scenario.device_count, 'device')} in {_count(len(groups), 'group')}, "
            f"{scenario.algorithm.name} on {scenario.dataset.name} ({scenario.dataset.partition.kind}), "
            f"{_participation(scenario)}, horizon {describe_time(stop.horizon_s)}{target}")


def _participation(scenario: Scenario) -> str:
    """How the protocol aggregates: the clients a round takes (sync), K per aggregation (K-async, buffered), or
    every period (periodic)."""
    protocol = scenario.server.protocol
    if protocol.kind == "sync":
        count = scenario.server.clients_per_round
        return f"{count} client{'s' * (count != 1)}/round"
    if protocol.kind == "periodic":
        return f"periodic, every {describe_time(protocol.period_s)}"
    k = getattr(scenario.algorithm, "k", None)
    if protocol.kind == "kasync" and k is not None:
        return f"K = {k} per iteration"
    return f"{protocol.kind}, K = {k} per aggregation" if k is not None else protocol.kind


def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def _source(args) -> tuple[dict, Path]:
    """The scenario file's data with the command line's edits, and the folder its relative paths start from."""
    return apply_edits(read_raw(args.scenario), args.assignments, args.seed), Path(args.scenario).parent


def _sweep_source(args) -> tuple[dict, Path, list[str]]:
    """``_source`` for a sweep, and ``_sweep_edits``'s warnings."""
    data, base_dir = _source(args)
    return data, base_dir, _sweep_edits(args, data)


def _sweep_edits(args, data: dict) -> list[str]:
    """Warnings about ``--set`` edits that some variants of the sweep in ``data`` replace. The seeds are
    ``sweep.seeds`` only: a root seed given on the command line (``--seed`` or ``--set seed=...``) beside them
    is refused (``InputError``) rather than ignored, and so is a ``--set`` that every variant's case or grid
    edit replaces."""
    keys = [a.split("=", 1)[0].strip() for a in args.assignments or ()]
    sweep = data.get("sweep")
    if isinstance(sweep, dict) and sweep.get("seeds"):
        given = None
        if args.seed is not None:
            given = f"--seed {args.seed}"
        elif "seed" in keys:
            given = "--set seed"
        if given:
            raise InputError(f"{given}: the sweep lists its own seeds (sweep.seeds); give "
                             f"--set 'sweep.seeds=[{data.get('seed')}]' instead")
    return _shadowed_edits(data, keys)


def _shadowed_edits(data: dict, keys: list[str]) -> list[str]:
    """Warnings for ``--set`` keys some sweep cases replace; ``InputError`` for those no variant keeps."""
    sweep = data.get("sweep")  # any shape: a sweep that is not a mapping is the schema's to report
    cases = sweep.get("cases") if isinstance(sweep, dict) else None
    cases = cases if isinstance(cases, dict) else {}
    problems, warnings = [], []
    for key, by in shadowed_assignments(data, keys).items():
        if any(b.startswith("grid ") for b in by):
            problems.append(f"--set {key}: the sweep's grid varies it ({', '.join(by)}); change the grid's "
                            "values in the scenario's sweep.grid instead")
            continue
        hint = (f"the sweep's edits come after the command line's; to change a case, give "
                f"--set sweep.cases.<case>.{key}=...")
        if len(by) == len(cases):
            problems.append(f"--set {key}: no variant keeps it, {', '.join(by)} replace it; {hint}")
        else:
            warnings.append(f"--set {key} does not reach {', '.join(by)}, which set it themselves; {hint}")
    if problems:
        raise InputError(problems)
    return warnings


def cmd_validate(args, console: Console) -> int:
    """The checks of ``edgesim run`` and, for a scenario with a ``sweep:`` block, of ``edgesim sweep`` too: the
    scenario alone (what ``run`` plays, ignoring the block) and every variant. A problem only one of the two
    commands has is labelled with it."""
    from edgesim.preflight import check

    data, base_dir = _source(args)
    scenario = validate(data, base_dir=base_dir)
    problems, warnings, datasets = [], [], {}
    checked = [("", scenario)]
    if scenario.sweep:
        try:
            warnings = _sweep_edits(args, data)
        except InputError as exc:
            problems.extend(f"edgesim sweep: {problem} (edgesim run, which ignores the sweep: block, takes it)"
                            for problem in exc.problems)
        checked = [("edgesim run (the scenario without its sweep: block): ", scenario)]
        checked += [(f"sweep variant {v.index}: ", v.scenario) for v in expand_sweep(data, base_dir)]
    # the pre-flight of each, those sharing a dataset and seed one after another (loaded once)
    for prefix, each in sorted(checked, key=lambda c: (c[1].dataset.model_dump_json(), c[1].seed)):
        try:
            warnings.extend(prefix + warning for warning in check(each, datasets))
        except InputError as exc:
            problems.extend(prefix + problem for problem in exc.problems)
    if problems:
        raise InputError(problems)
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False, soft_wrap=True)
    line = f"ok: {_one_line(scenario)}"
    if scenario.sweep:
        line += f"; sweep of {_count(len(checked) - 1, 'variant')}"
    console.print(escape(line), highlight=False, soft_wrap=True)
    return 0


def _check_threads(threads: int | None) -> None:
    """At least 1, and at most ``MAX_THREADS_PER_CORE`` per core of this machine."""
    cores = os.cpu_count() or 1
    if threads is not None and not 1 <= threads <= MAX_THREADS_PER_CORE * cores:
        raise InputError(f"--threads {threads}: must be from 1 to {MAX_THREADS_PER_CORE * cores} "
                         f"({MAX_THREADS_PER_CORE} per core of the {cores} here)")


def _set_threads(threads: int | None) -> None:
    if threads is None:
        return
    _check_threads(threads)
    import torch

    torch.set_num_threads(threads)


def cmd_run(args, console: Console) -> int:
    from edgesim.journal import CheckpointPolicy
    from edgesim.results.run_dir import default_run_dir, refuse_to_remove
    from edgesim.runner import run_scenario

    policy = CheckpointPolicy.parse(args.checkpoint_every)
    if args.resume is not None:
        if args.scenario or args.assignments or args.seed is not None or args.out or args.overwrite:
            raise InputError("--resume RUN_DIR continues that run with its own scenario: give no scenario file, "
                             "--set, --seed, --out or --overwrite")
        run_dir, mode = args.resume, "resume"
        scenario = _resumed_scenario(run_dir)
        recorded = _checkpointed_threads(run_dir)
        if args.threads is not None and recorded is not None and args.threads != recorded:
            print(f"warning: the run trained on {recorded} torch threads; with {args.threads} its tables will "
                  "differ from an uninterrupted run's", file=sys.stderr)
        _set_threads(args.threads if args.threads is not None else recorded)
    else:
        if args.scenario is None:
            raise InputError("give a scenario file, or --resume RUN_DIR")
        data, base_dir = _source(args)
        scenario = validate(data, base_dir=base_dir)
        _set_threads(args.threads)
        run_dir, mode = args.out or default_run_dir(scenario.name), "overwrite" if args.overwrite else "new"
        if (run_dir / SCENARIO_FILE).resolve() == Path(args.scenario).resolve():
            raise InputError(f"--out {run_dir}: the run would replace the scenario file itself "
                             f"({args.scenario}); choose another --out")
        if args.overwrite:
            refuse_to_remove(run_dir, args.scenario)
        if scenario.sweep is not None:
            print("warning: run ignores the scenario's sweep: block (edgesim sweep runs it)", file=sys.stderr)
    compute = _compute(args).resolved()
    began = time.time()
    try:
        result = run_scenario(scenario, run_dir, Console(stderr=True, emoji=False), show_progress=not args.quiet,
                              compute=compute, mode=mode, checkpoints=policy)
    except KeyboardInterrupt as exc:
        with interruptions_ignored():
            if not (run_dir / SCENARIO_FILE).is_file():
                print("interrupted before the run started; nothing was written", file=sys.stderr)
                return outcome.interrupted_exit(signal_number(exc))
            if scenario.output.events == "parquet":  # no checkpoints: see runner._check_resumable
                print("interrupted; the files written so far are kept, but a run writing its events as Parquet "
                      f"cannot be continued: run it again with --out {run_dir} --overwrite", file=sys.stderr)
            else:
                print(f"interrupted; the files written so far are kept; continue with: edgesim run --resume "
                      f"{run_dir}", file=sys.stderr)
            console.print(str(run_dir), highlight=False, soft_wrap=True)
            return outcome.interrupted_exit(signal_number(exc))
    except Exception as exc:
        if isinstance(exc, OutputError) and _written_since(run_dir / SCENARIO_FILE, began):  # the run began
            _print_problems(exc.problems, Console(stderr=True, highlight=False, emoji=False))
            console.print(str(run_dir), highlight=False, soft_wrap=True)
            return outcome.EXIT_INPUT
        if isinstance(exc, InputError) or os.environ.get("EDGESIM_DEBUG"):
            raise
        if not (run_dir / SCENARIO_FILE).is_file():
            print(f"failed before the run started: {type(exc).__name__}: {exc} (EDGESIM_DEBUG=1 shows the "
                  "traceback); nothing was written", file=sys.stderr)
            return outcome.EXIT_FAILED
        print(f"failed: {type(exc).__name__}: {exc} (EDGESIM_DEBUG=1 shows the traceback); the files written "
              "so far are kept", file=sys.stderr)
        console.print(str(run_dir), highlight=False, soft_wrap=True)
        return outcome.EXIT_FAILED
    print(_ending_line(result.summary), file=sys.stderr)
    console.print(str(run_dir), highlight=False, soft_wrap=True)
    return outcome.exit_status(result.summary["status"])


def _written_since(path: Path, when: float) -> bool:
    try:
        return path.stat().st_mtime >= when - 1.0
    except OSError:
        return False


def _resumed_scenario(run_dir: Path) -> Scenario:
    from edgesim.results.run_dir import not_a_run_directory
    from edgesim.scenario import load_scenario

    if not run_dir.exists():
        raise InputError(f"--resume {run_dir}: no such directory")
    if not (run_dir / SCENARIO_FILE).is_file():
        raise InputError(not_a_run_directory(run_dir))
    return load_scenario(run_dir / SCENARIO_FILE)


def _checkpointed_threads(run_dir: Path) -> int | None:
    """The torch thread count the run used so far (so that its tables come out byte-identical)."""
    from edgesim.results.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(run_dir / CHECKPOINT_DIR)
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
    rounds = s["rounds"]
    stop = STOP_WORDS.get(s.get("stop_reason"))
    return (f"final accuracy {s['final_accuracy']:.4f} after {rounds} round{'s' * (rounds != 1)}"
            f"{f' ({stop})' if stop else ''}, {describe_time(s['sim_time_s'])} simulated{target}{_energy_words(s)}")


STOP_WORDS = {"max_rounds": "stop.max_rounds reached", "plateau": "stop.patience: accuracy plateaued",
              "energy_budget": "stop.energy_budget_j spent", "horizon": "the horizon ended it"}
"""How the ending line says which stop rule ended a run (the target's own words say when it did)."""


def _energy_words(s: dict) -> str:
    """``; energy 4.2 kJ (3% lost); 12 battery drop-outs (3 started low)`` for the ending line (empty parts left
    out)."""
    words = ""
    if s.get("energy_j"):
        unit, size = energy_unit(s["energy_j"])
        lost = s.get("energy_lost_share")
        words = f"; energy {s['energy_j'] / size:.3g} {unit}" + (f" ({lost:.0%} lost)" if lost else "")
    if s.get("battery_devices"):
        dropouts, at_start = s.get("battery_dropouts", 0), s.get("battery_low_at_start", 0)
        words += f"; {dropouts} battery drop-out{'s' * (dropouts != 1)}" + \
            (f" ({at_start} started low)" if at_start else "")
    return words


def cmd_sweep(args, console: Console) -> int:
    """Run the sweep (its ``--only`` variants). It exits with ``EXIT_FAILED`` (1) when any of them failed (an
    error while it ran), and when every one failed or was invalid (its scenario failed the pre-flight checks);
    otherwise with 0, also when only some were invalid, or stalled or diverged (``sweep.csv`` says which).
    Problems with the input or the sweep directory exit with 2, an interruption with 130 or 143."""
    from edgesim.journal import CheckpointPolicy
    from edgesim.results.run_dir import name_slug, refuse_to_remove
    from edgesim.sweep import LocalExecutor, run_sweep
    from edgesim.sweep.selection import parse_only, select_variants

    policy = CheckpointPolicy.parse(args.checkpoint_every)
    if args.resume and args.overwrite:
        raise InputError("--resume and --overwrite: choose one")
    if args.resume and args.out is None:
        raise InputError("--resume: give the sweep's directory with --out")
    if args.overwrite and args.only:
        raise InputError("--overwrite and --only: --overwrite clears the whole sweep directory, the variants "
                         "--only leaves out too; give --resume to keep them, or another --out")
    mode = "resume" if args.resume else "overwrite" if args.overwrite else "new"
    data, base_dir, shadowed = _sweep_source(args)
    for warning in shadowed:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False, soft_wrap=True)
    wanted = parse_only(args.only)
    variants = expand_sweep(data, base_dir)
    chosen = select_variants(variants, wanted)
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers: must be at least 1")
    if args.executor == "local":
        _check_threads(args.threads)
    elif args.threads is not None and args.threads < 1:
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
    if args.overwrite:
        refuse_to_remove(sweep_dir, args.scenario)
    try:
        summaries = run_sweep(variants, sweep_dir, executor, Console(stderr=True, emoji=False), compute, mode,
                              policy, chosen)
    except KeyboardInterrupt as exc:
        with interruptions_ignored():
            print(f"interrupted; sweep.csv records every variant's state{_summary_so_far(sweep_dir)}; continue "
                  f"with: {_resume_sweep_command(args, sweep_dir)}", file=sys.stderr)
            console.print(str(sweep_dir), highlight=False, soft_wrap=True)
            return outcome.interrupted_exit(signal_number(exc))
    summaries = [summaries[i] for i in chosen]
    failed = sum(1 for summary in summaries if summary.get("status") == outcome.FAILED)
    invalid = sum(1 for summary in summaries if summary.get("status") == outcome.INVALID)
    none_finished = bool(summaries) and failed + invalid == len(summaries)
    which = "chosen variant" if len(chosen) < len(variants) else "variant"
    if none_finished:
        print(f"every {which} failed or was invalid ({failed} failed, {invalid} invalid); sweep.csv has their "
              "reasons", file=sys.stderr)
    elif failed:
        print(f"{failed} of {len(summaries)} {which}s failed; sweep.csv has their reasons", file=sys.stderr)
    _print_sweep_summary(sweep_dir, console)
    console.print(str(sweep_dir), highlight=False, soft_wrap=True)
    return outcome.EXIT_FAILED if failed or none_finished else outcome.EXIT_OK


def _write_summary(sweep_dir: Path):
    """Summarise ``sweep_dir``'s ``sweep.csv`` (with its labels) into ``summary.csv``/``summary.md``."""
    from edgesim.plots.data import read_factor_labels, read_sweep
    from edgesim.results.sweep_summary import write_sweep_summary

    return write_sweep_summary(sweep_dir, read_sweep(sweep_dir), read_factor_labels(sweep_dir))


def _summary_so_far(sweep_dir: Path) -> str:
    """Write the summary of an interrupted sweep's finished runs; the words that say so ("" if none)."""
    try:
        _write_summary(sweep_dir)
    except (InputError, OSError):  # no sweep.csv yet, or it cannot be written: the table alone is kept
        return ""
    return " and summary.md its finished runs so far"


def _print_sweep_summary(sweep_dir: Path, console: Console) -> None:
    """Write ``summary.csv``/``summary.md`` beside ``sweep.csv`` and print the table and its caveat."""
    from rich.table import Table

    from edgesim.results.sweep_summary import display_rows, separated_rows, separation_note

    summary = _write_summary(sweep_dir)
    headers, rows = display_rows(summary)
    if console.is_terminal:
        table = Table(*headers, title="sweep summary (seeds pooled)", title_justify="left")
        for row in rows:
            table.add_row(*map(escape, row))
        console.print(table)
    else:  # piped or logged: rows that no terminal width cuts
        console.print("sweep summary (seeds pooled)", highlight=False)
        for row in [headers, *rows]:
            console.print(escape(" | ".join(row)), highlight=False, soft_wrap=True)
    console.print(escape(separation_note(summary)), highlight=False, soft_wrap=True)
    for sooner, later, ratio in separated_rows(summary):
        console.print(escape(f"  {sooner} reaches the target sooner than {later} ({later} takes {ratio} as long)"),
                      highlight=False, soft_wrap=True)


def _resume_sweep_command(args, sweep_dir: Path) -> str:
    """The command that continues this sweep: the same scenario, edits and options, with --resume."""
    words = ["edgesim", "sweep", args.scenario]
    for assignment in args.assignments:
        words += ["--set", assignment]
    for selection in args.only:
        words += ["--only", selection]
    options = (("--seed", args.seed), ("--workers", args.workers), ("--threads", args.threads),
               ("--device", args.device if args.device != "auto" else None),
               ("--trainer", args.trainer if args.trainer != "auto" else None),
               ("--executor", args.executor if args.executor != "local" else None), ("--address", args.address),
               ("--gpus-per-task", args.gpus_per_task or None),
               ("--checkpoint-every", args.checkpoint_every if args.checkpoint_every != "eval" else None))
    for option, value in options:
        if value is not None:
            words += [option, str(value)]
    return shlex.join([*words, "--out", str(sweep_dir), "--resume"])


def cmd_plot(args, console: Console) -> int:
    from edgesim.plots import plot_any

    for path in plot_any(args.directory):
        console.print(str(path), highlight=False, soft_wrap=True)
    return 0


def cmd_taxonomy(args, console: Console) -> int:
    from edgesim.data.taxonomy import dataset_taxonomy
    from edgesim.taxonomy import draw_taxonomy, render_summary

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


def cmd_calibrate(args, console: Console) -> int:
    from edgesim.calibrate import calibrate, check_power

    power_w = check_power(args.power_idle_w, args.power_active_w)
    _set_threads(args.threads)
    path = calibrate(args.models, args.out, args.name, args.seconds, args.batch_size, args.endpoint, power_w,
                     console, Console(stderr=True, emoji=False))
    console.print(str(path), highlight=False, soft_wrap=True)
    return 0


COMMANDS = {"validate": cmd_validate, "run": cmd_run, "sweep": cmd_sweep, "plot": cmd_plot,
            "taxonomy": cmd_taxonomy, "profiles": cmd_profiles, "calibrate": cmd_calibrate}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(emoji=False)  # messages quote user text: ":thumbs_up:" stays as written
    errors = Console(stderr=True, highlight=False, emoji=False)
    if hasattr(signal, "SIGXFSZ"):  # a file over the size limit then fails its write (an output error)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        with sigterm_as_interrupt():
            return COMMANDS[args.command](args, console)
    except InputError as exc:
        _print_problems(exc.problems, errors)
        return outcome.EXIT_INPUT
    except KeyboardInterrupt as exc:
        with interruptions_ignored():  # a second Ctrl-C or SIGTERM meanwhile changes nothing
            errors.print("interrupted")
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
