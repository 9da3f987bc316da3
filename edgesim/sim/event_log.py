"""The buffered, long-form device event table (``events.csv``, or ``events.parquet``).

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

``format="parquet"`` writes the same rows to a Parquet file (pyarrow), a
row group per ``flush_every`` rows and one for the rest on ``close``, with
``PARQUET_TYPES``: the CSV's columns, its numbers (times and durations
rounded to the microsecond as the CSV prints them) and its empty cells as
nulls. A Parquet file is readable only once
closed (its footer comes last), so a killed run leaves an unreadable one, and
a Parquet table cannot be continued from a checkpoint: ``attach`` with
``resume_at`` refuses it (``OutputError``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from edgesim.contract import EVENT_COLUMNS
from edgesim.errors import OutputError
from edgesim.results.tables import AppendOnlyFile, output_error

SERVER = "server"
HEADER = ",".join(EVENT_COLUMNS) + "\n"
FORMATS = ("csv", "parquet")
PARQUET_TYPES = {"sim_time_s": "float64", "device": "string", "kind": "string", "round": "int64",
                 "model_version": "int64", "staleness": "int64", "bytes": "int64", "duration_s": "float64",
                 "energy_j": "float64"}
"""The Parquet type of each of ``EVENT_COLUMNS``; floats hold what the CSV prints (to the microsecond)."""
NEVER_NULL = ("sim_time_s", "device", "kind")


class EventLog:
    """Append-only event table; ``path=None`` keeps counts only (benchmarks, replay)."""

    def __init__(self, path: Path | None, flush_every: int = 50_000, format: str = "csv"):
        if format not in FORMATS:
            raise ValueError(f"event table format {format!r}: expected one of {', '.join(FORMATS)}")
        self.format = format
        self.flush_every = flush_every
        self.counts: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self.staleness: Counter[int] = Counter()
        """Applied updates by staleness (model versions), for the summary's staleness statistics."""
        self.rows = 0
        self._watch_every, self._next_watch, self._watcher = 0, float("inf"), None
        self._rows: list[str] = []
        self._file: AppendOnlyFile | None = None
        self._parquet: ParquetEvents | None = None
        self._time = None  # the last time formatted, and its text: rows come in bursts at one instant
        self._time_text = ""
        if path is not None:
            self.attach(path)

    @property
    def size(self) -> int:
        """Bytes written to the file so far (call ``flush`` first to include the buffered rows)."""
        if self._parquet is not None:
            return self._parquet.size
        return 0 if self._file is None else self._file.size

    def attach(self, path: Path, resume_at: int | None = None) -> None:
        """Write rows from now on to ``path``: a new file, or the existing one cut back to ``resume_at`` bytes
        (CSV only)."""
        if self.format == "csv":
            self._file = AppendOnlyFile(path, HEADER, resume_at)
        elif resume_at is not None:
            raise OutputError(f"{path}: a Parquet event table cannot be continued from a checkpoint (it is "
                              "complete only once closed); write the events as CSV to resume runs")
        else:
            self._parquet = ParquetEvents(path)

    def watch(self, every: int, watcher) -> None:
        """Call ``watcher(rows, time)`` after every ``every`` rows (the engine's look at the clock's pace)."""
        self._watch_every, self._watcher = every, watcher
        self._next_watch = self.rows + every

    def emit(self, time, device, kind, round=None, version=None, staleness=None, nbytes=None, duration=None,
             energy=None):
        self.counts[kind] += 1
        self.rows += 1
        if self.rows >= self._next_watch:
            self._next_watch += self._watch_every
            self._watcher(self.rows, time)
        if nbytes:
            self.bytes[kind] += nbytes
        if staleness is not None and kind == "update_applied":
            self.staleness[int(staleness)] += 1
        if self._file is None:
            parquet = self._parquet
            if parquet is not None:
                parquet.add((time, device, kind, round, version, staleness, nbytes, duration, energy))
                if parquet.pending >= self.flush_every:
                    parquet.flush()
            return
        if time is not self._time:  # the same object (the clock's ``now``) formats the same
            self._time = time
            self._time_text = f"{time:.6f}"
        # formatted inline: this runs once per row
        self._rows.append(
            f"{self._time_text},{device},{kind},{'' if round is None else int(round)},"
            f"{'' if version is None else int(version)},{'' if staleness is None else int(staleness)},"
            f"{'' if nbytes is None else int(nbytes)},{'' if duration is None else format(duration, '.6f')},"
            f"{'' if energy is None else format(energy, '.6f')}\n"
        )
        if len(self._rows) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Write the kept CSV rows. A Parquet table's rows wait for ``flush_every`` of them or ``close``: its file
        is unreadable until closed anyway, and a row group per evaluation would only bloat it."""
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
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None


def _as_stored(values: tuple, kind: str) -> list:
    """A column's values as Parquet keeps them: floats as the CSV prints them (``f"{value:.6f}"`` read back,
    which ``round`` rounds the same decimal way), integers as ``int`` (bools and NumPy numbers included)."""
    if kind == "float64":
        return [None if value is None else round(float(value), 6) for value in values]
    if kind == "int64":
        return [None if value is None else int(value) for value in values]
    return [None if value is None else str(value) for value in values]


class ParquetEvents:
    """The event rows as a Parquet file, written as one row group per ``flush`` (zstd-compressed; ``device``
    and ``kind`` dictionary-encoded, pyarrow's default for strings)."""

    def __init__(self, path: Path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path = Path(path)
        self.schema = pa.schema([pa.field(name, PARQUET_TYPES[name], nullable=name not in NEVER_NULL)
                                 for name in EVENT_COLUMNS])
        self._rows: list[tuple] = []
        try:
            self._sink = open(self.path, "wb")
            self._writer = pq.ParquetWriter(self._sink, self.schema, compression="zstd")
        except OSError as exc:
            raise output_error(self.path, exc, "open") from None

    @property
    def size(self) -> int:
        """Bytes written so far: every flushed row group (the footer comes on ``close``)."""
        return self._sink.tell()

    @property
    def pending(self) -> int:
        """Rows kept since the last flush."""
        return len(self._rows)

    def add(self, row: tuple) -> None:
        """Keep one row: its values in ``EVENT_COLUMNS`` order, as ``EventLog.emit`` takes them."""
        self._rows.append(row)

    def flush(self) -> None:
        import pyarrow as pa

        if not self._rows:
            return
        columns = zip(*self._rows)
        self._rows = []
        arrays = [pa.array(_as_stored(values, PARQUET_TYPES[field.name]), type=field.type)
                  for values, field in zip(columns, self.schema)]
        try:
            self._writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        except OSError as exc:
            raise output_error(self.path, exc) from None

    def close(self) -> None:
        try:
            self.flush()
            self._writer.close()
        except OSError as exc:
            raise output_error(self.path, exc) from None
        finally:
            self._sink.close()
