"""The AKAFL-RJ report (analysis/akafl_report.py): the paper's DevAccuracy and the issue's targets."""

from __future__ import annotations

import pandas as pd
import pytest
from akafl_report import dev_accuracy, targets


def test_dev_accuracy_follows_the_papers_two_moving_averages():
    # A_hat starts at the first value; Dev <- 0.9 Dev + 0.1 |A - A_hat_prev|, then A_hat <- 0.9 A_hat + 0.1 A
    dev = dev_accuracy(pd.Series([0.5, 0.7, 0.6], index=[10, 20, 30]))
    assert list(dev.index) == [10, 20, 30]
    assert dev.tolist() == pytest.approx([0.0, 0.02, 0.9 * 0.02 + 0.1 * abs(0.6 - 0.52)])


def test_targets_say_met_or_by_how_much_they_were_missed():
    results = pd.DataFrame({
        "case": ["akafl", "akafl", "akafl_r", "akafl_rj"], "acc_500": [0.93, 0.95, 0.97, 0.975],
        "dev_500": [0.003, 0.003, 0.002, 0.0005], "keeps": [None, None, None, 140], "iterations": 5000})
    assert targets(results) == [
        "AKAFL ≥ 95% (paper 96.60): 94.00% — missed by 1.00 pp",
        "AKAFL-R above AKAFL (paper +0.76 pp): +3.00 pp — met",
        "AKAFL-RJ ≥ AKAFL-R + 0.85 pp: +0.50 pp — missed by 0.35 pp",
        "AKAFL-RJ DevAccuracy clearly lower (paper ~80% lower): 0.0005 vs 0.0020 (-75%)",
        "judgement keeps roughly 100-200 in 5000 iterations (paper 138): 140 in 5000",
    ]
