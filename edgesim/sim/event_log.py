"""The buffered, long-form device event table (``events.csv``).

Rows are kept in memory and written in blocks of whole rows (``flush``: every
``flush_every`` rows, at every evaluation and on ``close``), so logging costs
little per event and a crash loses at most the rows since the last flush.
Numbers are formatted explicitly, so the same simulation writes
byte-identical files on any machine. ``rows`` counts every row emitted, and
``counts``/``bytes`` add them up by kind, and ``staleness`` counts the applied
updates by staleness, whether or not they are written.

A log without a file (``path=None``) only counts: benchmarks use it, and a
resumed run replays its clock on one until the checkpoint, then ``attach``es
the file where the checkpoint left it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from edgesim.contract import EVENT_COLUMNS
from edgesim.results.tables import AppendOnlyFile

SERVER = "server"
HEADER = ",".join(EVENT_COLUMNS) + "\n"


class EventLog:
    """Append-only event table; ``path=None`` keeps counts only (benchmarks, replay)."""

    def __init__(self, path: Path | None, flush_every: int = 50_000):
        self.flush_every = flush_every
        self.counts: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self.staleness: Counter[int] = Counter()
        """Applied updates by staleness (model versions), for the summary's staleness statistics."""
        self.rows = 0
        self._rows: list[str] = []
        self._file: AppendOnlyFile | None = None
        self._time = None  # the last time formatted, and its text: rows come in bursts at one instant
        self._time_text = ""
        if path is not None:
            self.attach(path)

    @property
    def size(self) -> int:
        """Bytes written to the file so far (call ``flush`` first to include the buffered rows)."""
        return 0 if self._file is None else self._file.size

    def attach(self, path: Path, resume_at: int | None = None) -> None:
        """Write rows from now on to ``path``: a new file, or the existing one cut back to ``resume_at`` bytes."""
        self._file = AppendOnlyFile(path, HEADER, resume_at)

    def emit(self, time, device, kind, round=None, version=None, staleness=None, nbytes=None, duration=None):
        self.counts[kind] += 1
        self.rows += 1
        if nbytes:
            self.bytes[kind] += nbytes
        if staleness is not None and kind == "update_applied":
            self.staleness[int(staleness)] += 1
        if self._file is None:
            return
        if time is not self._time:  # the same object (the clock's ``now``) formats the same
            self._time = time
            self._time_text = f"{time:.6f}"
        # formatted inline: this runs once per row
        self._rows.append(
            f"{self._time_text},{device},{kind},{'' if round is None else int(round)},"
            f"{'' if version is None else int(version)},{'' if staleness is None else int(staleness)},"
            f"{'' if nbytes is None else int(nbytes)},{'' if duration is None else format(duration, '.6f')}\n"
        )
        if len(self._rows) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if self._file is not None and self._rows:
            block = "".join(self._rows)
            self._rows.clear()
            self._file.write(block)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._file is not None:
                self._file.close()
                self._file = None
