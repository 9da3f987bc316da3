"""The event table: columns, number formatting, counts, buffering, continuing a file; the Parquet writer."""

import pytest

from edgesim.contract import EVENT_COLUMNS
from edgesim.sim.event_log import EventLog


def test_rows_are_formatted_explicitly(tmp_path):
    path = tmp_path / "events.csv"
    log = EventLog(path)
    log.emit(1.5, "pi-0", "download_end", 2, 1, nbytes=1000, duration=0.25, energy=0.4)
    log.emit(2, "server", "round_end", 2, 1, staleness=0)
    log.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(EVENT_COLUMNS)
    assert lines[1] == "1.500000,pi-0,download_end,2,1,,1000,0.250000,0.400000"
    assert lines[2] == "2.000000,server,round_end,2,1,0,,,"


def test_counts_and_bytes_without_a_file():
    log = EventLog(None)
    log.emit(0, "a", "upload_end", nbytes=10)
    log.emit(1, "b", "upload_end", nbytes=5)
    log.emit(2, "b", "failure")
    assert log.counts == {"upload_end": 2, "failure": 1}
    assert log.bytes == {"upload_end": 15}
    log.close()


def test_staleness_is_counted_for_applied_updates_only():
    log = EventLog(None)
    for staleness in (3, 3, 0):
        log.emit(0, "a", "update_applied", staleness=staleness)
    log.emit(1, "b", "update_discarded", staleness=9)
    log.emit(1, "b", "update_applied")  # no staleness recorded
    assert log.staleness == {3: 2, 0: 1}


def test_flushes_every_block(tmp_path):
    path = tmp_path / "events.csv"
    log = EventLog(path, flush_every=2)
    log.emit(0, "a", "x")
    assert len(path.read_text().splitlines()) <= 1  # the row is still buffered (the header may be too)
    log.emit(1, "a", "y")
    assert len(path.read_text().splitlines()) == 3
    log.emit(2, "a", "z")
    assert len(path.read_text().splitlines()) == 3
    log.close()
    assert len(path.read_text().splitlines()) == 4


def test_rows_at_one_instant_and_numpy_numbers_format_like_the_reference(tmp_path):
    """The time text is reused for rows at the same clock value; every row still equals the
    reference formatting below, whatever the number types."""
    import numpy as np

    def _int(value):
        return "" if value is None else str(int(value))

    def _time(value):
        return "" if value is None else f"{value:.6f}"

    path = tmp_path / "events.csv"
    log = EventLog(path)
    now = 3.0000004
    calls = [
        (0, "a", "x", None, None, None, None, None, None),
        (now, "a", "x", np.int64(3), 2, None, 1_700_000, np.float64(0.1), np.float64(2.5)),
        (now, "b", "y", 3, np.int32(2), 1, None, 1e-7, 1e-7),
        (3.0000004, "c", "z", True, 0, 0, 0, 0.0, 0.0),  # equal value, another object
        (np.float64(7.25), "d", "w", None, None, None, np.int64(5), 2, 3),
        (now, "e", "v", 1, 1, None, None, None, None),  # back to an earlier instant's object
    ]
    for call in calls:
        log.emit(*call)
    log.close()
    expected = [
        f"{t:.6f},{d},{k},{_int(r)},{_int(v)},{_int(s)},{_int(b)},{_time(u)},{_time(e)}"
        for t, d, k, r, v, s, b, u, e in calls
    ]
    assert path.read_text(encoding="utf-8").splitlines()[1:] == expected


def test_a_log_without_a_file_counts_rows_then_attaches_at_an_offset(tmp_path):
    path = tmp_path / "events.csv"
    first = EventLog(path)
    first.emit(0, "a", "x")
    first.flush()
    offset = first.size
    first.emit(1, "a", "y")
    first.close()
    replay = EventLog(None)
    replay.emit(0, "a", "x")
    assert replay.rows == 1 and replay.size == 0
    replay.attach(path, resume_at=offset)
    replay.emit(1, "a", "z")
    replay.close()
    assert path.read_text().splitlines()[1:] == ["0.000000,a,x,,,,,,", "1.000000,a,z,,,,,,"]


# --- Parquet -------------------------------------------------------------------------------------


def emit_mixed_rows(log, count=40):
    """Rows of every shape the simulation emits: empty cells, numpy numbers, bools, repeated instants."""
    import numpy as np

    now = 3.0000004
    for i in range(count):
        log.emit(0, "a", "available")
        log.emit(now + i, f"pi-{i}", "download_end", np.int64(i), 2, None, 1_700_000, np.float64(0.1) * i,
                 np.float64(0.37) * i)
        log.emit(now + i, "server", "round_end", i, np.int32(i), 0, None, 12.3456789)
        log.emit(np.float64(7.25) + i, "b", "update_applied", True, 0, 3, np.int64(5), 1e-7)


def test_parquet_rows_read_back_equal_to_the_csv_rows(tmp_path):
    import pandas as pd
    import pyarrow.parquet as pq

    logs = {name: EventLog(tmp_path / f"events.{name}", flush_every=25, format=name) for name in ("csv", "parquet")}
    for log in logs.values():
        emit_mixed_rows(log)
        log.close()
    csv = pd.read_csv(tmp_path / "events.csv", dtype={"device": str, "kind": str})
    parquet = pd.read_parquet(tmp_path / "events.parquet")
    assert len(csv) == 160
    pd.testing.assert_frame_equal(parquet, csv)
    file = pq.ParquetFile(tmp_path / "events.parquet")
    assert file.metadata.num_row_groups == 160 // 25 + 1  # one per flush, the rest on close
    assert [str(field.type) for field in file.schema_arrow] == [
        "double", "string", "string", "int64", "int64", "int64", "int64", "double", "double"]
    assert [field.nullable for field in file.schema_arrow] == [False] * 3 + [True] * 6


def test_parquet_flushes_at_evaluations_add_no_row_groups(tmp_path):
    """A run flushes its log at every evaluation; a Parquet table waits for whole blocks instead of writing a
    small row group each time."""
    import pyarrow.parquet as pq

    log = EventLog(tmp_path / "events.parquet", flush_every=100, format="parquet")
    for i in range(250):
        log.emit(float(i), "a", "available")
        if i % 10 == 0:
            log.flush()
    log.close()
    file = pq.ParquetFile(tmp_path / "events.parquet")
    assert [file.metadata.row_group(i).num_rows for i in range(file.metadata.num_row_groups)] == [100, 100, 50]


def test_parquet_keeps_counts_and_reports_the_bytes_written(tmp_path):
    log = EventLog(None, flush_every=4, format="parquet")
    log.attach(tmp_path / "events.parquet")  # as the runner does: the log counts first, then gets its file
    before = log.size
    emit_mixed_rows(log, count=2)
    assert log.rows == 8 and log.counts["update_applied"] == 2 and log.staleness == {3: 2}
    assert log.size > before  # two row groups of 4 rows written
    log.close()


def test_a_parquet_table_is_not_continued_from_a_checkpoint(tmp_path):
    from edgesim.errors import OutputError

    log = EventLog(None, format="parquet")
    with pytest.raises(OutputError, match="cannot be continued from a checkpoint"):
        log.attach(tmp_path / "events.parquet", resume_at=120)


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="'json'"):
        EventLog(None, format="json")
