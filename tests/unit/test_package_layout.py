"""The package's layout, read from its imports: no cycles, engines plug in only through their factory, and
the layers import downwards (core from nothing else, aws from core only).

Every `import` statement counts, also those inside functions (a lazy import still ties the modules), and
`from featurestore.x import y` counts as an import of the module `featurestore.x.y` when that is a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

import featurestore

PACKAGE = "featurestore"
# Each family of engines: the package whose __init__ is the factory, and its engines (a module or a package).
ENGINES = {
    "featurestore.offline": ("featurestore.offline.duckdb", "featurestore.offline.athena"),
    "featurestore.online": ("featurestore.online.sqlite", "featurestore.online.dynamodb"),
}
# Lower layers and what they may import from the package.
LAYERS = {
    "featurestore.core": ("featurestore.core",),
    "featurestore.aws": ("featurestore.core", "featurestore.aws"),
}
MAX_LINES = 350


def module_files(root: Path) -> dict[str, Path]:
    """Module name -> source file, a package being its __init__.py."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = [PACKAGE, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imports_of(name: str, path: Path, known: Iterable[str]) -> set[str]:
    """The package's modules that module `name` imports."""
    known = set(known)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            targets = [
                f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module for alias in node.names
            ]
        else:
            continue
        for target in targets:
            # `import featurestore.a.b` names a module; keep the longest known prefix.
            parts = target.split(".")
            while parts and ".".join(parts) not in known:
                parts.pop()
            if parts and ".".join(parts) != name:
                found.add(".".join(parts))
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_files(Path(featurestore.__file__).parent)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path that returns to its start) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def engine_violations(graph: Mapping[str, set[str]], engines: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Imports of an engine from another engine, or from anywhere but its family's factory."""
    problems = []
    for module, targets in graph.items():
        for factory, members in engines.items():
            for engine in members:
                for target in targets:
                    if not _within(target, engine) or _within(module, engine):
                        continue
                    sibling = next((other for other in members if _within(module, other)), None)
                    if sibling is not None:
                        problems.append(f"{module} imports {target}: engine {sibling} uses sibling engine {engine}")
                    elif module != factory:
                        problems.append(f"{module} imports {target}: only {factory} (the factory) opens {engine}")
    return sorted(problems)


def layer_violations(graph: Mapping[str, set[str]], layers: Mapping[str, tuple[str, ...]]) -> list[str]:
    problems = []
    for module, targets in graph.items():
        for layer, allowed in layers.items():
            if not _within(module, layer):
                continue
            problems += [
                f"{module} imports {target}: {layer} may import only {', '.join(allowed)}"
                for target in sorted(targets)
                if target.startswith(PACKAGE + ".") and not any(_within(target, ok) for ok in allowed)
            ]
    return sorted(problems)


GRAPH = import_graph()


def test_the_walk_sees_the_package() -> None:
    assert "featurestore.online.dynamodb.store" in GRAPH
    assert "featurestore.online.base" in GRAPH["featurestore.online.dynamodb.store"]
    # A lazy import inside a function counts.
    assert "featurestore.online.dynamodb" in GRAPH["featurestore.online"]


def test_no_import_cycles() -> None:
    assert cycles(GRAPH) == []


def test_engines_are_reached_only_through_their_factory() -> None:
    assert engine_violations(GRAPH, ENGINES) == []


def test_layers_import_downwards() -> None:
    assert layer_violations(GRAPH, LAYERS) == []


def test_no_module_over_the_line_limit_without_a_reason() -> None:
    root = Path(featurestore.__file__).parent
    long = [
        f"{path.relative_to(root)}: {lines} lines"
        for path in sorted(root.rglob("*.py"))
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
        and f"over {MAX_LINES} lines" not in (ast.get_docstring(ast.parse(path.read_text())) or "")
    ]
    assert long == []


# The checks themselves, on small graphs with the faults they must find.


def test_a_cycle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize(
    ("module", "target", "problem"),
    [
        ("x.online.dynamodb.writes", "x.online.sqlite", "uses sibling engine x.online.sqlite"),
        ("x.online.sync", "x.online.dynamodb.store", "only x.online (the factory) opens x.online.dynamodb"),
    ],
)
def test_a_cross_engine_import_is_found(module: str, target: str, problem: str) -> None:
    engines = {"x.online": ("x.online.sqlite", "x.online.dynamodb")}
    [found] = engine_violations({module: {target}}, engines)
    assert problem in found
    assert (
        engine_violations({"x.online": {target}, "x.online.dynamodb.store": {"x.online.dynamodb.codec"}}, engines) == []
    )


def test_an_upward_import_is_found() -> None:
    graph = {"featurestore.core.settings": {"featurestore.online.base", "featurestore.core.errors"}}
    [found] = layer_violations(graph, LAYERS)
    assert found.startswith("featurestore.core.settings imports featurestore.online.base: featurestore.core may")


def test_imports_resolve_to_modules(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import featurestore.core.errors\n"
        "from featurestore.core import settings\n"
        "from featurestore.online import open_online_store\n"
        "def f():\n    from .sqlite import SqliteOnlineStore\n"
    )
    known = set(GRAPH)
    assert imports_of("featurestore.online.m", module, known) == {
        "featurestore.core.errors",
        "featurestore.core.settings",
        "featurestore.online",
        "featurestore.online.sqlite",
    }
