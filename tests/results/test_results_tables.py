"""Append-only tables: whole rows, continuing a file from an offset, cutting back a failed write."""

import gzip
import os

import pytest

from edgesim.errors import OutputError
from edgesim.results.tables import AppendOnlyFile, CsvTable, complete_rows


def test_a_table_is_its_header_then_one_line_per_row(tmp_path):
    table = CsvTable(tmp_path / "t.csv", ("a", "b", "c"))
    table.append({"a": 1, "b": 0.5, "c": None})
    table.append({"a": True, "c": "x"})
    table.close()
    assert (tmp_path / "t.csv").read_text() == "a,b,c\n1,0.500000,\n1,,x\n"


def test_continuing_from_an_offset_cuts_off_what_lay_beyond(tmp_path):
    path = tmp_path / "t.csv"
    table = CsvTable(path, ("a",))
    table.append({"a": 1})
    offset = table.size
    table.append({"a": 2})
    table.close()
    again = CsvTable(path, ("a",), resume_at=offset)
    again.append({"a": 3})
    again.close()
    assert path.read_text() == "a\n1\n3\n"


def test_a_write_that_fails_part_way_is_cut_back_to_whole_rows(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    file = AppendOnlyFile(path, "a\n")
    file.write("1\n")
    real_write, calls = os.write, []

    def half_then_full_disk(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:3]))  # a short write, as when the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full_disk)
    with pytest.raises(OutputError, match=r"t\.csv: cannot write: No space left on device"):
        file.write("22\n333\n")
    monkeypatch.undo()
    assert path.read_text() == "a\n1\n" and file.size == 4
    file.close()


def test_opening_where_a_directory_is_is_an_output_error(tmp_path):
    (tmp_path / "t.csv").mkdir()
    with pytest.raises(OutputError, match="cannot open"):
        CsvTable(tmp_path / "t.csv", ("a",))


def test_complete_rows_leave_out_an_unfinished_last_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n3,")
    assert complete_rows(path).read() == b"a,b\n1,2\n"


def test_complete_rows_read_a_gzipped_file_decompressed(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n3,"))
    assert complete_rows(path).read() == b"a,b\n1,2\n"
