"""Append-only CSV tables whose rows survive a crash whole.

Rows are written whole, each block of rows with one ``os.write`` straight to
the file (no buffer of Python's in between), so a process killed at any
moment leaves complete rows, except that a kill during the write itself may
leave an unfinished last line; a write that fails part-way is cut back. A row is complete exactly when its line ends in
a newline: ``complete_rows`` reads only those, and a resumed run cuts the file
back to the length its checkpoint recorded. Numbers are formatted
explicitly, so the same simulation writes byte-identical files anywhere.
A failed write (disk full, file too large, read-only) is an ``OutputError``.
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path
from typing import Sequence

from edgesim.errors import OutputError


def format_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def output_error(path: Path, exc: OSError, doing: str = "write") -> OutputError:
    """One line naming the file and what the system said."""
    return OutputError(f"{path}: cannot {doing}: {exc.strerror or exc}")


class AppendOnlyFile:
    """A text file written from its start (``resume_at=None``: truncated, then ``header``) or continued
    from byte ``resume_at`` (what lies beyond is cut off). ``size`` is its length in bytes."""

    def __init__(self, path: Path, header: str, resume_at: int | None = None):
        self.path = Path(path)
        try:
            if resume_at is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                self.size = 0
            else:
                self._fd = os.open(self.path, os.O_WRONLY)
                os.ftruncate(self._fd, resume_at)
                os.lseek(self._fd, 0, os.SEEK_END)
                self.size = resume_at
        except OSError as exc:
            raise output_error(self.path, exc, "open") from None
        if resume_at is None:
            self.write(header)

    def write(self, text: str) -> None:
        """Append ``text`` (whole rows). If that fails part-way (disk full, file too large), the file is cut
        back to its length before, so it still ends with a whole row."""
        data = memoryview(text.encode("utf-8"))
        size = self.size
        try:
            while data:
                written = os.write(self._fd, data)
                data = data[written:]
                self.size += written
        except OSError as exc:
            try:
                os.ftruncate(self._fd, size)
                self.size = size
            except OSError:
                pass
            raise output_error(self.path, exc) from None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class CsvTable:
    """A header, then one written line per ``append``; ``resume_at`` continues a file (see ``AppendOnlyFile``)."""

    def __init__(self, path: Path, columns: Sequence[str], resume_at: int | None = None):
        self.columns = tuple(columns)
        self._file = AppendOnlyFile(path, ",".join(self.columns) + "\n", resume_at)

    @property
    def size(self) -> int:
        return self._file.size

    def append(self, row: dict) -> None:
        self._file.write(",".join(format_cell(row.get(c)) for c in self.columns) + "\n")

    def close(self) -> None:
        self._file.close()


def complete_rows(path: Path) -> io.BytesIO:
    """The file's bytes up to and including its last newline: its complete rows, for a CSV reader. A file
    named ``*.gz`` is decompressed first."""
    data = Path(path).read_bytes()
    if Path(path).suffix == ".gz":
        data = gzip.decompress(data)
    return io.BytesIO(data[: data.rfind(b"\n") + 1])
