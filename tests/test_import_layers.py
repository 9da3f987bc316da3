"""No edgesim module, and no edgesim package, imports itself back through others, at module level or lazily
inside a function."""

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


def _layer(module: str) -> str:
    """The package a module belongs to (``edgesim.sim.fleet`` -> ``edgesim.sim``); a module directly under
    ``edgesim`` is a layer of its own."""
    parts = module.split(".")
    if len(parts) > 1 and (PACKAGE / parts[1]).is_dir():
        return ".".join(parts[:2])
    return module


def _graph(name=lambda module: module) -> nx.DiGraph:
    graph = nx.DiGraph()
    for path in PACKAGE.rglob("*.py"):
        source = name(_module_name(path))
        graph.add_edges_from((source, name(target)) for target in _imports(path) if name(target) != source)
    return graph


def _cycles(graph: nx.DiGraph) -> list:
    return [cycle for cycle in nx.simple_cycles(graph) if len(cycle) > 1]


def test_no_module_imports_itself_back():
    assert not _cycles(_graph()), f"import cycles: {_cycles(_graph())}"


def test_no_package_imports_itself_back():
    assert not _cycles(_graph(_layer)), f"package cycles: {_cycles(_graph(_layer))}"


def test_a_package_cycle_is_seen_through_different_modules():
    graph = nx.DiGraph([(_layer("edgesim.sim.fleet"), _layer("edgesim.scenario.schema")),
                        (_layer("edgesim.scenario.fleet"), _layer("edgesim.sim.device"))])
    assert [set(cycle) for cycle in _cycles(graph)] == [{"edgesim.sim", "edgesim.scenario"}]


def test_the_check_sees_a_lazy_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from edgesim.fl import trainer\n")
    assert _imports(module) == {"edgesim.fl"}
