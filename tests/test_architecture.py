"""Layering rules, checked on the source with ast:

- only mjdash/ui/ imports textual;
- only mjdash/sim/ imports starlette or uvicorn, directly or through a module-level import
  of another mjdash module (mjdash.sim.server, say). mjdash/cli.py may import them, and
  mjdash.sim, inside a function (lazily), so `mjdash --help` never loads a web server.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mjdash"

UI_ONLY = {"textual"}
SIM_ONLY = {"starlette", "uvicorn"}


@dataclass(frozen=True)
class Import:
    target: str  # absolute dotted name
    lazy: bool  # inside a function: runs only when called
    line: int


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve_relative(module: str | None, level: int, current: str, is_package: bool) -> str:
    if level == 0:
        return module or ""
    package = current.split(".") if is_package else current.split(".")[:-1]
    base = package[: len(package) - (level - 1)]  # each extra dot climbs one package
    return ".".join([*base, module] if module else base)


def _string_arg(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def _is_dynamic_import(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def imports_of(path: Path, root: Path) -> list[Import]:
    """Every import in the file: statements, relative ones resolved, and
    importlib.import_module("...") / __import__("...") with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    current = module_name(path, root)
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(alias.name, lazy, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_relative(node.module, node.level, current, is_package)
            found.append(Import(base, lazy, node.lineno))
            # `from mjdash.sim import server` imports the submodule mjdash.sim.server too.
            found.extend(
                Import(f"{base}.{alias.name}", lazy, node.lineno)
                for alias in node.names
                if alias.name != "*"
            )
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            name = _string_arg(node)
            if name:
                found.append(Import(name, lazy, node.lineno))
        inner_lazy = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner_lazy)

    visit(tree, False)
    return found


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def find_violations(root: Path) -> tuple[list[str], list[str]]:
    """(violations, scanned module names) for the package directory `root`."""
    pkg = root.name
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    imports = {mod: imports_of(path, root) for mod, path in files.items()}
    rel = {mod: path.relative_to(root.parent).as_posix() for mod, path in files.items()}
    ui, sim, cli = f"{pkg}.ui", f"{pkg}.sim", f"{pkg}.cli"
    violations: list[str] = []

    for mod, found in imports.items():
        for imp in found:
            where = f"{rel[mod]}:{imp.line}: imports {imp.target}"
            if _top(imp.target) in UI_ONLY and not _within(mod, ui):
                violations.append(f"{where} (only {ui} may import textual)")
            lazy_in_cli = mod == cli and imp.lazy
            if _top(imp.target) in SIM_ONLY and not _within(mod, sim) and not lazy_in_cli:
                violations.append(f"{where} (only {sim} may import it; {cli} lazily)")

    def loaded_by(mod: str) -> set[str]:
        """Every package module that importing `mod` runs (module-level imports only)."""
        seen: set[str] = set()
        todo = [mod]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            todo.extend(_parents(current))  # importing a.b.c runs a and a.b first
            for imp in imports.get(current, []):
                if not imp.lazy:
                    todo.extend(t for t in (imp.target, *_parents(imp.target)) if t in imports)
        return seen - {mod}

    web_modules = {
        mod
        for mod, found in imports.items()
        if any(_top(imp.target) in SIM_ONLY and not imp.lazy for imp in found)
    }
    for mod in imports:
        if _within(mod, sim):
            continue
        pulled = sorted(loaded_by(mod) & web_modules)
        if pulled:
            violations.append(
                f"{rel[mod]}: importing it loads {', '.join(pulled)}, which imports starlette/"
                f"uvicorn (import it inside a function, and only from {cli})"
            )
    return violations, list(files)


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


# --- the real package ----------------------------------------------------------------------


def test_mjdash_layering() -> None:
    violations, scanned = find_violations(PACKAGE)
    assert "mjdash.task" in scanned and "mjdash.ui" in scanned  # the walk really happened
    assert violations == []


# --- the checker itself, on a fake package tree --------------------------------------------

GOOD_TREE = {
    "mjdash/__init__.py": '"""fake"""\n',
    "mjdash/task.py": "import re\nimport textwrap\nfrom dataclasses import dataclass\n",
    "mjdash/client.py": "import httpx\nfrom mjdash.task import dataclass\nfrom . import task\n",
    "mjdash/ui/__init__.py": "import textual\n",
    "mjdash/ui/app.py": (
        "from textual.app import App\nfrom textual import on\nfrom ..client import httpx\n"
        "from .widgets import table\n"
    ),
    "mjdash/ui/widgets/__init__.py": "",
    "mjdash/ui/widgets/table.py": "from textual.widgets import DataTable\n",
    "mjdash/sim/__init__.py": "",
    "mjdash/sim/engine.py": "import random\n",
    "mjdash/sim/server.py": (
        "import uvicorn\nfrom starlette.applications import Starlette\nfrom .engine import random\n"
    ),
    "mjdash/cli.py": (
        "import argparse\n\n"
        "def sim_main():\n"
        "    from mjdash.sim.server import Starlette\n"
        "    import uvicorn\n"
        "    return Starlette, uvicorn\n\n"
        "async def app_main():\n"
        "    from .ui.app import App\n"
        "    return App\n"
    ),
    "mjdash/__main__.py": "from mjdash.cli import argparse\n",
    # Names that merely start with the same letters are not textual.
    "mjdash/textual_helpers.py": "import textwrap\n",
}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "mjdash"


def test_checker_accepts_a_well_layered_tree(tmp_path: Path) -> None:
    violations, scanned = find_violations(write_tree(tmp_path, GOOD_TREE))
    assert violations == []
    assert "mjdash.ui.widgets.table" in scanned and "mjdash.sim.server" in scanned


BAD_CASES = {
    "plain import": ("mjdash/view.py", "import textual\n", "mjdash/view.py:1"),
    "from import": (
        "mjdash/view.py",
        "x = 1\nfrom textual.widgets import DataTable\n",
        "view.py:2",
    ),
    "aliased submodule": ("mjdash/view.py", "import os, textual.app as app\n", "view.py:1"),
    "inside a function": ("mjdash/view.py", "def f():\n    import textual\n", "view.py:2"),
    "type checking": (
        "mjdash/view.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from textual.app import App\n",
        "view.py:3",
    ),
    "import_module": (
        "mjdash/view.py",
        "import importlib\nmod = importlib.import_module('textual.app')\n",
        "view.py:2",
    ),
    "__import__": ("mjdash/view.py", "w = __import__('textual')\n", "view.py:1"),
    "uvicorn in client": ("mjdash/client.py", "import uvicorn\n", "client.py:1"),
    "starlette in client": (
        "mjdash/client.py",
        "from starlette.responses import JSONResponse\n",
        "client.py:1",
    ),
    "lazy starlette outside cli": (
        "mjdash/poller.py",
        "def serve():\n    import starlette\n",
        "poller.py:2",
    ),
    "sim from ui": ("mjdash/ui/demo.py", "from mjdash.sim.server import Starlette\n", "demo.py"),
    "sim package's submodule": ("mjdash/poller.py", "from mjdash.sim import server\n", "poller.py"),
    "relative sim import": ("mjdash/poller.py", "from .sim.server import Starlette\n", "poller.py"),
    "deep relative sim import": (
        "mjdash/util/net.py",
        "from ..sim import server\n",
        "mjdash/util/net.py",
    ),
    "top-level sim in cli": (
        "mjdash/cli.py",
        "from mjdash.sim.server import Starlette\n\ndef main():\n    return Starlette\n",
        "mjdash/cli.py",
    ),
    "top-level starlette in cli": ("mjdash/cli.py", "import starlette\n", "cli.py:1"),
    "through a middle module": (
        "mjdash/middle.py",
        "import mjdash.sim.server\n",
        "mjdash/__main__.py",  # __main__ -> cli -> middle -> sim.server
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_checker_catches_a_forbidden_import(tmp_path: Path, case: str) -> None:
    name, text, expected = BAD_CASES[case]
    files = dict(GOOD_TREE, **{name: text})
    if case == "through a middle module":
        files["mjdash/cli.py"] = "from . import middle\n"
    violations, _ = find_violations(write_tree(tmp_path, files))
    assert violations, f"{case}: not caught"
    assert any(expected in v for v in violations), violations


def test_checker_resolves_relative_imports(tmp_path: Path) -> None:
    root = write_tree(tmp_path, GOOD_TREE)
    targets = {imp.target for imp in imports_of(root / "ui" / "app.py", root)}
    assert {"mjdash.client", "mjdash.client.httpx", "mjdash.ui.widgets.table"} <= targets
    targets = {imp.target for imp in imports_of(root / "client.py", root)}
    assert {"mjdash", "mjdash.task"} <= targets
    lazy = {imp.target: imp.lazy for imp in imports_of(root / "cli.py", root)}
    assert lazy["mjdash.sim.server"] is True and lazy["argparse"] is False
