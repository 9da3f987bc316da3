"""Device timeline: one row per device with its phases, down time, unavailability, low battery and round
boundaries.

Phase bars come straight from ``*_end`` / ``*_interrupted`` rows (a phase began
at ``sim_time_s - duration_s``); down time pairs each ``failure`` with the
device's next event of the pair (``recovery``), and likewise ``unavailable``
with ``available`` and ``battery_low`` with ``battery_ok`` (shown only in runs
with batteries); a span still open at the end of the run lasts to its end.
Bars are drawn with one ``broken_barh`` per device and category, so 100k+
event rows render in a few seconds. A fleet of more than ``MAX_DEVICES``
devices is sampled per group (the id before its last ``-``), every group
keeping its share of the rows, evenly spaced, and the title says so; late
updates the server discarded are marked where they arrived.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from edgesim.plots.figure import png_figure, run_title
from edgesim.time_scale import time_scale

MAX_DEVICES = 60
MAX_ROUND_LINES = 200
SERVER = "server"

PHASE_COLOURS = {"download": "tab:blue", "compute": "tab:green", "upload": "tab:orange"}
PHASE_KINDS = tuple(f"{phase}_{outcome}" for phase in PHASE_COLOURS for outcome in ("end", "interrupted"))
INTERRUPTED_EDGE = "tab:red"
# (start kind, end kind, colour, legend label) of each state drawn as a full-height span.
STATE_SPANS = (
    ("unavailable", "available", "#e8dcb5", "unavailable"),
    ("failure", "recovery", "#8c8c8c", "down (failure → recovery)"),
    ("battery_low", "battery_ok", "#c9a0dc", "battery low (until recharged)"),
)
OPTIONAL_SPANS = ("battery_low",)
"""States drawn, and in the legend, only when the run has them."""


def _natural_key(device: str) -> tuple:
    """Sort ``pi4-10`` after ``pi4-9``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", device))


def device_group(device: str) -> str:
    """``budget-12`` -> ``budget``: a device id's group (edgesim names devices ``<group>-<index>``)."""
    return device.rsplit("-", 1)[0] if "-" in device else device


def sample_per_group(devices: list[str], limit: int) -> tuple[list[str], dict[str, tuple[int, int]]]:
    """At most ``limit`` of ``devices`` (in order), each group keeping its share of them (at least one),
    evenly spaced within the group; also ``{group: (shown, total)}`` in first-appearance order."""
    groups: dict[str, list[str]] = {}
    for device in devices:
        groups.setdefault(device_group(device), []).append(device)
    if len(devices) <= limit:
        return devices, {g: (len(members), len(members)) for g, members in groups.items()}
    quota = {g: max(1, int(limit * len(members) / len(devices))) for g, members in groups.items()}
    for g in sorted(groups, key=lambda g: len(groups[g]) * limit / len(devices) - quota[g], reverse=True):
        if sum(quota.values()) >= limit:
            break
        quota[g] += quota[g] < len(groups[g])
    kept = set()
    for g, members in groups.items():
        picks = np.linspace(0, len(members) - 1, min(quota[g], len(members))).round().astype(int)
        kept.update(members[i] for i in picks)
    shown = [d for d in devices if d in kept]
    return shown, {g: (sum(device_group(d) == g for d in shown), len(members)) for g, members in groups.items()}


def _spans(events: pd.DataFrame, start_kind: str, end_kind: str, end_s: float) -> pd.DataFrame:
    """``(device, start, duration)`` of each ``start_kind`` row, lasting until the device's next
    ``start_kind`` or ``end_kind`` row (or ``end_s``)."""
    pair = events[events["kind"].isin((start_kind, end_kind))].sort_values(["device", "sim_time_s"], kind="stable")
    following = pair.groupby("device", sort=False)["sim_time_s"].shift(-1).fillna(end_s)
    starts = pair["kind"] == start_kind
    return pd.DataFrame({
        "device": pair.loc[starts, "device"],
        "start": pair.loc[starts, "sim_time_s"],
        "duration": following[starts] - pair.loc[starts, "sim_time_s"],
    })


def _bars(ax, spans: pd.DataFrame, rows: dict[str, int], height: float, **style) -> None:
    """One ``broken_barh`` per device for ``spans`` (columns device, start, duration; already scaled)."""
    spans = spans[spans["device"].isin(rows)]
    for device, group in spans.groupby("device", sort=False):
        y = rows[device]
        ax.broken_barh(np.column_stack((group["start"], group["duration"])), (y - height / 2, height), **style)


def timeline_figure(events: pd.DataFrame, summary: dict, path: Path | None = None) -> Figure:
    """The device timeline of one run, saved as a PNG at ``path`` when given."""
    devices = sorted(events.loc[events["device"] != SERVER, "device"].dropna().unique(), key=_natural_key)
    shown, per_group = sample_per_group(devices, MAX_DEVICES)
    rows = {device: index for index, device in enumerate(shown)}
    excluded = set(events.loc[events["kind"] == "excluded", "device"])
    end_s = max(events["sim_time_s"].max(skipna=True) if len(events) else 0.0, summary.get("sim_time_s") or 0.0)
    scale = time_scale(end_s)

    notes = [] if devices else ["no device events"]
    if len(devices) > len(shown):
        groups = ", ".join(f"{g} {n}/{total}" for g, (n, total) in per_group.items())
        notes.append(f"{len(shown)} of {len(devices)} devices, evenly spaced per group: {groups}")
    round_ends = events.loc[(events["device"] == SERVER) & (events["kind"] == "round_end"), "sim_time_s"]
    if len(round_ends) > MAX_ROUND_LINES:
        notes.append(f"{len(round_ends)} round boundaries not drawn")

    height = min(2.0 + 0.22 * max(len(shown), 1), 18.0)
    with png_figure(path, size=(12.0, height)) as (figure, ax):
        handles = []
        for start_kind, end_kind, colour, label in STATE_SPANS:
            spans = _spans(events, start_kind, end_kind, end_s)
            if start_kind in OPTIONAL_SPANS and spans.empty:
                continue
            spans[["start", "duration"]] = scale.convert(spans[["start", "duration"]])
            _bars(ax, spans, rows, 1.0, facecolors=colour, linewidth=0, zorder=1)
            handles.append(Patch(facecolor=colour, label=label))

        phases = events[events["kind"].isin(PHASE_KINDS) & events["duration_s"].notna()]
        phases = pd.DataFrame({
            "device": phases["device"].values,
            "phase": phases["kind"].str.replace(r"_(end|interrupted)$", "", regex=True).values,
            "interrupted": phases["kind"].str.endswith("_interrupted").values,
            "start": scale.convert(phases["sim_time_s"].values - phases["duration_s"].values),
            "duration": scale.convert(phases["duration_s"].values),
        })
        for name, colour in PHASE_COLOURS.items():
            of_phase = phases[phases["phase"] == name]
            _bars(ax, of_phase[~of_phase["interrupted"]], rows, 0.6, facecolors=colour, linewidth=0, zorder=2)
            _bars(ax, of_phase[of_phase["interrupted"]], rows, 0.6, facecolors=colour, alpha=0.55,
                  edgecolors=INTERRUPTED_EDGE, linewidth=0.8, hatch="////", zorder=3)
            handles.append(Patch(facecolor=colour, label=name))
        handles.append(Patch(facecolor="white", edgecolor=INTERRUPTED_EDGE, hatch="////", label="interrupted phase"))

        discarded = events[(events["kind"] == "update_discarded") & events["device"].isin(rows)]
        if len(discarded):
            ax.scatter(scale.convert(discarded["sim_time_s"]), discarded["device"].map(rows), marker="x",
                       color="black", s=16, linewidths=1.0, zorder=5)
            handles.append(Line2D([], [], color="black", marker="x", linestyle="", label="update discarded (late)"))

        if 0 < len(round_ends) <= MAX_ROUND_LINES:
            ax.vlines(scale.convert(round_ends.values), 0, 1, transform=ax.get_xaxis_transform(),
                      colors="black", linewidth=0.5, alpha=0.5, zorder=4)
            handles.append(Line2D([], [], color="black", linewidth=0.5, alpha=0.5, label="round end"))

        ax.set_yticks(range(len(shown)), [f"{d} (excluded)" if d in excluded else d for d in shown],
                      fontsize=8 if len(shown) <= 30 else 6)
        ax.set_ylim(max(len(shown), 1) - 0.5, -0.5)
        ax.set_xlim(0, scale.convert(end_s) or 1)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(scale.label())
        ax.set_ylabel("device")
        ax.set_title(run_title("Device timeline", summary, "; ".join(notes)))
        figure.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 8), fontsize=8, frameon=False)
    return figure
