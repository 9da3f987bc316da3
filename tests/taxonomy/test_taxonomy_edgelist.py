"""Edge-list files: comments and blank lines, and errors naming file and line."""

import re

import pytest

from edgesim.errors import InputError
from edgesim.taxonomy import edgelist_taxonomy, read_edges


def test_reads_pairs_skipping_comments(tmp_path):
    path = tmp_path / "tree.txt"
    path.write_text("# animals\nanimal cat\n\nanimal  dog   # trailing comment\n   \nthing animal\nthing rock\n")
    assert read_edges(path) == [("animal", "cat"), ("animal", "dog"), ("thing", "animal"), ("thing", "rock")]
    t = edgelist_taxonomy(path, ["rock", "cat", "dog"])
    assert t.root == "thing" and t.experts == ("thing", "animal") and t.leaves == ("rock", "cat", "dog")


def test_malformed_lines_name_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("a b\n# fine\na b c\nlonely\nd d\n")
    with pytest.raises(InputError) as caught:
        read_edges(path)
    assert caught.value.problems == [
        f"{path}:3: expected 'parent child', got 'a b c'",
        f"{path}:4: expected 'parent child', got 'lonely'",
        f"{path}:5: 'd' is its own parent",
    ]


def test_tree_problems_name_the_file(tmp_path):
    path = tmp_path / "dag.txt"
    path.write_text("r a\nr b\na x\nb x\na y\n")
    with pytest.raises(InputError, match=f"^{re.escape(str(path))}: taxonomy: not a tree, nodes with several parents"):
        edgelist_taxonomy(path, ["x", "y"])
    with pytest.raises(InputError, match="cannot read"):
        read_edges(tmp_path / "absent.txt")
