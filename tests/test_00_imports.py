"""No import circles between agromap modules (imports inside functions count; typing-only ones do not)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "agromap"



def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _typing_only(tree: ast.Module) -> set[int]:
    """Ids of import nodes under ``if TYPE_CHECKING:``."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    return skip


def _graph() -> dict[str, set[str]]:
    mods = {_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text())
        skip = _typing_only(tree)
        deps: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.ImportFrom):
                base = pkg.split(".")[: len(pkg.split(".")) - max(node.level - 1, 0)] if node.level else []
                target = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module or ""
                cands = [target, *(f"{target}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                cands = [a.name for a in node.names]
            else:
                continue
            # ``from pkg import module`` depends on the module; the package itself is imported
            # by any import of one of its modules, so it is not a dependency of its own.
            subs = [c for c in cands[1:] if c in mods]
            deps.update(c for c in (subs or cands[:1]) if c in mods and c != mod)
        graph[mod] = deps
    return graph


def _circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[set[str]] = []

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
            comp = set()
            while True:
                w = stack.pop()
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _cycle_path(graph: dict[str, set[str]], comp: set[str]) -> list[str]:
    """One closed path through a strongly connected component, for the failure message."""
    start = min(comp)
    path, seen = [start], {start}
    while True:
        nxt = sorted(graph[path[-1]] & comp)
        back = [n for n in nxt if n == start]
        if back and len(path) > 1:
            return [*path, start]
        fresh = [n for n in nxt if n not in seen]
        if not fresh:
            return [*path, nxt[0]]
        path.append(fresh[0])
        seen.add(fresh[0])


def test_no_import_circles():
    graph = _graph()
    circles = _circles(graph)
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(_cycle_path(graph, c)) for c in circles)


def test_the_graph_sees_relative_absolute_and_function_level_imports():
    graph = _graph()
    assert "agromap.rice.calendars" in graph["agromap.rice.seasons"]  # from .calendars import ...
    assert "agromap.errors" in graph["agromap.rice.model_io"]  # from ..errors import (...)
    # a function-level import: the plug-in loads the calendar table only when validating a config
    assert "agromap.rice.calendars" in graph["agromap.pipeline.products.rice"]


def test_the_checker_finds_a_circle_and_prints_it():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [{"a", "b", "c"}]
    assert _cycle_path(graph, {"a", "b", "c"}) == ["a", "b", "c", "a"]


# Modules of the package whose private names are shared by design: the lazy-attribute helper and the
# version records.
_SHARED_PRIVATE = {"agromap._lazy", "agromap._version", "agromap._versions"}


def _module_of(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    pkg = mod if is_pkg else mod.rsplit(".", 1)[0]
    base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_imports(sources: dict[str, tuple[str, bool]]) -> list[str]:
    """``from X import _name`` and ``import X`` then ``X._name`` where X is another agromap module.

    ``sources`` maps a module name to its text and whether it is a package ``__init__``.
    """
    found = []
    for mod, (text, is_pkg) in sorted(sources.items()):
        tree = ast.parse(text)
        aliases: dict[str, str] = {}  # local name -> agromap module
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                src = _module_of(mod, is_pkg, node)
                if not src.startswith("agromap") or src == mod or src in _SHARED_PRIVATE:
                    continue
                for a in node.names:
                    if f"{src}.{a.name}" in sources:
                        aliases[a.asname or a.name] = f"{src}.{a.name}"
                    elif _private(a.name):
                        found.append(f"{mod}: from {src} import {a.name}")
            elif isinstance(node, ast.Import):
                aliases.update({a.asname: a.name for a in node.names if a.name.startswith("agromap") and a.asname})
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            target = aliases.get(node.value.id) if isinstance(node.value, ast.Name) else None
            if target is None and ast.unparse(node.value) in sources:
                target = ast.unparse(node.value)
            if target and target != mod and target not in _SHARED_PRIVATE:
                found.append(f"{mod}: {target}.{node.attr}")
    return found


def test_no_private_name_is_imported_from_another_module():
    """A leading underscore means "this module only": shared helpers get a public name and a docstring."""
    sources = {_name(p): (p.read_text(), p.name == "__init__.py") for p in SRC.rglob("*.py")}
    assert _private_imports(sources) == []


def test_the_private_name_check_sees_each_way_of_reaching_one():
    sources = {
        "agromap.a": ("_x = 1\n", False),
        "agromap.pkg": ("", True),
        "agromap.pkg.b": ("from ..a import _x\nfrom .. import a\nimport agromap.a as aa\nimport agromap.a\n"
                          "y = a._y + aa._z + agromap.a._w + a.__name__\nfrom agromap._lazy import _helper\n", False),
        "agromap.pkg.c": ("import datetime as _dt\nfrom .b import y as _y\nclass C:\n    def f(self):\n"
                          "        return self._own\n", False),
    }
    assert sorted(_private_imports({**sources, "agromap._lazy": ("", False)})) == sorted([
        "agromap.pkg.b: from agromap.a import _x", "agromap.pkg.b: agromap.a._y", "agromap.pkg.b: agromap.a._z",
        "agromap.pkg.b: agromap.a._w"])
