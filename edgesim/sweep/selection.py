"""``edgesim sweep --only``: which of a sweep's variants to run, chosen by their ``sweep.csv`` parameters.

Each ``--only KEY=VALUE`` names a parameter column of ``sweep.csv`` (``case``, a grid key, or ``seed``) and
one of its values, or ``variant`` and a variant's number (``sweep.csv``'s first column, ``run-<number>``, a whole
number written as YAML reads it): as the table writes it, as ``--set`` would read it (YAML: ``1`` is ``1.0``,
``{kind: none}`` a mapping), or, when it names no value, as the grid value's label in ``sweep.labels``.
Values given for the same key are alternatives; different keys must all match. The variants keep their
numbers (``run-<index>``), so a sweep run part by part, in one ``--out``, ends with the same directories
and table as one run whole.
"""

from __future__ import annotations

from typing import Any

from edgesim.errors import InputError
from edgesim.scenario import Variant
from edgesim.sweep.table import param_cell
from edgesim.yaml_file import parse_yaml

VARIANT = "variant"  # sweep.csv's first column: a variant's number, the one in its run-<number> directory


def parse_only(options: list[str]) -> dict[str, list[str]]:
    """``["case=fedavg", "seed=1", "seed=2"]`` -> ``{"case": ["fedavg"], "seed": ["1", "2"]}``.

    Raises ``InputError`` for an option without ``=`` or with an empty key."""
    wanted: dict[str, list[str]] = {}
    for option in options:
        key, equals, value = option.partition("=")
        if not equals or not key.strip():
            raise InputError(f"--only {option}: give KEY=VALUE, a column of sweep.csv and one of its "
                             "values, e.g. --only case=fedavg or --only seed=2")
        values = wanted.setdefault(key.strip(), [])
        if value.strip() not in values:
            values.append(value.strip())
    return wanted


def select_variants(variants: list[Variant], wanted: dict[str, list[str]]) -> list[int]:
    """The indexes of the variants whose parameters match ``wanted`` (see ``parse_only``), in order; every
    index when ``wanted`` is empty.

    Raises ``InputError`` naming the sweep's parameter columns for a key it lacks, and the key's values for
    a value no variant has (for ``variant``, the range of the sweep's numbers)."""
    if not wanted:
        return [v.index for v in variants]
    columns = list(variants[0].params) if variants else []
    problems, matching = [], []
    for key, texts in wanted.items():
        if key == VARIANT:  # not a grid key: the schema has no top-level 'variant'
            numbers = {v.index for v in variants}
            chosen = {text: {number} if (number := _whole_number(text)) in numbers else set() for text in texts}
            missing = f"no variant has that number; give a whole number, 0 to {len(variants) - 1}"
        elif key in columns:
            chosen = {text: _chosen_by(variants, key, text) for text in texts}
            shown = dict.fromkeys(_shown(v, key) for v in variants)
            missing = f"no variant has it; the sweep's values of {key} are {', '.join(shown)}"
        else:
            problems.append(f"--only {key}=...: not a parameter of this sweep; its parameters are "
                            f"{', '.join(columns)}, and {VARIANT} its variants' numbers")
            continue
        problems.extend(f"--only {key}={text}: {missing}" for text, indexes in chosen.items() if not indexes)
        matching.append(set().union(*chosen.values()))
    if problems:
        raise InputError(problems)
    chosen = sorted(set.intersection(*matching))
    if not chosen:
        raise InputError("--only " + " --only ".join(f"{key}={text}" for key, texts in wanted.items()
                                                     for text in texts)
                         + ": no variant matches every key (different keys must all match)")
    return chosen


def _whole_number(text: str) -> int | None:
    """``text`` read as YAML (``3``, ``+3``, ``3.0``) when that is a whole number, else ``None``."""
    try:
        value = parse_yaml(text, "--only variant")
    except (InputError, ValueError):  # not YAML, or an integer too long to read
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        return None  # also .inf and .nan
    return int(value)


def _chosen_by(variants: list[Variant], key: str, text: str) -> set[int]:
    """The indexes of the variants whose value of ``key`` ``text`` names: by value (its ``sweep.csv`` cell,
    or the same value read as YAML), else, when it names no value, by label."""
    by_value = {v.index for v in variants if _names_value(text, key, v.params[key])}
    return by_value or {v.index for v in variants if v.labels.get(key) == text}


def _names_value(text: str, key: str, value: Any) -> bool:
    """Whether ``text`` is ``value`` as ``sweep.csv`` writes it, or read as YAML."""
    if text == param_cell(value):
        return True
    try:
        given = parse_yaml(text, f"--only {key}")
    except InputError:  # not YAML: only the cell's text could match, and did not
        return False
    return _same_value(given, value)


def _same_value(given: Any, value: Any) -> bool:
    """Equality of plain data in which ``1`` is ``1.0`` but ``true`` is not ``1``."""
    if isinstance(given, bool) or isinstance(value, bool):
        return type(given) is type(value) and given == value
    if isinstance(given, (int, float)) and isinstance(value, (int, float)):
        return given == value
    if isinstance(given, dict) and isinstance(value, dict):
        return given.keys() == value.keys() and all(_same_value(given[k], value[k]) for k in given)
    if isinstance(given, list) and isinstance(value, list):
        return len(given) == len(value) and all(_same_value(a, b) for a, b in zip(given, value))
    return type(given) is type(value) and given == value


def _shown(variant: Variant, key: str) -> str:
    """The variant's value of ``key`` as ``sweep.csv`` writes it, with its label if it has one."""
    label = variant.labels.get(key)
    return param_cell(variant.params[key]) + (f" ({label})" if label else "")
