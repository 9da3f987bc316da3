"""Readable labels for swept factors: ``pareto α=1.5``, ``lognormal σ=1``, ``bimodal 10%×10``.

A ``sweep.csv`` cell holds a factor's value as text (mappings and lists as
compact JSON, see ``edgesim.sweep.table.param_cell``); figures and summaries
show these labels instead. A case column's cells are the case names. Labels a scenario gives in
``sweep.labels`` (kept in ``labels.json``) come first.
"""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd

from edgesim.contract import SWEEP_ID_COLUMNS, SWEEP_SUMMARY_COLUMNS

GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "sigma": "σ", "mu": "μ", "lambda": "λ", "eta": "η",
         "tau": "τ", "epsilon": "ε", "eps": "ε", "omega": "ω", "rho": "ρ", "theta": "θ", "kappa": "κ"}


def factor_columns(sweep: pd.DataFrame) -> list[str]:
    """The swept keys of ``sweep.csv`` whose value varies (``seed`` excluded), in file order."""
    not_factors = set(SWEEP_ID_COLUMNS) | set(SWEEP_SUMMARY_COLUMNS) | {"seed"}
    return [c for c in sweep.columns if c not in not_factors and sweep[c].nunique(dropna=False) > 1]


def factor_names(columns: list[str]) -> dict[str, str]:
    """Each swept key's short name: its shortest dotted tail that no other column shares
    (``fleet.stragglers`` -> ``stragglers``, but ``fleet.groups.0.stragglers`` beside it -> ``0.stragglers``)."""
    names = {}
    for column in columns:
        parts = column.split(".")
        for depth in range(1, len(parts) + 1):
            tail = ".".join(parts[-depth:])
            if not any(other != column and (other == tail or other.endswith("." + tail)) for other in columns):
                break
        names[column] = tail
    return names


def value_label(cell) -> str:
    """The label of one ``sweep.csv`` cell (text, a number, or NaN for an empty cell)."""
    if cell is None or (isinstance(cell, float) and cell != cell):
        return "–"
    text = str(cell)
    if text[:1] in "{[":
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return text
        return _structure_label(value)
    return _number(text)


def _structure_label(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_structure_label(v) for v in value) + "]"
    if not isinstance(value, dict):
        return _number(value)
    fields = dict(value)
    kind = fields.pop("kind", None)
    if kind == "bimodal" and set(fields) == {"fraction", "factor"}:
        return f"bimodal {_number(100 * fields['fraction'])}%×{_number(fields['factor'])}"
    parts = [f"{GREEK.get(key, key)}={_structure_label(v)}" for key, v in fields.items()]
    return " ".join(([str(kind)] if kind is not None else []) + parts)


def _number(value) -> str:
    """Numbers without trailing zeros (``1.0`` -> ``1``); anything else as written."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if isinstance(value, bool) or str(value).lower() in ("nan", "inf", "-inf", "infinity"):
        return str(value)
    return f"{number:g}" if number == number else str(value)


def factor_labels(sweep: pd.DataFrame, columns: list[str], custom: dict[str, dict[str, str]] | None = None
                  ) -> pd.DataFrame:
    """The ``columns`` of ``sweep`` as labels: ``custom[column][cell]`` where given, else ``value_label``.
    Distinct values never share a label: where readable labels would coincide (``0.05`` and ``0.05000001``
    both read ``0.05``), those values are labelled as ``sweep.csv`` writes them."""
    custom = custom or {}
    frame = pd.DataFrame(index=sweep.index)
    for column in columns:
        given = {_normal(cell): label for cell, label in custom.get(column, {}).items()}
        chosen = {_normal(cell): given.get(_normal(cell)) or value_label(cell) for cell in sweep[column]}
        raw = {_normal(cell): str(cell) for cell in sweep[column]}
        shared = {label for label, count in Counter(chosen.values()).items() if count > 1}
        frame[column] = [raw[_normal(cell)] if chosen[_normal(cell)] in shared else chosen[_normal(cell)]
                         for cell in sweep[column]]
    return frame


def _normal(cell) -> str:
    """A cell's text as ``labels.json`` and ``sweep.csv`` both spell it (numbers read back as floats)."""
    text = "" if cell is None or (isinstance(cell, float) and cell != cell) else str(cell)
    try:
        return repr(float(text))
    except ValueError:
        return text
