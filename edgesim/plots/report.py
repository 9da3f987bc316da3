"""``report.html``: one self-contained page per run or sweep, its summary, tables and figures.

The page needs nothing but itself: the figures are embedded as base64 PNGs and
the style is inline, so it opens offline in any browser and can be mailed or
archived alone. ``edgesim plot`` writes it after the figures.
"""

from __future__ import annotations

import base64
from html import escape
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from edgesim.contract import REPORT_FILE
from edgesim.plots.data import read_summary
from edgesim.results.sweep_summary import (SEPARATED_HEADERS, UNSEPARATED_HEADERS, SweepSummary, display_rows,
                                           separated_rows, separation_note, unseparated_rows)
from edgesim.time_scale import time_scale
from edgesim.units import energy_unit

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } figure { margin: 1.5rem 0; } img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #555; } .note { color: #555; font-size: 0.9rem; }
"""
CAPTIONS = {
    "accuracy.png": "Test accuracy over simulated time, with the target and when it was reached.",
    "staleness.png": "Staleness of the applied updates.",
    "timeline.png": "What every device (or a per-group sample) did over simulated time.",
    "k.png": "K, the updates aggregated per iteration.",
    "lr.png": "The learning rates the server used.",
    "iteration_time.png": "Simulated time per server iteration.",
    "dominance.png": "Iterations in which one update outweighs the rest.",
    "sweep_time_to_target.png": "Time to target per variant: mean over seeds, 95% t-interval, one dot per seed.",
    "sweep_staleness.png": "Staleness of applied updates per variant (ECDF, seeds pooled).",
    "sweep_accuracy.png": "Accuracy over simulated time: mean over seeds, band = the seeds' range.",
    "sweep_bytes_time.png": "Bytes moved against time to target, one point per run.",
    "sweep_energy_time.png": "Energy spent until the target against time to target, one point per run.",
}


def write_run_report(run_dir: Path, figures: list[Path]) -> Path:
    """Write ``run_dir/report.html`` from its ``summary.json`` and ``figures``; return its path."""
    run_dir = Path(run_dir)
    summary = read_summary(run_dir)
    name = " · ".join(str(summary[k]) for k in ("scenario", "algorithm") if summary.get(k) is not None)
    seed = f" · seed {summary['seed']}" if summary.get("seed") is not None else ""
    body = [f"<h1>Run report: {escape(name or run_dir.name)}{escape(seed)}</h1>",
            f"<p class='note'>{escape(str(run_dir))}</p>"]
    if summary:
        body += ["<h2>Summary</h2>", _table(["quantity", "value"], _run_rows(summary))]
    else:
        body.append("<p>No summary.json: the run has not ended, or its directory was copied without it.</p>")
    body += _figures(figures)
    return _write(run_dir, f"edgesim run report: {name or run_dir.name}", body)


def write_sweep_report(sweep_dir: Path, figures: list[Path], sweep: pd.DataFrame, summary: SweepSummary) -> Path:
    """Write ``sweep_dir/report.html`` from its ``sweep.csv`` as read (``read_sweep``), its ``summary``
    (``summarise_sweep``) and ``figures``; return its path."""
    sweep_dir = Path(sweep_dir)
    counts = sweep["status"].value_counts() if "status" in sweep else {}
    states = ", ".join(f"{count} {state}" for state, count in counts.items())
    headers, rows = display_rows(summary)
    names = {read_summary(sweep_dir / str(d)).get("scenario") for d in sweep["run_dir"]} - {None}
    title = ", ".join(sorted(map(str, names))) or sweep_dir.name
    body = [f"<h1>Sweep report: {escape(title)}</h1>",
            f"<p class='note'>{escape(str(sweep_dir))}: {len(sweep)} runs ({escape(states)})</p>",
            "<h2>Summary (seeds pooled)</h2>", _table(headers, rows),
            f"<p>{escape(separation_note(summary, 'listed below'))}</p>"]
    separated = separated_rows(summary)
    if separated:
        body += ["<h3>Separated by their intervals</h3>", _table(list(SEPARATED_HEADERS), separated)]
    unseparated = unseparated_rows(summary)
    if unseparated:
        body += [f"<details><summary>{len(unseparated)} comparisons not separated</summary>",
                 _table(list(UNSEPARATED_HEADERS), unseparated), "</details>"]
    body += _figures(figures)
    return _write(sweep_dir, f"edgesim sweep report: {title}", body)


def _run_rows(summary: dict) -> list[list[str]]:
    scale = time_scale(summary.get("sim_time_s") or 0.0)

    def seconds(key):
        value = summary.get(key)
        return "–" if value is None else f"{scale.format(value)} ({value:.1f} s)"

    def plain(key, form="{}"):
        value = summary.get(key)
        return "–" if value is None else form.format(value)

    unit, per_joule = energy_unit(summary.get("energy_j") or 0.0)

    def joules(key):
        value = summary.get(key)
        return "–" if value is None else f"{value / per_joule:.3g} {unit}"

    status = plain("status") + (f": {summary['reason']}" if summary.get("reason") else "")
    return [
        ["status", status], ["stopped by", plain("stop_reason")],
        ["final accuracy", plain("final_accuracy", "{:.4f}")], ["best accuracy", plain("best_accuracy", "{:.4f}")],
        ["target accuracy", plain("target_accuracy", "{:g}")], ["time to target", seconds("time_to_target_s")],
        ["rounds to target", plain("rounds_to_target")], ["rounds or iterations", plain("rounds")],
        ["simulated time", seconds("sim_time_s")],
        ["bytes up / down", f"{plain('bytes_up', '{:,}')} / {plain('bytes_down', '{:,}')}"],
        ["updates applied / discarded", f"{plain('updates_applied')} / {plain('updates_discarded')}"],
        ["staleness mean / p50 / p95", " / ".join(plain(k, "{:g}") for k in
                                                   ("staleness_mean", "staleness_p50", "staleness_p95"))],
        ["energy / to target", f"{joules('energy_j')} / {joules('energy_to_target_j')}"],
        ["energy lost (share)", f"{joules('energy_lost_j')} ({plain('energy_lost_share', '{:.1%}')})"],
        ["battery drop-outs (low at start)",
         f"{plain('battery_dropouts')} ({plain('battery_low_at_start')}) of {plain('battery_devices')} devices"],
        ["failures", plain("failures")], ["devices (excluded)", f"{plain('devices')} ({plain('devices_excluded')})"],
        ["wall time", plain("wall_time_s", "{:.1f} s")],
    ]


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    cells = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"


def _figures(paths: list[Path]) -> list[str]:
    if not paths:
        return ["<h2>Figures</h2>", "<p>No figure could be drawn from this directory's files.</p>"]
    parts = ["<h2>Figures</h2>"]
    for path in paths:
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        caption = CAPTIONS.get(Path(path).name, "")
        parts.append(f"<figure><img alt='{escape(Path(path).name)}' src='data:image/png;base64,{data}'>"
                     f"<figcaption><b>{escape(Path(path).name)}</b> {escape(caption)}</figcaption></figure>")
    return parts


def _write(directory: Path, title: str, body: list[str]) -> Path:
    try:
        made_by = f"edgesim {version('edgesim')}"
    except PackageNotFoundError:
        made_by = "edgesim"
    page = ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(body) + f"\n<p class='note'>Written by {escape(made_by)}.</p>\n</body></html>\n")
    path = directory / REPORT_FILE
    path.write_text(page, encoding="utf-8")
    return path
