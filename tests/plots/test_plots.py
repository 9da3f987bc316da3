"""Figures are written from run and sweep directories, optional ones only when their data exists."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from plot_fixtures import EVENT_COLUMNS, write_run, write_sweep

from edgesim.errors import InputError
from edgesim.plots import plot_any, plot_run, plot_sweep
from edgesim.plots.data import read_metrics
from edgesim.time_scale import time_scale

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RUN_FIGURES = {"accuracy.png", "staleness.png", "timeline.png"}
ASYNC_FIGURES = {"k.png", "lr.png", "iteration_time.png", "dominance.png"}


def assert_pngs(paths: list[Path], expected: set[str]) -> None:
    assert {path.name for path in paths} == expected
    for path in paths:
        data = path.read_bytes()
        assert data[:8] == PNG_SIGNATURE, path
        assert len(data) > 5_000, path


def test_sync_run_writes_core_figures_only(sync_run: Path) -> None:
    written = plot_run(sync_run)
    assert_pngs(written, RUN_FIGURES)
    assert all(path.parent == sync_run for path in written)
    assert not any((sync_run / name).exists() for name in ASYNC_FIGURES)


def test_async_run_writes_async_figures(async_run: Path) -> None:
    assert_pngs(plot_run(async_run), RUN_FIGURES | ASYNC_FIGURES)


def test_each_async_figure_keys_on_its_column(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", asynchronous=True)
    metrics = pd.read_csv(run_dir / "metrics.csv")
    metrics.drop(columns=["k", "max_weight"]).to_csv(run_dir / "metrics.csv", index=False)
    assert_pngs(plot_run(run_dir), RUN_FIGURES | {"lr.png"})


def test_figures_are_deterministic(sync_run: Path) -> None:
    first = {path: path.read_bytes() for path in plot_run(sync_run)}
    second = {path: path.read_bytes() for path in plot_run(sync_run)}
    assert first == second


def test_a_run_without_metrics_or_summary_still_gets_an_accuracy_figure_saying_why(sync_run: Path) -> None:
    (sync_run / "metrics.csv").unlink()
    (sync_run / "summary.json").unlink()
    assert_pngs(plot_run(sync_run), RUN_FIGURES)


def test_a_constant_k_or_lr_is_stated_not_drawn(tmp_path: Path) -> None:
    from edgesim.plots.async_figures import constant_settings

    run_dir = write_run(tmp_path / "run", asynchronous=True)
    metrics = pd.read_csv(run_dir / "metrics.csv").assign(k=10, lr=0.05)
    metrics.to_csv(run_dir / "metrics.csv", index=False)
    assert_pngs(plot_run(run_dir), RUN_FIGURES | {"iteration_time.png", "dominance.png"})
    assert constant_settings(metrics) == "K = 10 and lr = 0.05 throughout"
    assert constant_settings(metrics.assign(lr=range(len(metrics)))) == "K = 10 throughout"


def test_a_large_fleet_is_sampled_per_group_so_no_group_disappears() -> None:
    from edgesim.plots.timeline import sample_per_group

    devices = [f"budget-{i}" for i in range(40)] + [f"flagship-{i}" for i in range(30)] + \
              [f"pi4-{i}" for i in range(30)]
    shown, per_group = sample_per_group(devices, 60)
    assert len(shown) == 60 and per_group == {"budget": (24, 40), "flagship": (18, 30), "pi4": (18, 30)}
    assert shown[0] == "budget-0" and shown[-1] == "pi4-29"  # evenly spaced, ends included
    assert sample_per_group(devices[:5], 60) == (devices[:5], {"budget": (5, 5)})


def test_run_with_header_only_files(tmp_path: Path) -> None:
    pd.DataFrame(columns=EVENT_COLUMNS).to_csv(tmp_path / "events.csv", index=False)
    pd.DataFrame(columns=["sim_time_s", "round", "model_version", "accuracy", "loss", "k"]).to_csv(
        tmp_path / "metrics.csv", index=False)
    assert_pngs(plot_run(tmp_path), RUN_FIGURES)


def test_target_never_reached(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "run", target=0.99)
    assert json.loads((run_dir / "summary.json").read_text())["time_to_target_s"] is None
    assert_pngs(plot_run(run_dir), RUN_FIGURES)


def test_sweep_figures(sweep_dir: Path) -> None:
    assert_pngs(plot_sweep(sweep_dir), {"sweep_accuracy.png", "sweep_time_to_target.png", "sweep_staleness.png",
                                        "sweep_bytes_time.png"})


def test_sweep_energy_figure_needs_runs_that_spent_energy(sweep_dir: Path) -> None:
    sweep = pd.read_csv(sweep_dir / "sweep.csv")
    sweep["energy_to_target_j"] = 0.0  # profiles without power figures: nothing to draw
    sweep.to_csv(sweep_dir / "sweep.csv", index=False)
    assert "sweep_energy_time.png" not in {path.name for path in plot_sweep(sweep_dir)}
    sweep["energy_to_target_j"] = sweep["time_to_target_s"] * 3.5  # J; empty where the target was missed
    sweep.to_csv(sweep_dir / "sweep.csv", index=False)
    assert_pngs(plot_sweep(sweep_dir), {"sweep_accuracy.png", "sweep_time_to_target.png", "sweep_staleness.png",
                                        "sweep_bytes_time.png", "sweep_energy_time.png"})


def test_sweep_figures_are_deterministic(sweep_dir: Path) -> None:
    first = {path.name: path.read_bytes() for path in plot_sweep(sweep_dir)}
    assert {path.name: path.read_bytes() for path in plot_sweep(sweep_dir)} == first


def test_sweep_without_run_files_writes_the_figures_sweep_csv_alone_can_draw(sweep_dir: Path) -> None:
    for run_dir in pd.read_csv(sweep_dir / "sweep.csv")["run_dir"]:
        (sweep_dir / run_dir / "events.csv").unlink()
        (sweep_dir / run_dir / "metrics.csv").unlink()
    assert_pngs(plot_sweep(sweep_dir), {"sweep_time_to_target.png", "sweep_bytes_time.png"})


def test_an_archived_sweep_draws_accuracy_from_its_gzipped_metrics(sweep_dir: Path) -> None:
    for run_dir in pd.read_csv(sweep_dir / "sweep.csv")["run_dir"]:
        plain = sweep_dir / run_dir / "metrics.csv"
        (sweep_dir / run_dir / "metrics.csv.gz").write_bytes(gzip.compress(plain.read_bytes()))
        expected = read_metrics(sweep_dir / run_dir)
        plain.unlink()
        pd.testing.assert_frame_equal(read_metrics(sweep_dir / run_dir), expected)
    assert "sweep_accuracy.png" in {path.name for path in plot_sweep(sweep_dir)}


def test_plot_any_dispatches(sync_run: Path, sweep_dir: Path) -> None:
    assert {path.name for path in plot_any(sync_run)} == RUN_FIGURES | {"report.html"}
    report = (sync_run / "report.html").read_text()
    assert "<td>energy / to target</td>" in report and "<td>battery drop-outs (low at start)</td>" in report
    written = plot_any(str(sweep_dir))
    assert "sweep_accuracy.png" in {path.name for path in written} and written[-1].name == "report.html"
    assert [path.name for path in written[-3:-1]] == ["summary.csv", "summary.md"]
    assert "| none | 4 |" in (sweep_dir / "summary.md").read_text()  # the summary is written afresh too


def test_plot_any_rejects_other_directories(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="neither a sweep directory"):
        plot_any(tmp_path)
    with pytest.raises(InputError, match="missing: does not exist"):
        plot_any(tmp_path / "missing")
    (tmp_path / "file.csv").write_text("a\n")
    with pytest.raises(InputError, match="not a directory"):
        plot_any(tmp_path / "file.csv")


def test_missing_event_columns_is_an_input_error(sync_run: Path) -> None:
    pd.read_csv(sync_run / "events.csv").drop(columns=["duration_s"]).to_csv(sync_run / "events.csv", index=False)
    with pytest.raises(InputError, match="duration_s"):
        plot_run(sync_run)


def test_a_timeline_of_over_100k_events_is_drawn(tmp_path: Path) -> None:
    # how long it takes is benchmarks/plots.py's to measure (timing belongs in benchmarks, not tests)
    run_dir = write_run(tmp_path / "big", devices=150, rounds=300, per_round=50)
    assert len(pd.read_csv(run_dir / "events.csv")) > 100_000
    written = plot_run(run_dir)
    assert "timeline.png" in {path.name for path in written}


def test_the_timeline_shows_low_battery_spans_only_in_runs_with_batteries() -> None:
    from edgesim.plots.timeline import timeline_figure

    def legend(rows):
        events = pd.DataFrame(rows, columns=["sim_time_s", "device", "kind", "duration_s"])
        figure = timeline_figure(events, {"sim_time_s": 100.0})
        return [text.get_text() for text in figure.legends[0].get_texts()]

    phases = [(10.0, "a-0", "compute_end", 5.0), (20.0, "a-1", "compute_end", 5.0)]
    assert "battery low (until recharged)" not in legend(phases)
    low = [(30.0, "a-1", "battery_low", None), (80.0, "a-1", "battery_ok", None)]
    assert "battery low (until recharged)" in legend(phases + low)


@pytest.mark.parametrize(("span_s", "unit"), [(0, "s"), (90, "s"), (300, "min"), (3 * 3600, "h"), (5 * 86400, "days")])
def test_time_scale_picks_unit(span_s: float, unit: str) -> None:
    assert time_scale(span_s).unit == unit


def test_sweep_parameters_exclude_ids_and_summary(tmp_path):
    from edgesim.plots.data import read_sweep
    from edgesim.results.factor_labels import factor_columns

    sweep = read_sweep(write_sweep(tmp_path / "sweep"))
    assert factor_columns(sweep) == ["fleet.stragglers.kind", "fleet.size"]


def test_figures_have_the_names_the_run_directory_contract_lists(async_run: Path, sweep_dir: Path) -> None:
    """``--overwrite`` removes exactly these names, so the plots must not write others."""
    from edgesim.contract import RUN_FIGURES, SWEEP_FIGURES

    assert {p.name for p in plot_run(async_run)} == set(RUN_FIGURES)
    assert {p.name for p in plot_sweep(sweep_dir)} <= set(SWEEP_FIGURES)


def test_an_unfinished_last_row_is_left_out(sync_run: Path) -> None:
    with open(sync_run / "events.csv", "a") as handle:
        handle.write("12.5,dev-0,compute_st")
    assert {p.name for p in plot_run(sync_run)} >= {"accuracy.png", "timeline.png"}


def test_a_whole_row_that_is_not_numbers_is_an_input_error_naming_its_line(sync_run: Path) -> None:
    lines = (sync_run / "events.csv").read_text().count("\n")
    with open(sync_run / "events.csv", "a") as handle:
        handle.write("abc,dev-0,compute_start,1,0,,,\n")
    with pytest.raises(InputError, match=rf"events.csv, line {lines + 1}: sim_time_s is 'abc', not a number"):
        plot_run(sync_run)


def test_sweep_layout_colours_cases_and_labels_factors_in_the_sweeps_order():
    from edgesim.plots.sweep_figures import labelled_runs

    sweep = pd.DataFrame({"run_dir": ["a", "b", "c", "d"], "case": ["wkafl", "wkafl", "fedavg", "fedavg"],
                          "fleet.stragglers": ['{"kind":"none"}', '{"alpha":1.5,"kind":"pareto"}'] * 2,
                          "seed": [1, 1, 1, 1], "sim_time_s": [1.0] * 4})
    frame, layout = labelled_runs(sweep)
    assert (layout.hue_title, layout.group_title) == ("case", "stragglers")
    assert layout.hue_order == ["wkafl", "fedavg"]  # as the sweep lists its cases, not sorted
    assert layout.group_order == ["none", "pareto α=1.5"]
    assert frame["_group"].tolist() == ["none", "pareto α=1.5"] * 2


def test_runs_saved_without_staleness_statistics_get_them_from_their_events(tmp_path):
    from edgesim.plots.data import read_events, read_sweep

    sweep_dir = write_sweep(tmp_path / "sweep")
    sweep = read_sweep(sweep_dir)
    for _, row in sweep.iterrows():
        events = read_events(sweep_dir / row["run_dir"], columns=("kind", "staleness"))
        applied = events.loc[events["kind"] == "update_applied", "staleness"]
        assert row["staleness_mean"] == pytest.approx(applied.mean())
        assert row["staleness_p95"] == sorted(applied)[math.ceil(0.95 * len(applied)) - 1]


def write_parquet_events(run_dir: Path) -> pd.DataFrame:
    """Write the run's events.csv rows again through the Parquet event log, drop the CSV, return its rows."""
    from edgesim.contract import EVENTS_PARQUET_FILE
    from edgesim.plots.data import read_events
    from edgesim.sim.event_log import EventLog

    rows = read_events(run_dir)
    log = EventLog(run_dir / EVENTS_PARQUET_FILE, flush_every=100, format="parquet")
    for row in rows.astype(object).where(rows.notna(), None).itertuples(index=False):
        log.emit(*row)
    log.close()
    (run_dir / "events.csv").unlink()
    return rows


def test_a_run_with_parquet_events_reads_the_same_table_and_plots_it(sync_run: Path) -> None:
    from edgesim.plots.data import read_events

    rows = write_parquet_events(sync_run)
    pd.testing.assert_frame_equal(read_events(sync_run), rows)
    pd.testing.assert_frame_equal(read_events(sync_run, columns=("kind", "staleness")), rows[["kind", "staleness"]])
    assert_pngs(plot_run(sync_run), RUN_FIGURES)


def test_an_unfinished_parquet_event_table_is_an_input_error(sync_run: Path) -> None:
    from edgesim.plots.data import read_events

    write_parquet_events(sync_run)
    path = sync_run / "events.parquet"
    path.write_bytes(path.read_bytes()[:-100])  # a killed run never writes the footer
    with pytest.raises(InputError, match="events.parquet: not a readable Parquet file"):
        read_events(sync_run)
