"""Staleness statistics of a run's applied updates, for ``summary.json`` and ``sweep.csv``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

STALENESS_KEYS = ("staleness_mean", "staleness_p50", "staleness_p95")


def staleness_statistics(histogram: Mapping[int, int]) -> dict[str, float | int | None]:
    """Mean, median and 95th percentile of staleness from ``{staleness: applied updates}``.

    Staleness is in model versions (0 for a synchronous round's updates). The percentiles are
    staleness values that occurred (NumPy's ``inverted_cdf``: the smallest value whose cumulative
    share reaches the quantile). All three are ``None`` for a run that applied no update.
    """
    if not histogram or not sum(histogram.values()):
        return dict.fromkeys(STALENESS_KEYS)
    values = np.fromiter(histogram.keys(), dtype=np.int64)
    counts = np.fromiter(histogram.values(), dtype=np.int64)
    p50, p95 = np.percentile(values, [50, 95], weights=counts, method="inverted_cdf")
    return {"staleness_mean": round(float(np.average(values, weights=counts)), 6),
            "staleness_p50": int(p50), "staleness_p95": int(p95)}
