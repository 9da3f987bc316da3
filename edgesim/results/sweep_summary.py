"""A sweep's answer: its runs grouped by the swept factors, aggregated over seeds.

``summarise_sweep`` turns ``sweep.csv`` into one row per variant (every
combination of the factors that vary, seeds pooled), in the order the sweep
defines them: time to target with a 95% confidence interval, rounds to
target, final and best accuracy, staleness, bytes and discarded updates, and
the share of seeds that reached the target. It then compares every two
variants that differ in one factor only: where their intervals overlap, the
seeds run cannot separate them, and ``seeds_to_separate`` says how many seeds
each would need for the intervals to come apart if the measured means and
spreads held.
``write_sweep_summary`` writes ``summary.csv`` and ``summary.md`` beside
``sweep.csv``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from edgesim import outcome
from edgesim.contract import SWEEP_SUMMARY_CSV, SWEEP_SUMMARY_MD
from edgesim.results.factor_labels import factor_columns, factor_labels, factor_names
from edgesim.time_scale import time_scale
from edgesim.units import byte_unit, energy_unit

CONFIDENCE = 0.95
OVERLAP = "intervals overlap"
MOST_SEEDS = 10_000
"""``seeds_to_separate`` looks no further."""
FAILED_STATES = (outcome.FAILED, outcome.INVALID)
MEANS = ("rounds_to_target", "final_accuracy", "best_accuracy", "staleness_mean", "staleness_p50",
         "staleness_p95", "bytes_up", "bytes_down", "updates_discarded", "energy_j", "energy_to_target_j",
         "energy_lost_share", "battery_dropouts")
"""Per-run columns of ``sweep.csv`` averaged over a variant's finished runs."""
TABLE_COLUMNS = ("runs", "not_finished", "failed", "reached", "reached_share", "time_to_target_s_mean",
                 "time_to_target_s_ci_low", "time_to_target_s_ci_high",
                 *(f"{name}_mean" if not name.startswith("staleness") else name for name in MEANS))
"""``summary.csv``'s columns after the factors."""


@dataclass(frozen=True)
class Comparison:
    """Two variants that differ in one factor, and whether their time-to-target intervals separate them."""

    first: str
    second: str
    separated: bool
    seeds_needed: int | None
    """Seeds per variant a difference this size would need (None: separated, or no difference measured)."""
    why: str
    sooner: str = ""
    """The variant whose mean time to target is shorter (``first`` or ``second``); empty unless both finished
    and both have a run that reached the target (and the means differ)."""
    ratio: float | None = None
    """The longer mean time to target over the shorter, when ``sooner`` is set."""


@dataclass(frozen=True)
class SweepSummary:
    factors: list[str]
    """The swept columns that vary (``seed`` excluded), as short names, in ``sweep.csv`` order."""
    table: pd.DataFrame
    """One row per variant: the factors' labels, then the aggregates (times in seconds)."""
    comparisons: list[Comparison]
    counts: pd.DataFrame
    """Per row of ``table``: how many finished runs have a value for each of ``MEANS``."""
    target_set: bool
    """Whether the runs had a ``stop.target_accuracy`` (without one there is no time to compare)."""


def summarise_sweep(sweep: pd.DataFrame, custom: dict[str, dict[str, str]] | None = None) -> SweepSummary:
    """Aggregate ``sweep.csv`` (as read by ``edgesim.plots.data.read_sweep``) over seeds; ``custom``:
    the labels of ``labels.json`` (``{column: {cell: label}}``), used before the readable defaults."""
    columns = factor_columns(sweep)
    labels = factor_labels(sweep, columns, custom)
    names = factor_names(columns)
    keys = [tuple(row) for row in labels.itertuples(index=False)] if columns else [()] * len(sweep)
    order = list(dict.fromkeys(keys))  # first appearance: the sweep's own order of cases, grid values
    finished = sweep["status"].isin(outcome.FINISHED) if "status" in sweep else pd.Series(True, sweep.index)
    rows, samples, counts = [], {}, []
    for key in order:
        runs = sweep[[k == key and done for k, done in zip(keys, finished)]]
        others = sweep[[k == key and not done for k, done in zip(keys, finished)]]
        failed = int(others["status"].isin(FAILED_STATES).sum()) if "status" in others else 0
        reached = _numbers(runs, "time_to_target_s").dropna()
        low, high = t_interval(reached)
        row = dict(zip((names[c] for c in columns), key))
        row.update({"runs": len(runs), "not_finished": len(others) - failed, "failed": failed,
                    "reached": len(reached),
                    "reached_share": len(reached) / len(runs) if len(runs) else math.nan,
                    "time_to_target_s_mean": reached.mean() if len(reached) else math.nan,
                    "time_to_target_s_ci_low": low, "time_to_target_s_ci_high": high})
        values = {name: _numbers(runs, name) for name in MEANS}
        row.update({f"{name}_mean" if not name.startswith("staleness") else name: values[name].mean()
                    for name in MEANS})
        rows.append(row)
        counts.append({name: int(values[name].notna().sum()) for name in MEANS})
        samples[key] = reached
    factors = [names[c] for c in columns]
    table = pd.DataFrame(rows, columns=[*factors, *TABLE_COLUMNS])
    target_set = "target_accuracy" not in sweep or _numbers(sweep, "target_accuracy").notna().any()
    unready = {key: _unready(row) for key, row in zip(order, rows)}
    comparisons = [_compare(a, b, samples[a], samples[b], unready[a] or unready[b])
                   for a, b in combinations(order, 2) if sum(x != y for x, y in zip(a, b)) == 1] if target_set else []
    return SweepSummary(factors, table, comparisons, pd.DataFrame(counts, columns=list(MEANS)), target_set)


def write_sweep_summary(sweep_dir: Path, sweep: pd.DataFrame,
                        custom: dict[str, dict[str, str]] | None = None) -> SweepSummary:
    """Summarise ``sweep`` and write ``summary.csv`` and ``summary.md`` into ``sweep_dir``."""
    summary = summarise_sweep(sweep, custom)
    summary.table.to_csv(Path(sweep_dir) / SWEEP_SUMMARY_CSV, index=False, float_format="%.6g", lineterminator="\n")
    (Path(sweep_dir) / SWEEP_SUMMARY_MD).write_text(summary_markdown(summary), encoding="utf-8")
    return summary


def display_rows(summary: SweepSummary) -> tuple[list[str], list[list[str]]]:
    """The summary as text cells for a printed table: headers and one row per variant."""
    table = summary.table
    times = table[["time_to_target_s_mean", "time_to_target_s_ci_high"]]
    scale = time_scale(times.max().max() if len(table) else math.nan)
    unit = scale.unit
    bytes_in, per_unit = byte_unit(table[["bytes_up_mean", "bytes_down_mean"]].max().max() if len(table) else 0)
    energy_in, per_joule = energy_unit(table[["energy_j_mean"]].max().max() if len(table) else 0)
    headers = [*summary.factors, "reached", f"time to target ({unit}, {CONFIDENCE:.0%} CI)", "rounds to target",
               "final acc (full test)", "best acc (evaluations)", "staleness mean / p50 / p95",
               f"{bytes_in} up / down", "discarded", f"energy ({energy_in}) / to target", "energy lost", "battery drop-outs"]
    rows = []
    for (_, row), (_, count) in zip(table.iterrows(), summary.counts.iterrows()):
        def some(cell: str, *names: str) -> str:  # says so when the mean is over only some of the runs
            have = min(count[name] for name in names)
            return cell if not 0 < have < row["runs"] else f"{cell} ({have} of {int(row['runs'])} runs)"

        rounds = row["rounds_to_target_mean"]
        rows.append([
            *(str(row[f]) for f in summary.factors),
            _reached_cell(row, summary.target_set),
            (_time_cell(row, scale) if row["runs"] else "–") if summary.target_set else "no target set",
            some(_number(rounds, "{:.1f}" if rounds % 1 else "{:.0f}"), "rounds_to_target"),
            some(_number(row["final_accuracy_mean"], "{:.4f}"), "final_accuracy"),
            some(_number(row["best_accuracy_mean"], "{:.4f}"), "best_accuracy"),
            some(" / ".join(_number(row[c], "{:.1f}") for c in ("staleness_mean", "staleness_p50", "staleness_p95")),
                 "staleness_mean"),
            some(" / ".join(_number(row[c] / per_unit, "{:.3g}") for c in ("bytes_up_mean", "bytes_down_mean")),
                 "bytes_up"),
            some(_number(row["updates_discarded_mean"], "{:.1f}"), "updates_discarded"),
            some(" / ".join(_number(row[c] / per_joule, "{:.3g}")
                            for c in ("energy_j_mean", "energy_to_target_j_mean")), "energy_j"),
            some(_number(row["energy_lost_share_mean"], "{:.1%}"), "energy_lost_share"),
            some(_number(row["battery_dropouts_mean"], "{:.1f}"), "battery_dropouts"),
        ])
    return headers, rows


def separation_note(summary: SweepSummary, listed: str = f"{SWEEP_SUMMARY_MD} lists them") -> str:
    """One sentence on how many one-factor comparisons the seeds can decide; ``listed`` says where the
    undecided ones are listed."""
    total = len(summary.comparisons)
    if not summary.target_set:
        return "No target accuracy was set (stop.target_accuracy), so there is no time to target to compare."
    if not total:
        return "No two variants differ in one factor only; nothing to compare."
    separated = sum(c.separated for c in summary.comparisons)
    overlapping = sum(c.why.startswith(OVERLAP) for c in summary.comparisons)
    undecidable = total - separated - overlapping
    note = (f"{separated} of {total} one-factor comparisons are separated by their {CONFIDENCE:.0%} intervals "
            "of time to target")
    if overlapping:
        needed = sorted(c.seeds_needed for c in summary.comparisons if c.seeds_needed is not None)
        if not needed:
            more = ""
        elif needed[0] == needed[-1]:
            more = f" (its measured difference would need about {needed[0]} seeds per variant)"
        else:
            more = (f" (their measured differences would need {needed[0]} to {needed[-1]} seeds per variant, "
                    f"median {needed[len(needed) // 2]})")
        beyond = sum(c.why == OVERLAP and c.seeds_needed is None for c in summary.comparisons)
        if beyond:
            more += f" ({beyond} would need more than {MOST_SEEDS:,})" if needed else f" (more than {MOST_SEEDS:,})"
        note += f"; the seeds run cannot separate {overlapping}{more}"
    if undecidable:
        note += (f"; {undecidable} cannot be compared (fewer than two seeds reached the target, or runs "
                 "unfinished, failed or invalid)")
    return note + (f" ({listed})." if separated < total else ".")


def summary_markdown(summary: SweepSummary) -> str:
    headers, rows = display_rows(summary)
    lines = ["# Sweep summary", "",
             f"Seeds pooled per variant. Time to target: mean over the seeds that reached it, with a "
             f"{CONFIDENCE:.0%} t-interval (two or more such seeds; clipped at 0); the other columns average the "
             "finished runs that have the value (a cell says when that is only some of them). Final accuracy is the "
             "final model's on the full test set, best accuracy the best of the run's evaluations. Staleness is of "
             "applied updates, in model versions.", "", _markdown_row(headers), "|" + " --- |" * len(headers)]
    lines += [_markdown_row(row) for row in rows]
    lines += ["", separation_note(summary, "listed below")]
    separated = separated_rows(summary)
    if separated:
        lines += ["", "| " + " | ".join(SEPARATED_HEADERS) + " |", "|" + " --- |" * len(SEPARATED_HEADERS)]
        lines += [_markdown_row(row) for row in separated]
    unseparated = unseparated_rows(summary)
    if unseparated:
        lines += ["", "| " + " | ".join(UNSEPARATED_HEADERS) + " |", "|" + " --- |" * len(UNSEPARATED_HEADERS)]
        lines += [_markdown_row(row) for row in unseparated]
    return "\n".join(lines) + "\n"


def _markdown_row(cells) -> str:
    """One markdown table row; a ``|`` inside a cell is escaped so it does not split the cell."""
    return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"


SEPARATED_HEADERS = ("sooner", "than", "slower by")
UNSEPARATED_HEADERS = ("variant", "vs", "measured, not separated", "why not separated", "seeds per variant needed")


def separated_rows(summary: SweepSummary) -> list[list[str]]:
    """The separated comparisons as text cells (``SEPARATED_HEADERS``): the sooner variant, the other, and the
    ratio of their mean times to target (``×2.5``: the other takes 2.5 times as long)."""
    return [[c.sooner, c.second if c.sooner == c.first else c.first, f"×{c.ratio:.2f}"]
            for c in summary.comparisons if c.separated]


def unseparated_rows(summary: SweepSummary) -> list[list[str]]:
    """The other comparisons as text cells (``UNSEPARATED_HEADERS``): the pair, which one was sooner on the
    seeds run and by what ratio of mean times (``–`` when not measured), why the sweep cannot decide, and
    the seeds per variant that would."""
    return [[c.first, c.second, f"{c.sooner} sooner, ×{c.ratio:.2f}" if c.sooner else "–", c.why,
             str(c.seeds_needed) if c.seeds_needed else f"more than {MOST_SEEDS:,}" if c.why == OVERLAP else "–"]
            for c in summary.comparisons if not c.separated]


def _numbers(runs: pd.DataFrame, column: str) -> pd.Series:
    """A column as numbers (NaN where empty); all NaN where ``sweep.csv`` predates the column."""
    if column not in runs:
        return pd.Series(math.nan, index=runs.index, dtype=float)
    return pd.to_numeric(runs[column], errors="coerce")


def t_interval(values) -> tuple[float, float]:
    """The mean's t-interval at ``CONFIDENCE``, its lower end clipped at 0 (times are not negative);
    NaN for fewer than two values. ``values``: a sequence of numbers (seaborn passes a Series)."""
    values = pd.Series(values, dtype=float)
    if len(values) < 2:
        return math.nan, math.nan
    sem = stats.sem(values)
    if sem == 0:
        return float(values.mean()), float(values.mean())
    low, high = stats.t.interval(CONFIDENCE, len(values) - 1, loc=values.mean(), scale=sem)
    return max(0.0, float(low)), float(high)


def _unready(row: dict) -> str:
    """Why a variant cannot be compared whatever its times ("" when it can)."""
    if row["failed"]:
        return "runs failed or were invalid"
    if row["not_finished"]:
        return "not every run has finished"
    return "" if row["runs"] else "no finished run"


def _compare(first: tuple, second: tuple, a: pd.Series, b: pd.Series, unready: str) -> Comparison:
    name_a, name_b = ", ".join(first), ", ".join(second)
    if unready:
        return Comparison(name_a, name_b, False, None, unready)
    measured = {}
    if len(a) and len(b) and a.mean() != b.mean():
        sooner, (fast, slow) = (name_a, (a, b)) if a.mean() < b.mean() else (name_b, (b, a))
        measured = {"sooner": sooner, "ratio": slow.mean() / fast.mean() if fast.mean() > 0 else math.inf}
    if len(a) < 2 or len(b) < 2:
        return Comparison(name_a, name_b, False, None, "fewer than two seeds reached the target", **measured)
    (low_a, high_a), (low_b, high_b) = t_interval(a), t_interval(b)
    if high_a < low_b or high_b < low_a:
        return Comparison(name_a, name_b, True, None, "", **measured)
    if a.mean() == b.mean():
        return Comparison(name_a, name_b, False, None, "intervals overlap; equal means")
    return Comparison(name_a, name_b, False, seeds_to_separate(a, b), OVERLAP, **measured)


def seeds_to_separate(a: pd.Series, b: pd.Series, most: int = MOST_SEEDS) -> int | None:
    """The fewest seeds per variant, more than either sample has, at which the two variants' intervals
    would no longer overlap if their means and standard deviations stayed as measured:
    ``t(n-1) (s_a + s_b) / sqrt(n) < |mean_a - mean_b|``, the summary's own criterion. None beyond ``most``."""
    difference, spread = abs(a.mean() - b.mean()), a.std(ddof=1) + b.std(ddof=1)
    quantile = 1 - (1 - CONFIDENCE) / 2
    for n in range(max(len(a), len(b)) + 1, most + 1):
        if stats.t.ppf(quantile, n - 1) * spread / math.sqrt(n) < difference:
            return n
    return None


def _reached_cell(row, target_set: bool) -> str:
    notes = [f"+{int(row[k])} {what}" for k, what in (("not_finished", "not finished"), ("failed", "failed or invalid"))
             if row[k]]
    runs = int(row["runs"])
    reached = f"{int(row['reached'])}/{runs}" if target_set else f"no target, {runs} run{'s' * (runs != 1)}"
    return reached + (f" ({', '.join(notes)})" if notes else "")


def _time_cell(row, scale) -> str:
    mean = row["time_to_target_s_mean"]
    if not np.isfinite(mean):
        return "not reached"
    low, high = row["time_to_target_s_ci_low"], row["time_to_target_s_ci_high"]
    ci = f" [{scale.convert(low):.3g}, {scale.convert(high):.3g}]" if np.isfinite(low) else " (one seed)"
    return f"{scale.convert(mean):.3g}{ci}"


def _number(value, form: str) -> str:
    return form.format(value) if value is not None and np.isfinite(value) else "–"
