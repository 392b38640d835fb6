"""The package's layers: core < api < adapters < cli, engine, bench; no import cycle.

The core (every module outside the packages named below) is the sans-IO
protocol: it imports neither the endpoint catalogue nor an adapter.  The
graph is read from the source with ``ast``, so an import inside a function
counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import wireproto

PACKAGE = Path(wireproto.__file__).parent
# A module's layer is its first package under wireproto; anything else is the core (0).
LAYERS = {"api": 1, "adapters": 2, "cli": 3, "engine": 3, "bench": 3, "__main__": 3}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 0


def resolve(importer: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The wireproto modules an import statement of ``importer`` loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            anchor = importer.split(".")  # a package's own name; a module's package below
            if MODULES[importer].name != "__init__.py":
                anchor = anchor[:-1]
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        names = [f"{base}.{alias.name}" for alias in node.names]
        names = [name if name in MODULES else base for name in names]
    found = set()
    for name in names:
        while name and name not in MODULES:  # import a.b.c loads a.b.c; keep the known part
            name = name.rpartition(".")[0]
        if name.startswith("wireproto"):
            found.add(name)
    return found


def imports_of(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found |= resolve(module, node)
    found.discard(module)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One path per cycle found by a depth-first search (empty: the graph is acyclic)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_reaches_a_higher_layer(module: str) -> None:
    upward = sorted(target for target in GRAPH[module] if layer(target) > layer(module))
    assert not upward, f"{module} (layer {layer(module)}) imports {upward}"


def test_the_core_imports_neither_the_api_nor_the_adapters() -> None:
    core = [module for module in MODULES if layer(module) == 0]
    assert "wireproto.negotiation" in core and "wireproto.exchange" in core
    reached = {target for module in core for target in GRAPH[module]}
    assert not {target for target in reached if layer(target) > 0}


def test_no_import_cycle_among_wireproto_modules() -> None:
    assert cycles(GRAPH) == []


def test_the_checks_can_fail() -> None:
    """The graph sees relative and function-level imports, and the search finds a cycle."""
    assert "wireproto.api.gates" in GRAPH["wireproto.api.containers"]
    assert "wireproto.api" in GRAPH["wireproto.cli.verbs"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert (
        layer("wireproto.adapters.blocking")
        > layer("wireproto.api.system")
        > layer("wireproto.http")
    )
