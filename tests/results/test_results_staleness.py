"""Staleness statistics from a histogram of applied updates."""

from edgesim.results.staleness import STALENESS_KEYS, staleness_statistics


def test_mean_and_percentiles_are_staleness_values_that_occurred():
    histogram = {0: 10, 1: 5, 4: 4, 20: 1}  # 20 updates: the 10th is 0, the 19th is 4
    assert staleness_statistics(histogram) == {"staleness_mean": (5 + 16 + 20) / 20, "staleness_p50": 0,
                                               "staleness_p95": 4}


def test_a_share_just_past_the_median_moves_it():
    assert staleness_statistics({2: 10, 7: 11})["staleness_p50"] == 7


def test_no_applied_update_gives_no_statistics():
    assert staleness_statistics({}) == dict.fromkeys(STALENESS_KEYS)
    assert staleness_statistics({3: 0}) == dict.fromkeys(STALENESS_KEYS)
