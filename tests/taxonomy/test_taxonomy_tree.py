"""Taxonomy construction (pruning, pass-through, errors), node order, routing and membership."""

import networkx as nx
import numpy as np
import pytest

from edgesim.errors import InputError
from edgesim.taxonomy import Taxonomy

# root -> A, B; A -> A2, a1, a2; A2 -> a3, a4; B -> b1..b4. Classes deliberately not in tree order.
EDGES = [("root", "A"), ("root", "B"), ("A", "a1"), ("A", "a2"), ("A", "A2"), ("A2", "a3"), ("A2", "a4")]
EDGES += [("B", f"b{i}") for i in range(1, 5)]
LEAVES = ["b1", "a1", "a3", "a2", "b2", "a4", "b3", "b4"]


@pytest.fixture
def small():
    return Taxonomy.from_edges(EDGES, LEAVES)


def test_nodes_experts_and_structure(small):
    assert small.root == "root"
    assert small.leaves == tuple(LEAVES)
    assert small.experts == ("root", "A", "B", "A2")  # BFS, children sorted by id ("A2" < "a1")
    assert small.nodes == tuple(LEAVES) + ("root", "A", "B", "A2")
    assert [small.index(n) for n in ("b1", "a4", "root", "A2")] == [0, 5, 8, 11]
    assert small.children("A") == ("A2", "a1", "a2")
    assert small.parent("a3") == "A2" and small.parent("root") is None
    assert [small.depth(n) for n in ("root", "B", "A2", "a3", "b4")] == [0, 1, 2, 3, 2]
    assert [small.leaf_count(n) for n in ("root", "A", "A2", "a1")] == [8, 4, 2, 1]
    assert small.path("a4") == ("root", "A", "A2", "a4")
    assert small.summary() == {
        "nodes": 12, "leaves": 8, "experts": 4, "depth": 3,
        "min_children": 2, "max_children": 4, "mean_leaf_depth": 18 / 8,
    }


def test_route_relabels_samples_per_expert(small):
    assert small.route("root").tolist() == [1, 0, 0, 0, 1, 0, 1, 1]
    assert small.route("A").tolist() == [-1, 1, 0, 2, -1, 0, -1, -1]
    assert small.route("A2").tolist() == [-1, -1, 0, -1, -1, 1, -1, -1]
    assert small.route("B").dtype == np.int64
    labels = np.array([2, 0, 5, 3, 1])  # a3, b1, a4, a2, a1
    targets = small.route("A")[labels]
    trains = targets >= 0
    assert trains.tolist() == [True, False, True, True, True]
    assert targets[trains].tolist() == [0, 0, 2, 1]  # a3, a4 -> A2; a2 -> a2; a1 -> a1
    with pytest.raises(ValueError, match="not an expert"):
        small.route("a1")


def test_membership_maps_leaf_probabilities_to_nodes(small):
    m = small.membership()
    assert m.shape == (12, 8) and m.dtype == np.float32
    assert np.array_equal(m[:8], np.eye(8))
    assert m[small.index("root")].tolist() == [1] * 8
    assert m[small.index("A2")].tolist() == [0, 0, 1, 0, 0, 1, 0, 0]
    probs = np.array([0.1, 0.2, 0.05, 0.05, 0.1, 0.3, 0.1, 0.1], dtype=np.float32)
    nodes = m @ probs
    assert nodes[small.index("A")] == pytest.approx(0.6) and nodes[small.index("B")] == pytest.approx(0.4)


def test_pruning_and_single_child_pass_through():
    edges = [
        ("top", "mid"),  # a root with one child is replaced by it
        ("mid", "c1"), ("c1", "c2"), ("c2", "x"), ("c2", "y"), ("c2", "dead"),  # c1 passes through; dead is pruned
        ("mid", "w1"), ("w1", "w2"), ("w2", "z"),  # a chain down to a leaf
        ("mid", "unused"), ("unused", "u1"), ("unused", "u2"),  # no classes below: pruned
        ("elsewhere", "q"),  # another component without classes: ignored
    ]
    t = Taxonomy.from_edges(edges, ["z", "x", "y"])
    assert t.root == "mid"
    assert sorted(t.graph.edges) == [("c2", "x"), ("c2", "y"), ("mid", "c2"), ("mid", "z")]
    assert t.experts == ("mid", "c2") and t.nodes == ("z", "x", "y", "mid", "c2")
    assert t.route("mid").tolist() == [1, 0, 0]
    with pytest.raises(nx.NetworkXError):
        t.graph.add_edge("z", "new")  # frozen


@pytest.mark.parametrize(
    "edges, leaves, message",
    [
        (
            [("r", "a"), ("r", "b"), ("a", "x"), ("b", "x"), ("a", "y")],
            ["x", "y"],
            r"several parents: x \(parents a, b\)",
        ),
        ([("r1", "x"), ("r1", "w"), ("r2", "y"), ("r2", "v")], ["x", "y", "w", "v"], "2 roots, expected one: r1, r2"),
        ([("r", "a"), ("a", "b"), ("b", "a"), ("b", "x"), ("r", "y")], ["x", "y"], "cycle"),
        ([("r", "x"), ("r", "y")], ["x", "y", "nope"], "1 classes are not in the edges: nope"),
        ([("r", "x"), ("x", "y"), ("r", "z")], ["x", "y", "z"], "x are ancestors of other classes"),
        ([("r", "x"), ("r", "y")], ["x", "y", "x"], "more than once: x"),
        ([("r", "x")], ["x"], "at least two classes, got 1"),
        ([("r", "x")], [], "at least two classes, got 0"),
    ],
)
def test_from_edges_rejects_non_trees(edges, leaves, message):
    with pytest.raises(InputError, match=message):
        Taxonomy.from_edges(edges, leaves)


def test_constructor_wants_a_clean_tree():
    chain = nx.DiGraph([("r", "m"), ("m", "x"), ("m", "y")])
    with pytest.raises(InputError, match="single child cannot own an expert: r"):
        Taxonomy(chain, ["x", "y"])
    with pytest.raises(InputError, match="classes that are not leaves: z"):
        Taxonomy(nx.DiGraph([("r", "x"), ("r", "y")]), ["x", "y", "z"])
    with pytest.raises(InputError, match="not a rooted tree"):
        Taxonomy(nx.DiGraph([("r", "x"), ("r", "y"), ("s", "y")]), ["x", "y"])
