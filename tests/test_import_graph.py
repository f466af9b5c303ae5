"""No import circles: in ``reqllm`` and ``reqllm_testing`` the module import graph is acyclic.

Every import counts, at the top of a module or inside a function (a lazy import is still an arrow),
except those under ``if TYPE_CHECKING:``, which never run. A package's ``__init__`` is a node too, so
a module that imports its own package (which imports that module) is a circle as well.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _modules(package: str) -> dict[str, Path]:
    modules = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of ``tree`` outside ``if TYPE_CHECKING:`` blocks."""
    found: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return found


def _owner(name: str, known: dict[str, Path]) -> str | None:
    """The module of ``known`` that importing ``name`` loads last (``a.b.c`` -> ``a.b`` if ``c`` is no module)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(package: str) -> dict[str, set[str]]:
    """module -> the modules of the same package it imports."""
    known = _modules(package)
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        base = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _imported(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                if node.level:
                    parts = base.split(".")
                    module = ".".join([*parts[:len(parts) - node.level + 1], *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                candidates = [f"{module}.{alias.name}" for alias in node.names]
            targets.update(owner for c in candidates if (owner := _owner(c, known)) is not None)
        targets.discard(name)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (``[a, b, a]``), or None when it is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


@pytest.mark.parametrize("package", ["reqllm", "reqllm_testing"])
def test_the_import_graph_of_each_package_is_acyclic(package: str) -> None:
    graph = import_graph(package)
    assert len(graph) > 10
    cycle = find_cycle(graph)
    assert cycle is None, f"import circle in {package}: {' -> '.join(cycle or ())}"


def test_the_graph_sees_lazy_imports_and_skips_type_checking_ones() -> None:
    graph = import_graph("reqllm_testing")
    assert "reqllm_testing.pytest_fixture" in graph["reqllm_testing.plugin"]  # imported inside a function
    assert "reqllm_testing.recorder" not in graph["reqllm_testing"]  # only under TYPE_CHECKING
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_reqllm_never_imports_reqllm_testing() -> None:
    for name, path in _modules("reqllm").items():
        for node in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert not any(n.split(".")[0] == "reqllm_testing" for n in names), f"{name} imports reqllm_testing"
