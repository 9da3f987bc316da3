"""The event table: columns, number formatting, counts, buffering."""

from edgesim.contract import EVENT_COLUMNS
from edgesim.sim.event_log import EventLog


def test_rows_are_formatted_explicitly(tmp_path):
    path = tmp_path / "events.csv"
    log = EventLog(path)
    log.emit(1.5, "pi-0", "download_end", 2, 1, nbytes=1000, duration=0.25)
    log.emit(2, "server", "round_end", 2, 1, staleness=0)
    log.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(EVENT_COLUMNS)
    assert lines[1] == "1.500000,pi-0,download_end,2,1,,1000,0.250000"
    assert lines[2] == "2.000000,server,round_end,2,1,0,,"


def test_counts_and_bytes_without_a_file():
    log = EventLog(None)
    log.emit(0, "a", "upload_end", nbytes=10)
    log.emit(1, "b", "upload_end", nbytes=5)
    log.emit(2, "b", "failure")
    assert log.counts == {"upload_end": 2, "failure": 1}
    assert log.bytes == {"upload_end": 15}
    log.close()


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
