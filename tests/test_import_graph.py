"""The package's imports run one way: no module imports one that imports it back.

Every ``import`` and ``from ... import`` of the package's own modules counts,
at module level or inside a function (a lazy import is still a dependency);
only imports under ``if TYPE_CHECKING:`` are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import savedmodel_widgets

PACKAGE = Path(savedmodel_widgets.__file__).parent
NAME = "savedmodel_widgets"
EXPORT_MODULES = ("spec", "exporter", "codegen", "validation", "verifier", "sources")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def _type_checking_blocks(tree: ast.AST) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:``."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                hidden.update(id(each) for each in ast.walk(child))
    return hidden


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports (a package means its ``__init__``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = _type_checking_blocks(tree)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            # "from . import errors" names a module; "from .x import y" names x (or x.y).
            targets = [f"{module}.{alias.name}" for alias in node.names
                       if f"{module}.{alias.name}" in known] or [module]
        else:
            continue
        found.update(target for target in targets if target in known and target != name)
    return found


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_the_walk_sees_lazy_imports_and_packages():
    graph = import_graph()
    assert f"{NAME}.verifier" in graph[f"{NAME}.exporter"]  # a top-level import
    assert f"{NAME}.sources" in graph[f"{NAME}.validation"]  # a package: its __init__
    assert f"{NAME}.magics" in graph[NAME]  # a lazy import inside a function
    assert f"{NAME}.verifier" not in graph[f"{NAME}.spec"]  # under TYPE_CHECKING only


def test_no_module_imports_one_that_imports_it_back():
    """Outside the reader's own package, imports run one way. Inside it, the data classes
    render and check themselves (``info`` imports ``html`` and ``checks`` lazily, as
    DESIGN.md's rule 3 asks), a knot that no module outside it is part of."""
    knots = cycles(import_graph())
    reader = f"{NAME}.savedmodel"
    assert [group for group in knots if any(not m.startswith(reader) for m in group)] == []
    assert all(f"{reader}.info" in group for group in knots)


def test_the_spec_module_imports_no_export_module():
    graph = import_graph()
    spec = graph[f"{NAME}.spec"]
    below = (f"{NAME}.savedmodel", f"{NAME}.runtimes.catalogue")
    assert all(target.startswith(below) for target in spec), spec
    assert not graph[f"{NAME}.runtimes.catalogue"], "the runtime catalogue is a leaf"
    export_modules = {f"{NAME}.{module}" for module in EXPORT_MODULES}
    for name, targets in graph.items():
        if name.startswith(f"{NAME}.sources"):
            assert not targets & (export_modules - {f"{NAME}.spec", f"{NAME}.sources"}), name


def test_every_module_has_all_or_a_leading_underscore():
    """Each module says what it offers (``__all__``), or is private by its name; every name
    it lists exists."""
    for name, path in modules().items():
        stem = path.stem
        if stem.startswith("_") and stem != "__init__":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        listed = next((node.value for node in tree.body if isinstance(node, ast.Assign)
                       and any(getattr(t, "id", "") == "__all__" for t in node.targets)), None)
        assert listed is not None, f"{name} has no __all__ and no leading underscore"
        module = __import__(name, fromlist=["_"])
        missing = [item for item in ast.literal_eval(listed) if not hasattr(module, item)]
        assert not missing, f"{name}.__all__ lists names it lacks: {missing}"
