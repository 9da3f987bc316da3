"""CIFAR-100's two-level taxonomy (20 superclasses of 5 classes) from the packaged official label table.

Nodes: ``root`` -> ``coarse:<superclass name>`` -> ``<fine class name>``. The
``coarse:`` prefix keeps superclass ids apart from class names.
"""

from __future__ import annotations

import csv
import io
from importlib import resources

from edgesim.errors import InputError
from edgesim.taxonomy.tree import Taxonomy

TABLE = "cifar100_fine_to_coarse.csv"
COLUMNS = ("fine_id", "fine_name", "coarse_id", "coarse_name")
NUM_FINE, NUM_COARSE = 100, 20
COARSE_PREFIX = "coarse:"


def _rows() -> list[dict[str, str]]:
    """The table's rows sorted by fine id, checked to cover classes 0..99 and 20 superclasses."""
    text = resources.files(__package__).joinpath(TABLE).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise InputError(f"{TABLE}: columns are {reader.fieldnames}, expected {list(COLUMNS)}")
    rows = sorted(reader, key=lambda row: int(row["fine_id"]))
    if [int(row["fine_id"]) for row in rows] != list(range(NUM_FINE)):
        raise InputError(f"{TABLE}: fine ids are not 0..{NUM_FINE - 1}")
    if len({row["coarse_name"] for row in rows}) != NUM_COARSE:
        raise InputError(f"{TABLE}: expected {NUM_COARSE} superclasses")
    return rows


def cifar100_fine_names() -> tuple[str, ...]:
    """The 100 class names in class-index order."""
    return tuple(row["fine_name"] for row in _rows())


def cifar100_taxonomy() -> Taxonomy:
    """``root`` -> 20 ``coarse:<name>`` nodes -> 100 class leaves in class-index order."""
    rows = _rows()
    edges = [("root", COARSE_PREFIX + row["coarse_name"]) for row in rows]
    edges += [(COARSE_PREFIX + row["coarse_name"], row["fine_name"]) for row in rows]
    return Taxonomy.from_edges(edges, [row["fine_name"] for row in rows])
