"""Showing a taxonomy: a PNG of the tree (layered top-down layout) and a rich summary table.

The layout is computed here, without graphviz: a node's height is its depth,
leaves are spaced evenly in depth-first order (children in expert output
order), and each internal node sits midway over its first and last child.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import networkx as nx
from matplotlib.figure import Figure
from rich.console import Console
from rich.table import Table

from edgesim.taxonomy.tree import Taxonomy

DPI = 120
LABEL_ALL_UP_TO = 60  # trees with more nodes label only their experts
EXPERT_COLOUR, LEAF_COLOUR, EDGE_COLOUR = "tab:orange", "0.45", "0.7"


def layered_layout(taxonomy: Taxonomy) -> dict[str, tuple[float, float]]:
    """``node -> (x, y)``: y is minus the depth, leaves at x = 0, 1, ... in depth-first order."""
    pos: dict[str, tuple[float, float]] = {}
    next_x = 0.0
    stack: list[tuple[str, bool]] = [(taxonomy.root, False)]
    while stack:
        node, children_placed = stack.pop()
        children = taxonomy.children(node)
        y = -float(taxonomy.depth(node))
        if not children:
            pos[node] = (next_x, y)
            next_x += 1.0
        elif children_placed:
            pos[node] = ((pos[children[0]][0] + pos[children[-1]][0]) / 2, y)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
    return pos


def draw_taxonomy(taxonomy: Taxonomy, path: Path, labels: Mapping[str, str] | None = None) -> Path:
    """Write a PNG of the tree to ``path`` with experts highlighted; ``labels`` maps node ids to display names.

    Small trees label every node; larger ones label only their experts.
    """
    path = Path(path)
    labels = labels or {}
    pos = layered_layout(taxonomy)
    summary = taxonomy.summary()
    small = len(taxonomy.nodes) <= LABEL_ALL_UP_TO
    width = min(max(6.0, 0.16 * summary["leaves"]), 40.0)
    height = min(max(3.0, 0.8 * summary["depth"] + 2.0), 16.0)
    figure = Figure(figsize=(width, height), layout="constrained")
    ax = figure.subplots()
    graph = taxonomy.graph
    nx.draw_networkx_edges(graph, pos, ax=ax, arrows=False, edge_color=EDGE_COLOUR, width=0.7)
    nx.draw_networkx_nodes(graph, pos, nodelist=list(taxonomy.leaves), ax=ax, node_size=8, node_color=LEAF_COLOUR)
    nx.draw_networkx_nodes(
        graph, pos, nodelist=list(taxonomy.experts), ax=ax, node_size=40 if small else 18, node_color=EXPERT_COLOUR
    )
    font = 8 if small else 5
    expert_text = nx.draw_networkx_labels(
        graph, pos, labels={e: labels.get(e, e) for e in taxonomy.experts}, ax=ax, font_size=font,
        verticalalignment="bottom", horizontalalignment="left",
    )
    for text in expert_text.values():
        text.set_rotation(25)
    if small:
        leaf_text = nx.draw_networkx_labels(
            graph, pos, labels={leaf: labels.get(leaf, leaf) for leaf in taxonomy.leaves}, ax=ax, font_size=font,
            verticalalignment="top",
        )
        for text in leaf_text.values():
            text.set_rotation(90)
    ax.set_title(
        f"{summary['leaves']} classes, {summary['experts']} experts (orange), depth {summary['depth']}", fontsize=10
    )
    ax.axis("off")
    ax.margins(x=0.02, y=0.15)
    figure.savefig(path, dpi=DPI, format="png")
    return path


def render_summary(taxonomy: Taxonomy, console: Console, title: str) -> None:
    """Print the taxonomy's summary as a two-column table."""
    summary = taxonomy.summary()
    table = Table(title=title, title_justify="left")
    table.add_column("quantity", style="bold", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_row("classes (leaves)", str(summary["leaves"]))
    table.add_row("nodes", str(summary["nodes"]))
    table.add_row("experts", str(summary["experts"]))
    table.add_row("children per expert", f"{summary['min_children']}–{summary['max_children']}")
    table.add_row("depth (max leaf)", str(summary["depth"]))
    table.add_row("mean leaf depth", f"{summary['mean_leaf_depth']:.2f}")
    console.print(table)
