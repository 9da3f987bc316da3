"""Row-at-a-time CSV tables with fixed columns and explicit number formatting."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence


def format_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


class CsvTable:
    """Writes a header, then one flushed line per ``append`` (nothing lost on a crash)."""

    def __init__(self, path: Path, columns: Sequence[str]):
        self.columns = tuple(columns)
        self._file = open(path, "w", encoding="utf-8", newline="")
        self._file.write(",".join(self.columns) + "\n")
        self._file.flush()

    def append(self, row: dict) -> None:
        self._file.write(",".join(format_cell(row.get(c)) for c in self.columns) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
