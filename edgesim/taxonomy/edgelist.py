"""Taxonomies from edge-list text files: one ``parent child`` pair per line.

Everything after ``#`` on a line is a comment; blank lines are skipped. Node
ids are whitespace-free tokens (WordNet ids, class names, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from edgesim.errors import InputError
from edgesim.taxonomy.tree import Taxonomy


def read_edges(path: Path) -> list[tuple[str, str]]:
    """The ``(parent, child)`` pairs of an edge-list file; ``InputError`` naming file and line for bad lines."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the taxonomy edge list: {exc}") from exc
    edges, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split("#", 1)[0].split()
        if not tokens:
            continue
        if len(tokens) != 2:
            problems.append(f"{path}:{number}: expected 'parent child', got {line.strip()!r}")
        elif tokens[0] == tokens[1]:
            problems.append(f"{path}:{number}: {tokens[0]!r} is its own parent")
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
