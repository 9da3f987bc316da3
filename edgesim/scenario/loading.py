"""Read a scenario file, apply command-line edits, validate, and expand sweeps.

Relative file paths in a scenario (``ConfigPath`` fields: ``dataset.data_dir``,
``dataset.taxonomy.path``, a trace's files) are relative to the folder of the
scenario file (``base_dir``), whether they are written in the file, in its
sweep block or given with ``--set``; the validated scenario holds them as
absolute paths, so its resolved copy runs from anywhere.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml
from pydantic import ValidationError

from edgesim.errors import InputError, brief
from edgesim.scenario.checks import scenario_problems
from edgesim.scenario.errors import format_validation_error
from edgesim.scenario.overrides import parse_assignment, set_dotted, split_key
from edgesim.scenario.schema import Scenario
from edgesim.yaml_file import read_yaml_mapping


def scenario_text(scenario: Scenario) -> str:
    """The resolved scenario as a run writes it to ``scenario.yaml``: every default filled in, no sweep block."""
    return yaml.safe_dump(scenario.model_dump(mode="json", by_alias=True, exclude={"sweep"}), sort_keys=False)


def read_raw(path: str | Path) -> dict:
    """The file's mapping, with ``name`` defaulting to the file's stem."""
    path = Path(path)
    data = read_yaml_mapping(path)
    data.setdefault("name", path.stem)
    return data


def apply_edits(data: dict, assignments: Sequence[str] = (), seed: int | None = None) -> dict:
    """``data`` with the ``--set`` edits applied in order, then ``seed``. An edit inside a sweep case
    (``sweep.cases.NAME...``) must name one of the cases: a misspelt name would add a case."""
    for text in assignments:
        key, value = parse_assignment(text)
        _check_case_edit(data, key)
        data = set_dotted(data, key, value)
    if seed is not None:
        data = set_dotted(data, "seed", seed)
    return data


def _check_case_edit(data: dict, key: str) -> None:
    """``InputError`` if ``key`` edits inside ``sweep.cases.NAME`` and the sweep has no case NAME."""
    parts = split_key(key)
    if len(parts) < 3 or parts[:2] != ["sweep", "cases"]:
        return
    sweep = data.get("sweep")
    if sweep is not None and not isinstance(sweep, dict):  # not a mapping: the edit or the schema reports it
        return
    cases = (sweep or {}).get("cases")
    if not isinstance(cases, dict):
        if cases is None:
            raise InputError(f"--set {brief(key)}: the sweep has no cases; add the case to the scenario's "
                             "sweep.cases, or give the whole mapping with --set 'sweep.cases={NAME: {...}}'")
        return
    if parts[2] not in {str(name) for name in cases}:
        raise InputError(f"--set {brief(key)}: the sweep has no case {brief(parts[2])} (its cases: "
                         f"{', '.join(map(str, cases)) or 'none'}); add a case in the scenario's sweep.cases")


def validate(data: dict, prefix: str = "", base_dir: Path | None = None) -> Scenario:
    """A ``Scenario`` from a raw mapping, or ``InputError`` listing every problem.

    Relative paths are resolved against ``base_dir`` (the scenario file's folder; default: the current one).
    """
    try:
        scenario = Scenario.model_validate(data, context={"base_dir": Path(base_dir or ".").resolve()})
    except ValidationError as exc:
        raise InputError(format_validation_error(exc, Scenario, data, prefix)) from None
    problems = scenario_problems(scenario)
    if problems:
        raise InputError([prefix + p for p in problems])
    return scenario


def load_scenario(path: str | Path, assignments: Sequence[str] = (), seed: int | None = None) -> Scenario:
    return validate(apply_edits(read_raw(path), assignments, seed), base_dir=Path(path).parent)


def shadowed_assignments(data: dict, keys: Sequence[str]) -> dict[str, list[str]]:
    """For each ``--set`` key outside ``sweep``, the sweep cases and grid keys whose edits replace it (an edit
    of the same key or of a mapping or list above it, applied after the command line's). A key replaced by a
    grid key, or by every case, reaches no variant. A case the command line also edits at that key (``--set
    'sweep.cases.NAME[stop.max_rounds]=5'`` beside ``--set stop.max_rounds=20``) is not named: it was told."""
    sweep = data.get("sweep") if isinstance(data.get("sweep"), dict) else {}
    cases = sweep.get("cases") if isinstance(sweep.get("cases"), dict) else {}
    grid = sweep.get("grid") if isinstance(sweep.get("grid"), dict) else {}

    def replaces(edit: str, key: str) -> bool:
        return key == edit or key.startswith(edit + ".")

    told = [(parts[2], ".".join(parts[3:])) for parts in map(split_key, keys)
            if len(parts) > 3 and parts[:2] == ["sweep", "cases"]]  # (case, the key inside it) edited here
    shadowed = {}
    for key in keys:
        if key == "sweep" or key.startswith("sweep.") or key == "seed":
            continue
        by = [f"case {name}" for name, edits in cases.items()
              if isinstance(edits, dict) and any(replaces(edit, key) for edit in edits)
              and not any(case == str(name) and replaces(edit, key) for case, edit in told)]
        by += [f"grid {edit}" for edit in grid if replaces(edit, key)]
        if by:
            shadowed[key] = by
    return shadowed


@dataclass(frozen=True)
class Variant:
    """One point of a sweep: its parameters (dotted key -> value, plus seed) and its scenario."""

    index: int
    params: dict[str, Any]
    scenario: Scenario
    labels: dict[str, str] = field(default_factory=dict)
    """Grid key -> the label ``sweep.labels`` gives this variant's value (only keys that have labels)."""


def expand_sweep(data: dict, base_dir: Path | None = None) -> list[Variant]:
    """Every case x grid point x seed of the ``sweep:`` block, each validated as its own scenario.

    A case's edits are applied first, then the grid's values, then the seed.
    """
    base = {k: v for k, v in data.items() if k != "sweep"}
    sweep = validate(data, base_dir=base_dir).sweep
    if sweep and "seed" in sweep.grid:
        raise InputError("sweep.grid.seed: list the seeds under sweep.seeds (every variant runs once per seed)")
    cases = dict(sweep.cases) if sweep and sweep.cases else {None: {}}
    grid = dict(sweep.grid) if sweep else {}
    seeds = list(sweep.seeds) if sweep and sweep.seeds else [base.get("seed", 0)]
    keys = list(grid)
    variants, problems = [], []
    for case, positions, seed in itertools.product(cases, itertools.product(*(range(len(grid[k])) for k in keys)),
                                                   seeds):
        values = [grid[k][i] for k, i in zip(keys, positions)]
        params = ({"case": case} if case is not None else {}) | dict(zip(keys, values)) | {"seed": seed}
        variant_data = base
        for key, value in [*cases[case].items(), *zip(keys, values), ("seed", seed)]:
            variant_data = set_dotted(variant_data, key, value)
        label = ", ".join(f"{k}={v}" for k, v in params.items())
        label = label if len(label) <= 120 else label[:119] + "…"
        try:
            labels = {k: sweep.labels[k][i] for k, i in zip(keys, positions) if k in sweep.labels}
            variants.append(Variant(len(variants), params,
                                    validate(variant_data, f"sweep variant ({label}): ", base_dir), labels))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return variants
