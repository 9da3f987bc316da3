"""The HMoE report's table over seeds (analysis/hmoe_report.py): chance beside every Info-F1, and an
ordering claim only where a difference exceeds the spread over seeds."""

from __future__ import annotations

import json

import pytest
from hmoe_report import over_seeds, sweep_runs
from sweep_dirs import write_sweep

CHANCE = {"info_f1_chance": 0.107}


def _final(info_f1: float, beam: float | None = None) -> dict:
    """A summary's final metrics: flat softmax has one Info-F1, an HMoE one per inference rule."""
    if beam is None:
        return {"info_f1": info_f1}
    return {"info_f1_greedy": info_f1, "info_f1_beam": beam}


@pytest.fixture
def seeds(tmp_path):
    """Flat 0.20/0.22, HMoE greedy 0.21/0.23 (beam 0.30/0.31), shrinking greedy 0.10/0.12, one seed of a
    fourth case: two seeds each, except the last."""
    finals = {("flat_softmax", 1): _final(0.20), ("flat_softmax", 2): _final(0.22),
              ("hmoe", 1): _final(0.21, 0.30), ("hmoe", 2): _final(0.23, 0.31),
              ("hmoe_shrinking", 1): _final(0.10, 0.12), ("hmoe_shrinking", 2): _final(0.12, 0.14),
              ("hmoe_wide", 1): _final(0.50, 0.50)}
    rows = []
    for variant, ((case, seed), final) in enumerate(finals.items()):
        run_dir = f"run-{variant:03d}"
        (tmp_path / run_dir).mkdir()
        (tmp_path / run_dir / "summary.json").write_text(json.dumps({"final_metrics": final, "model": CHANCE}))
        rows.append({"variant": variant, "run_dir": run_dir, "case": case, "seed": seed, "status": "completed"})
    rows.append({"variant": len(rows), "run_dir": "run-999", "case": "hmoe", "seed": 3, "status": "failed"})
    write_sweep(tmp_path, rows)
    return sweep_runs([tmp_path])


def test_every_info_f1_over_seeds_has_the_chance_level_beside_it(seeds):
    shown, _ = over_seeds(seeds)
    cells = {(row.case, row.rule): (row.seeds, row.info_f1, row.chance) for row in shown.itertuples()}
    assert cells[("flat_softmax", "flat")] == (2, "0.2100 ± 0.0141", "0.1070")
    assert cells[("hmoe", "beam")] == (2, "0.3050 ± 0.0071", "0.1070")  # the failed seed 3 is left out
    assert cells[("hmoe_wide", "greedy")] == (1, "0.5000", "0.1070")


def test_an_ordering_is_claimed_only_beyond_the_spread_over_seeds(seeds):
    _, verdicts = over_seeds(seeds)
    by_start = {line.split(":")[0]: line for line in verdicts}
    assert by_start["hmoe (greedy) − flat"].endswith("does not exceed the spread over seeds (0.0283)")
    assert by_start["hmoe (beam) − flat"].endswith("which exceeds the spread over seeds (0.0212)")
    assert by_start["hmoe_shrinking (greedy) − hmoe (greedy)"].startswith(
        "hmoe_shrinking (greedy) − hmoe (greedy): -0.1100, which exceeds")
    assert by_start["hmoe_wide (greedy) − flat"].endswith("one seed: no ordering claim")
