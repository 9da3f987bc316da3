"""The layered layout, the PNG of a tree, and the summary table."""

from rich.console import Console

import edgesim.taxonomy
from edgesim.taxonomy import Taxonomy, cifar100_taxonomy
from edgesim.taxonomy.draw import draw_taxonomy, layered_layout, render_summary

EDGES = [("root", "A"), ("root", "B"), ("A", "a1"), ("A", "a2"), ("A", "A2"), ("A2", "a3"), ("A2", "a4")]
EDGES += [("B", f"b{i}") for i in range(1, 5)]
TREE = Taxonomy.from_edges(EDGES, ["b1", "a1", "a3", "a2", "b2", "a4", "b3", "b4"])
PNG = b"\x89PNG\r\n\x1a\n"


def test_layered_layout():
    pos = layered_layout(TREE)
    # Leaves in depth-first order a3 a4 a1 a2 b1..b4; parents midway over their first and last child.
    assert [pos[n][0] for n in ("a3", "a4", "a1", "a2", "b1", "b4")] == [0, 1, 2, 3, 4, 7]
    assert pos["A2"] == (0.5, -2) and pos["A"] == (1.75, -1) and pos["B"] == (5.5, -1)
    assert pos["root"] == (3.625, 0) and pos["a3"][1] == -3 and pos["a1"][1] == -2


def test_draw_small_and_large(tmp_path):
    small = draw_taxonomy(TREE, tmp_path / "small.png", labels={"A": "animals"})
    large = draw_taxonomy(cifar100_taxonomy(), tmp_path / "cifar.png")
    for path in (small, large):
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000


def test_render_summary():
    console = Console(record=True, width=80)
    render_summary(TREE, console, "small tree")
    text = console.export_text()
    assert "small tree" in text
    for row in ("classes (leaves)", "experts", "children per expert", "depth (max leaf)", "mean leaf depth"):
        assert row in text
    assert "2–4" in text and "2.25" in text


def test_package_exports_drawing_lazily():
    assert edgesim.taxonomy.draw_taxonomy is draw_taxonomy and edgesim.taxonomy.render_summary is render_summary
