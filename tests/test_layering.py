"""The package's layering: no import cycles between subpackages and top-level modules.

Every import statement counts, including those inside functions (voxnb imports heavy modules
on first use, so most of its real dependencies live there); only ``if TYPE_CHECKING:`` blocks
are left out, because they never run. A node is a subpackage (``voxnb.api``, ``voxnb.local``,
...) or a top-level module (``voxnb.transcript``, ...).
"""

from __future__ import annotations

import ast
from pathlib import Path

import voxnb

PACKAGE = Path(voxnb.__file__).parent


def _node(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "voxnb" or len(parts) == 1:
        return None
    return "voxnb." + parts[1]


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str) -> set[str]:
    """Every module imported anywhere in *tree* except under ``if TYPE_CHECKING:``."""
    found: set[str] = set()
    package = (
        module
        if (PACKAGE.parent / module.replace(".", "/") / "__init__.py").exists()
        else module.rpartition(".")[0]
    )

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            found.add(source)
            for alias in node.names:
                # `from voxnb import align` names a lazy attribute: follow it to its module
                exported = voxnb._EXPORTS.get(alias.name) if source == "voxnb" else None
                found.add(
                    f"voxnb.{exported or alias.name}" if source == "voxnb" else f"{source}.{alias.name}"
                )
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    """node -> the other nodes it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "data" in path.relative_to(PACKAGE).parts[:1]:
            continue  # generator scripts shipped with the bundled data, not library code
        module = _module_name(path)
        node = _node(module)
        if node is None:
            continue
        targets = {_node(name) for name in _imports(ast.parse(path.read_text()), module)}
        graph.setdefault(node, set()).update(t for t in targets if t is not None and t != node)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return components


def test_the_graph_sees_function_local_imports():
    graph = import_graph()
    # backend imports the HTTP client only inside transcribe(): the test must see it
    assert "voxnb.api" in graph["voxnb.backend"]
    assert "voxnb.local" in graph["voxnb.serve"]
    # `from voxnb import align` inside Transcript.align is an edge to voxnb.local
    assert "voxnb.local" in graph["voxnb.transcript"]
    assert not any("voxnb.align" in targets for targets in graph.values())


def test_no_import_cycles_between_subpackages_and_modules():
    cycles = _cycles(import_graph())
    assert cycles == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_cycle_finder_finds_a_planted_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_layers():
    graph = import_graph()
    assert "voxnb.bias" not in graph["voxnb.plot"], "plot.py must not import the bias lab"
    assert "voxnb.realtime" not in graph["voxnb.local"] and "voxnb.serve" not in graph["voxnb.local"], (
        "local/ is the engine only"
    )
    assert not {"voxnb.serve", "voxnb.backend"} & graph["voxnb.api"], "the HTTP client depends on neither"
