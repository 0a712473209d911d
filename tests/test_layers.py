"""The layer rules of docs/architecture.md, checked on every run: import contracts, no import
cycles, and no reaching into another module's private names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "snowport"
# data/engine.py adapts fakesnow (a pinned version) and may use that library's internals; nothing else may.
FOREIGN_INTERNALS_ALLOWED = {SRC / "data" / "engine.py"}


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_no_import_cycles() -> None:
    graph = grimp.build_graph("snowport")
    modules = sorted(graph.modules)
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if state.get(imported) == 1:
                cycles.append(path[path.index(imported):] + [imported] if imported in path else [module, imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = 2

    for module in modules:
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def _private_uses(path: Path) -> list[str]:
    """`from other import _x` and `obj._x` where obj is not self/cls (a module's own names are its own)."""
    tree = ast.parse(path.read_text(), str(path))
    own_module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("snowport"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__") and node.module != own_module:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {node.module}.{alias.name}")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                continue
            if path in FOREIGN_INTERNALS_ALLOWED:
                continue
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} reads .{node.attr} of {ast.unparse(base)}")
    return found


def test_no_access_to_other_modules_private_names() -> None:
    uses = [use for path in sorted(SRC.rglob("*.py")) for use in _private_uses(path)]
    assert not uses, "\n".join(uses)
