"""No edgesim module imports itself back through others, at module level or lazily inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "edgesim"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The edgesim modules ``path`` imports anywhere in its body (``from edgesim.a import b`` counts as
    ``edgesim.a``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("edgesim"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("edgesim"))
    return found


def test_no_module_imports_itself_back():
    graph = nx.DiGraph()
    for path in PACKAGE.rglob("*.py"):
        graph.add_edges_from((_module_name(path), target) for target in _imports(path))
    cycles = [cycle for cycle in nx.simple_cycles(graph) if len(cycle) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_the_check_sees_a_lazy_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from edgesim.fl import trainer\n")
    assert _imports(module) == {"edgesim.fl"}
