"""The buffered, long-form device event table (``events.csv``).

Rows are kept in memory and written in blocks, so logging costs little per
event; ``flush`` runs every ``flush_every`` rows and on ``close``, so a crash
loses at most one block. Numbers are formatted explicitly, so the same
simulation writes byte-identical files on any machine.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from edgesim.contract import EVENT_COLUMNS

SERVER = "server"


def _time(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def _int(value: int | None) -> str:
    return "" if value is None else str(int(value))


class EventLog:
    """Append-only event table; ``path=None`` keeps counts only (benchmarks, dry runs)."""

    def __init__(self, path: Path | None, flush_every: int = 50_000):
        self.path = path
        self.flush_every = flush_every
        self.counts: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self._rows: list[str] = []
        self._file = None
        self._time = None  # the last time formatted, and its text: rows come in bursts at one instant
        self._time_text = ""
        if path is not None:
            self._file = open(path, "w", encoding="utf-8", newline="")
            self._file.write(",".join(EVENT_COLUMNS) + "\n")
            self._file.flush()

    def emit(self, time, device, kind, round=None, version=None, staleness=None, nbytes=None, duration=None):
        self.counts[kind] += 1
        if nbytes:
            self.bytes[kind] += nbytes
        if self._file is None:
            return
        if time is not self._time:  # the same object (the clock's ``now``) formats the same
            self._time = time
            self._time_text = f"{time:.6f}"
        # the helpers above, inlined: this runs once per row
        self._rows.append(
            f"{self._time_text},{device},{kind},{'' if round is None else int(round)},"
            f"{'' if version is None else int(version)},{'' if staleness is None else int(staleness)},"
            f"{'' if nbytes is None else int(nbytes)},{'' if duration is None else format(duration, '.6f')}\n"
        )
        if len(self._rows) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if self._file is not None and self._rows:
            self._file.writelines(self._rows)
            self._file.flush()
            self._rows.clear()

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None
