"""The class taxonomy: a rooted tree over dataset classes whose branching nodes own experts.

Leaf ``i`` is dataset class ``i``. Every internal node has at least two children
and owns an expert, a classifier over its children (in ``children()`` order).
``Taxonomy.from_edges`` builds one from any parent -> child relation: it keeps
the part above the given leaves, checks that part is a tree, and passes
single-child chains through so no expert would have a single output.
"""

from __future__ import annotations

from collections import Counter, deque
from functools import cached_property
from collections.abc import Iterable, Sequence

import networkx as nx
import numpy as np

from edgesim.errors import InputError

_SHOWN = 5  # how many offending nodes an error message lists


def short_list(items: Iterable[object]) -> str:
    """``a, b, c`` for the first few items, then ``and N more``."""
    items = list(items)
    text = ", ".join(str(x) for x in items[:_SHOWN])
    return text if len(items) <= _SHOWN else f"{text} and {len(items) - _SHOWN} more"


class Taxonomy:
    """A rooted tree over class labels; leaf i is dataset class i.

    The graph is frozen; every internal node has two or more children. Use
    ``from_edges`` to build one from a relation that may need pruning.
    """

    graph: nx.DiGraph
    root: str
    leaves: tuple[str, ...]
    nodes: tuple[str, ...]
    experts: tuple[str, ...]

    def __init__(self, graph: nx.DiGraph, leaves: Sequence[str]):
        """Wrap ``graph`` (parent -> child edges) whose leaves are exactly ``leaves``, in class order."""
        leaves = tuple(leaves)
        _check_tree(graph, leaves)
        self.graph = nx.freeze(nx.DiGraph(graph))
        self.leaves = leaves
        self.root = next(n for n in graph if graph.in_degree(n) == 0)
        self._children = {n: tuple(sorted(graph.successors(n))) for n in graph}
        self._parent: dict[str, str | None] = {self.root: None}
        self._depth = {self.root: 0}
        internal = []
        queue = deque([self.root])
        while queue:
            node = queue.popleft()
            if self._children[node]:
                internal.append(node)
            for child in self._children[node]:
                self._parent[child] = node
                self._depth[child] = self._depth[node] + 1
                queue.append(child)
        self.experts = tuple(internal)
        self.nodes = leaves + self.experts
        self._index = {node: i for i, node in enumerate(self.nodes)}
        self._leaf_count = {leaf: 1 for leaf in leaves}
        for node in reversed(internal):  # children come after their parent in BFS order
            self._leaf_count[node] = sum(self._leaf_count[c] for c in self._children[node])

    @classmethod
    def from_edges(cls, edges: Iterable[tuple[str, str]], leaves: Sequence[str]) -> Taxonomy:
        """Build from parent -> child edges, keeping only the part above ``leaves``.

        Nodes that are not ancestors of a given leaf are dropped. That part must
        be a tree (one root, one parent per node, no cycle) in which no given leaf
        has children. A node with exactly one child is then removed and its child
        attached to its parent (a root with one child is replaced by the child).
        Raises ``InputError`` naming the offending nodes otherwise.
        """
        leaves = tuple(leaves)
        _check_classes(leaves)
        full = nx.DiGraph()
        full.add_edges_from(edges)
        missing = [leaf for leaf in leaves if leaf not in full]
        if missing:
            raise InputError(f"taxonomy: {len(missing)} classes are not in the edges: {short_list(missing)}")
        part = full.subgraph(ancestor_closure(full, leaves))
        _raise_if_not_tree(part, leaves)
        tree = nx.DiGraph()
        root = _skip_chain(part, next(n for n in part if part.in_degree(n) == 0))
        tree.add_node(root)
        queue = deque([root])
        while queue:
            node = queue.popleft()
            for child in part.successors(node):
                child = _skip_chain(part, child)
                tree.add_edge(node, child)
                queue.append(child)
        return cls(tree, leaves)

    def index(self, node: str) -> int:
        """Position of ``node`` in ``nodes`` (class index for a leaf)."""
        return self._index[node]

    def children(self, node: str) -> tuple[str, ...]:
        """Children sorted by node id: the output order of the node's expert."""
        return self._children[node]

    def parent(self, node: str) -> str | None:
        """The parent, or ``None`` for the root."""
        return self._parent[node]

    def depth(self, node: str) -> int:
        """Edges between the root and ``node``."""
        return self._depth[node]

    def leaf_count(self, node: str) -> int:
        """How many leaves lie under ``node`` (1 for a leaf)."""
        return self._leaf_count[node]

    def path(self, node: str) -> tuple[str, ...]:
        """The nodes from the root down to ``node``, both included."""
        steps = [node]
        while (up := self._parent[steps[-1]]) is not None:
            steps.append(up)
        return tuple(reversed(steps))

    def route(self, expert: str) -> np.ndarray:
        """Per class, the position in ``children(expert)`` of the child on its path, -1 off the subtree.

        ``route(v)[y]`` relabels a sample of class ``y`` for expert ``v``; samples
        mapped to -1 do not train ``v``.
        """
        if expert not in self._routes:
            raise ValueError(f"{expert!r} is not an expert of this taxonomy")
        return self._routes[expert]

    @cached_property
    def _routes(self) -> dict[str, np.ndarray]:
        """Every expert's route, computed once (read-only arrays: the tree never changes)."""
        routes = {}
        for expert in self.experts:
            targets = np.full(len(self.leaves), -1, dtype=np.int64)
            for position, child in enumerate(self._children[expert]):
                targets[self._leaf_indices(child)] = position
            targets.flags.writeable = False
            routes[expert] = targets
        return routes

    def membership(self) -> np.ndarray:
        """``(len(nodes), len(leaves))`` float32, 1 where the leaf is under or is the node.

        ``membership() @ leaf_probs`` turns a flat model's class probabilities into node probabilities.
        """
        matrix = np.zeros((len(self.nodes), len(self.leaves)), dtype=np.float32)
        for leaf_index, leaf in enumerate(self.leaves):
            matrix[[self._index[n] for n in self.path(leaf)], leaf_index] = 1.0
        return matrix

    def summary(self) -> dict:
        """Sizes and shape: nodes, leaves, experts, depth, min/max children per expert, mean leaf depth."""
        fan_out = [len(self._children[e]) for e in self.experts]
        leaf_depths = [self._depth[leaf] for leaf in self.leaves]
        return {
            "nodes": len(self.nodes),
            "leaves": len(self.leaves),
            "experts": len(self.experts),
            "depth": max(leaf_depths),
            "min_children": min(fan_out),
            "max_children": max(fan_out),
            "mean_leaf_depth": float(np.mean(leaf_depths)),
        }

    def _leaf_indices(self, node: str) -> list[int]:
        """Class indices of the leaves under ``node``."""
        found, stack = [], [node]
        while stack:
            current = stack.pop()
            if self._children[current]:
                stack.extend(self._children[current])
            else:
                found.append(self._index[current])
        return found

    def __repr__(self) -> str:
        s = self.summary()
        return f"Taxonomy(root={self.root!r}, leaves={s['leaves']}, experts={s['experts']}, depth={s['depth']})"


def _skip_chain(graph: nx.DiGraph, node: str) -> str:
    """The first node at or below ``node`` that does not have exactly one child."""
    while graph.out_degree(node) == 1:
        node = next(iter(graph.successors(node)))
    return node


def _raise_if_not_tree(part: nx.DiGraph, leaves: tuple[str, ...]) -> None:
    """Raise ``InputError`` listing why the part above the leaves is not a tree."""
    problems = []
    with_children = [leaf for leaf in leaves if part.out_degree(leaf)]
    if with_children:
        problems.append(
            f"taxonomy: classes must be leaves, but {short_list(with_children)} "
            "are ancestors of other classes"
        )
    if not nx.is_directed_acyclic_graph(part):
        cycle = [u for u, _ in nx.find_cycle(part)]
        problems.append(f"taxonomy: the edges have a cycle: {' -> '.join(cycle + cycle[:1])}")
    two_parents = [f"{n} (parents {', '.join(sorted(part.predecessors(n)))})" for n in part if part.in_degree(n) > 1]
    if two_parents:
        problems.append(f"taxonomy: not a tree, nodes with several parents: {short_list(sorted(two_parents))}")
    roots = sorted(n for n in part if part.in_degree(n) == 0)
    if len(roots) > 1:
        problems.append(f"taxonomy: the classes have {len(roots)} roots, expected one: {short_list(roots)}")
    if problems:
        raise InputError(problems)


def _check_classes(leaves: tuple[str, ...]) -> None:
    """Raise ``InputError`` unless there are at least two classes, each named once."""
    repeated = sorted(leaf for leaf, count in Counter(leaves).items() if count > 1)
    if repeated:
        raise InputError(f"taxonomy: classes named more than once: {short_list(repeated)}")
    if len(leaves) < 2:
        raise InputError(f"taxonomy: needs at least two classes, got {len(leaves)}")


def _check_tree(graph: nx.DiGraph, leaves: tuple[str, ...]) -> None:
    """Raise ``InputError`` unless ``graph`` is a tree with these leaves and no single-child node."""
    _check_classes(leaves)
    if not nx.is_arborescence(graph):
        raise InputError("taxonomy: the graph is not a rooted tree (Taxonomy.from_edges prunes a relation to one)")
    actual = {n for n in graph if graph.out_degree(n) == 0}
    if actual != set(leaves):
        raise InputError(
            "taxonomy: the tree's leaves are not the classes: "
            f"leaves that are not classes: {short_list(sorted(actual - set(leaves))) or 'none'}; "
            f"classes that are not leaves: {short_list(sorted(set(leaves) - actual)) or 'none'}"
        )
    single = sorted(n for n in graph if graph.out_degree(n) == 1)
    if single:
        raise InputError(f"taxonomy: nodes with a single child cannot own an expert: {short_list(single)}")


def ancestor_closure(graph: nx.DiGraph, nodes: Sequence[str]) -> set[str]:
    """``nodes`` and every node with a path to one of them."""
    closure = set(nodes)
    for node in nodes:
        closure |= nx.ancestors(graph, node)
    return closure
