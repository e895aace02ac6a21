"""The package's modules form layers: no module imports, at its top or inside a function, one that imports it back.

graph.py knows no op, the ops know no session, the session knows no diagram; each layer imports only the ones below.
"""

import ast
from pathlib import Path

import symslow

PACKAGE = Path(symslow.__file__).parent


def module_name(path: Path) -> str:
    parts = ["symslow", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that the file imports anywhere in it (``from . import x`` names module x)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            base = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target not in (name, "symslow"):
                found.add(target)
    return found


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (the first again at the end), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[module] = "done"
        path.pop()
        return None

    for module in sorted(edges):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_find_cycle_finds_a_cycle_and_only_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_module_imports_one_that_imports_it_back():
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    edges = {module_name(p): imports(p, modules) for p in paths}
    assert {"symslow.graph", "symslow.compiler"} <= edges["symslow.session"]  # imports are found, lazy ones too
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges) or [])


def test_graph_module_imports_no_op_leaf_session_or_diagram():
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    assert imports(PACKAGE / "graph.py", modules) <= {"symslow.errors", "symslow.dtypes", "symslow.shapes",
                                                      "symslow.names", "symslow.default_session"}
    for below in ("names.py", "default_session.py", "shapes.py"):  # each imports errors alone
        assert imports(PACKAGE / below, modules) <= {"symslow.errors", "symslow.dtypes"}, below


def test_every_file_the_internals_page_names_exists():
    """docs/internals.md says where each concern lives: each file and folder it names is there."""
    import re

    root = PACKAGE.parent
    text = (root / "docs" / "internals.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\b((?:symslow|tests)/[\w/]*\w(?:\.py)?/?)", text))
    assert len(named) > 20
    missing = sorted(path for path in named if not (root / path).exists())
    assert missing == []
