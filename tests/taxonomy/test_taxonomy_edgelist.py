"""Edge-list files: comments and blank lines, and errors naming file and line."""

import re
from pathlib import Path

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
    with pytest.raises(InputError, match="taxonomy edge list not found"):
        read_edges(tmp_path / "absent.txt")


def test_only_regular_files_of_bounded_size_in_utf8_are_read(tmp_path, monkeypatch):
    import edgesim.taxonomy.edgelist as edgelist

    with pytest.raises(InputError, match="not a regular file"):
        read_edges(Path("/dev/zero"))
    big = tmp_path / "big.txt"
    big.write_text("a b\n" * 100)
    monkeypatch.setattr(edgelist, "MAX_BYTES", 200)
    with pytest.raises(InputError, match="larger than a taxonomy edge list may be"):
        read_edges(big)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"root a\nroot caf\xe9\n")
    with pytest.raises(InputError, match=r"latin.txt:2:9: not UTF-8 text \(byte 0xe9\)"):
        read_edges(latin)
    long_line = tmp_path / "long.txt"
    long_line.write_text("x " * 1000 + "\n")
    with pytest.raises(InputError) as caught:
        read_edges(long_line)
    assert len(caught.value.problems[0]) < 200
