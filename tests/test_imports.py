"""The package's import graph has no cycle, counting imports inside functions (not those under
TYPE_CHECKING): a change in one module cannot need a change in a module that imports it back."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "sue_framework"


def _module_names() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports anywhere in its code."""
    modules = _module_names()

    def targets(name: str, path: Path) -> set[str]:
        out: set[str] = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]

        class Visitor(ast.NodeVisitor):
            def visit_If(self, node: ast.If) -> None:
                if "TYPE_CHECKING" in ast.unparse(node.test):
                    for child in node.orelse:
                        self.visit(child)
                    return
                self.generic_visit(node)

            def visit_Import(self, node: ast.Import) -> None:
                out.update(a.name for a in node.names)

            def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                subs = {f"{base}.{a.name}" for a in node.names} & set(modules)
                out.update(subs)
                if len(subs) < len(node.names):  # names from the module itself
                    out.add(base)

        Visitor().visit(ast.parse(path.read_text(encoding="utf-8")))
        return {m for m in out if m in modules and m != name}

    return {name: targets(name, path) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert "sue_framework.components.knn" in graph["sue_framework.components.graphs"]
    assert cycles(graph) == []


def test_no_component_looks_anything_up_in_the_registry():
    """Names become objects at the edge (registry.build); components only get objects. Counts
    imports inside functions too, and the settings rules that components use."""
    graph = import_graph()
    components = [m for m in graph if m.startswith("sue_framework.components")]
    assert len(components) > 10
    lookers = {
        m
        for m in [*components, "sue_framework.runtime.settings"]
        if "sue_framework.registry" in graph[m]
    }
    assert lookers == set()
