"""Aggregations as the server hands them to a strategy, for tests that drive strategies by hand."""

from edgesim.work import Aggregation, Arrival


def synchronous(round: int, version: int, clients) -> Aggregation:
    """A synchronous round's aggregation: every client trained on ``version`` (staleness 0)."""
    return Aggregation(round, version, tuple(Arrival(c, version, 0) for c in clients), version)


def asynchronous(round: int, version: int, arrivals, oldest_held_version: int = 0) -> Aggregation:
    """An asynchronous aggregation of ``(client, base_version, staleness)`` triples."""
    return Aggregation(round, version, tuple(Arrival(*a) for a in arrivals), oldest_held_version)
