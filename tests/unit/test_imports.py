"""The imports inside retrain/: no cycle (a lazy import inside a function counts: it hides the
cycle, it does not remove it) and no module importing another module's private name."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "retrain"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every retrain import in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "retrain":  # `from retrain import x`: module x
                found += [(f"retrain.{a.name}", [], node.lineno) for a in node.names]
            elif node.module.startswith("retrain."):
                # `from retrain.pkg import module`: module pkg.module, not the package
                folder = PACKAGE.parent.joinpath(*node.module.split("."))
                subs = [a.name for a in node.names if (folder / f"{a.name}.py").exists()]
                found += [(f"{node.module}.{name}", [], node.lineno) for name in subs]
                names = [a.name for a in node.names if a.name not in subs]
                if names or not subs:
                    found.append((node.module, names, node.lineno))
        elif isinstance(node, ast.Import):
            found += [
                (a.name, [], node.lineno) for a in node.names if a.name.startswith("retrain.")
            ]
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        graph[_module(path)] = {m for m, _, _ in _imports(path) if m != _module(path)}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, each once, as the modules along it (first repeated at the end)."""
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                loop = path[path.index(nxt) :]
                if frozenset(loop) not in seen:
                    seen.add(frozenset(loop))
                    found.append([*loop, nxt])
            elif nxt in graph and len(path) < 40:
                walk(nxt, [*path, nxt])

    for start in sorted(graph):
        walk(start, [start])
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_retrain_has_no_import_cycle() -> None:
    found = cycles(_graph())
    assert not found, "import cycles in retrain/: " + "; ".join(" -> ".join(c) for c in found)


def test_no_module_imports_another_modules_private_name() -> None:
    private = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name} from {module}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for module, names, line in _imports(path)
        for name in names
        if name.startswith("_") and not name.startswith("__") and module != _module(path)
    ]
    assert not private, "private names imported across modules:\n" + "\n".join(private)
