"""The sweep's answer: variants grouped in the sweep's order, intervals over seeds, comparisons it can decide."""

import math

import pandas as pd
import pytest
from scipy import stats

from edgesim.results.sweep_summary import (display_rows, seeds_to_separate, separated_rows, separation_note,
                                           summarise_sweep, summary_markdown, unseparated_rows, write_sweep_summary)

PARETO, NONE = '{"alpha":1.5,"kind":"pareto"}', '{"kind":"none"}'


def sweep(rows):
    columns = ["variant", "run_dir", "case", "fleet.stragglers", "seed", "status", "time_to_target_s",
               "rounds_to_target", "final_accuracy", "best_accuracy", "staleness_mean", "staleness_p50",
               "staleness_p95", "bytes_up", "bytes_down", "updates_discarded", "sim_time_s"]
    frame = pd.DataFrame([dict(zip(columns[2:], row)) for row in rows], columns=columns)
    frame["variant"], frame["run_dir"] = range(len(frame)), [f"run-{i:03d}" for i in range(len(frame))]
    return frame


def run(case, stragglers, seed, time, status="completed", staleness=(0, 0, 0)):
    return (case, stragglers, seed, status, time, None if time is None else 10, 0.9, 0.91, *staleness,
            2e6, 4e6, 1, 100.0)


def test_variants_follow_the_sweeps_order_with_labels_and_t_intervals():
    frame = sweep([run("sync", PARETO, 1, 60.0), run("sync", PARETO, 2, 80.0), run("sync", PARETO, 3, 70.0),
                   run("async", NONE, 1, 30.0, staleness=(4.5, 4, 9)), run("async", NONE, 2, None)])
    summary = summarise_sweep(frame)
    assert summary.factors == ["case", "stragglers"]
    table = summary.table
    assert table[["case", "stragglers"]].values.tolist() == [["sync", "pareto α=1.5"], ["async", "none"]]
    low, high = stats.t.interval(0.95, 2, loc=70.0, scale=10.0 / math.sqrt(3))
    first = table.iloc[0]
    assert (first["runs"], first["reached"], first["reached_share"]) == (3, 3, 1.0)
    assert first["time_to_target_s_mean"] == 70.0
    assert first["time_to_target_s_ci_low"] == pytest.approx(low)
    assert first["time_to_target_s_ci_high"] == pytest.approx(high)
    second = table.iloc[1]
    assert (second["reached"], second["reached_share"], second["time_to_target_s_mean"]) == (1, 0.5, 30.0)
    assert math.isnan(second["time_to_target_s_ci_low"])  # one seed: no interval
    assert second["staleness_p95"] == 4.5 and second["bytes_up_mean"] == 2e6
    headers, rows = display_rows(summary)
    assert rows[1][:3] == ["async", "none", "1/2"] and rows[1][3] == "30 (one seed)"


def test_overlapping_intervals_are_reported_with_the_seeds_that_would_separate_them():
    close = [run("a", NONE, s, t) for s, t in ((1, 50.0), (2, 70.0))] + \
            [run("a", PARETO, s, t) for s, t in ((1, 55.0), (2, 75.0))]
    summary = summarise_sweep(sweep(close))
    [comparison] = summary.comparisons
    assert not comparison.separated and comparison.why == "intervals overlap"
    def apart_at(n):  # the summary's own criterion at n seeds, with the measured sd (sqrt 200 each) and difference 5
        return stats.t.ppf(0.975, n - 1) * 2 * math.sqrt(200.0) / math.sqrt(n) < 5.0

    needed = comparison.seeds_needed
    assert needed > 2 and apart_at(needed) and not apart_at(needed - 1)
    assert "0 of 1 one-factor comparisons are separated" in separation_note(summary)
    assert comparison.sooner == comparison.first and comparison.ratio == pytest.approx(65.0 / 60.0)
    assert unseparated_rows(summary) == [[comparison.first, comparison.second, f"{comparison.first} sooner, ×1.08",
                                          "intervals overlap", str(comparison.seeds_needed)]]

    apart = [run("a", NONE, s, t) for s, t in ((1, 50.0), (2, 51.0))] + \
            [run("a", PARETO, s, t) for s, t in ((1, 90.0), (2, 91.0))]
    summary = summarise_sweep(sweep(apart))
    [comparison] = summary.comparisons
    assert comparison.separated and comparison.seeds_needed is None
    assert comparison.sooner == comparison.first and comparison.ratio == pytest.approx(90.5 / 50.5)
    assert separated_rows(summary) == [[comparison.first, comparison.second, "×1.79"]]
    assert "| sooner | than | slower by |\n| --- | --- | --- |" in summary_markdown(summary)


def test_unfinished_variants_are_counted_and_never_compared(tmp_path):
    frame = sweep([run("a", NONE, 1, 50.0), run("a", NONE, 2, 52.0),
                   run("a", PARETO, 1, None, status="pending"), run("a", PARETO, 2, None, status="failed")])
    summary = write_sweep_summary(tmp_path, frame)
    row = summary.table.iloc[1]
    assert (row["runs"], row["not_finished"], row["failed"]) == (0, 1, 1)
    assert summary.comparisons[0].why == "runs failed or were invalid"
    assert "| pareto α=1.5 | 0/0 (+1 not finished, +1 failed or invalid) | – |" in (tmp_path / "summary.md").read_text()  # one case: no factor
    assert pd.read_csv(tmp_path / "summary.csv")["stragglers"].tolist() == ["none", "pareto α=1.5"]
    pending = summarise_sweep(sweep([run("a", NONE, 1, 50.0), run("a", PARETO, 1, None, status="pending")]))
    assert pending.comparisons[0].why == "not every run has finished"


def test_seeds_to_separate_asks_for_more_seeds_than_were_run_and_gives_up_past_the_limit():
    a, b = pd.Series([50.0, 52.0]), pd.Series([51.0, 53.0])  # 2 seeds that overlap cannot be told 2 suffice
    assert seeds_to_separate(a, b) > 2
    assert seeds_to_separate(pd.Series([50.0, 70.0]), pd.Series([50.1, 70.1]), most=100) is None


def test_distinct_values_whose_labels_coincide_stay_distinct_variants():
    frame = sweep([run("a", NONE, 1, 50.0), run("a", NONE, 2, 52.0)])
    frame["algorithm.lr"] = [0.05, 0.05000001]
    summary = summarise_sweep(frame)
    assert summary.table["lr"].tolist() == ["0.05", "0.05000001"] and summary.table["runs"].tolist() == [1, 1]


def test_a_mean_over_only_some_runs_says_so_and_pipes_are_escaped(tmp_path):
    frame = sweep([run("a|b", NONE, 1, 50.0), run("a|b", NONE, 2, 52.0), run("c", NONE, 1, 50.0)])
    frame.loc[1, "final_accuracy"] = None  # diverged: no final model to evaluate
    summary = write_sweep_summary(tmp_path, frame)
    headers, rows = display_rows(summary)
    assert rows[0][headers.index("final acc (full test)")] == "0.9000 (1 of 2 runs)"
    assert "| a\\|b |" in (tmp_path / "summary.md").read_text()


def test_without_a_target_nothing_is_called_not_reached():
    frame = sweep([run("a", NONE, 1, None), run("a", PARETO, 1, None)])
    frame["target_accuracy"] = None
    summary = summarise_sweep(frame)
    headers, rows = display_rows(summary)
    reached = headers.index("reached")
    assert summary.comparisons == [] and rows[0][reached:reached + 2] == ["no target, 1 run", "no target set"]
    assert separation_note(summary).startswith("No target accuracy was set")


def test_a_header_only_sweep_csv_summarises_to_an_empty_table():
    summary = summarise_sweep(sweep([]))
    assert summary.table.empty and display_rows(summary)[1] == []


def test_energy_its_lost_share_and_battery_drop_outs_are_averaged_and_shown_in_readable_units():
    frame = sweep([run("a", NONE, 1, 50.0), run("a", NONE, 2, 52.0)])
    frame["energy_j"], frame["energy_to_target_j"] = [3000.0, 5000.0], [2000.0, 4000.0]
    frame["energy_lost_share"], frame["battery_dropouts"] = [0.1, 0.2], [1, 2]
    summary = summarise_sweep(frame)
    headers, rows = display_rows(summary)
    assert rows[0][headers.index("energy (kJ) / to target")] == "4 / 3"
    assert rows[0][headers.index("energy lost")] == "15.0%"
    assert rows[0][headers.index("battery drop-outs")] == "1.5"
    older = summarise_sweep(sweep([run("a", NONE, 1, 50.0)]))  # a sweep.csv from before energy was measured
    headers, rows = display_rows(older)
    assert rows[0][headers.index("energy lost")] == "–"
