"""Taxonomies from edge-list text files: one ``parent child`` pair per line.

Everything after ``#`` on a line is a comment; blank lines are skipped. Node
ids are whitespace-free tokens (WordNet ids, class names, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from edgesim.errors import InputError, brief
from edgesim.taxonomy.tree import Taxonomy
from edgesim.text_file import read_text_file

MAX_BYTES = 64 * 2**20
"""The largest edge list read (WordNet's whole is-a relation is 1.5 MB)."""


def read_edges(path: Path) -> list[tuple[str, str]]:
    """The ``(parent, child)`` pairs of an edge-list file (a regular UTF-8 file of at most ``MAX_BYTES``);
    ``InputError`` naming file and line for bad lines."""
    path = Path(path)
    text = read_text_file(path, "taxonomy edge list", MAX_BYTES)
    edges, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split("#", 1)[0].split()
        if not tokens:
            continue
        if len(tokens) != 2:
            problems.append(f"{path}:{number}: expected 'parent child', got {brief(line.strip())}")
        elif tokens[0] == tokens[1]:
            problems.append(f"{path}:{number}: {brief(tokens[0])} is its own parent")
        else:
            edges.append((tokens[0], tokens[1]))
    if problems:
        raise InputError(problems)
    return edges


def edgelist_taxonomy(path: Path, leaves: Sequence[str]) -> Taxonomy:
    """The taxonomy an edge-list file gives over ``leaves`` (dataset class names, in class order)."""
    edges = read_edges(path)
    try:
        return Taxonomy.from_edges(edges, leaves)
    except InputError as exc:
        raise InputError([f"{path}: {problem}" for problem in exc.problems]) from None
