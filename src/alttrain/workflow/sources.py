"""The source files a job's command runs: its module and every ``alttrain`` module that module imports.

Figure, table and per-paper jobs list these files as inputs, so editing a figure module, a helper it imports or a
pipeline step redraws or recomputes exactly the outputs made with that code (``snakemake -n`` lists those jobs).
Training jobs do not: a code change never retrains (their configuration is their input).

The imports are read with :mod:`ast` while the DAG is built (no module is imported): ``import alttrain.x``,
``from alttrain.x import y`` (``y`` a submodule or a name), relative imports, and imports inside functions (the
commands import lazily). Importing ``alttrain.a.b`` runs ``alttrain/__init__.py`` and ``alttrain/a/__init__.py``
too, so those count. For a pipeline module whose steps share one file, :func:`step_sources` follows only one
step: the module's top-level imports, and the imports of the step function and of the module functions it calls.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]  # the folder that holds the alttrain package
PACKAGE = "alttrain"


def module_file(module: str, src: Path = SRC) -> Path | None:
    """``alttrain/x/y.py`` or ``alttrain/x/y/__init__.py`` of a dotted module name (None: not a module)."""
    base = src.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imported(node: ast.AST, module: str, is_package: bool) -> set[str]:
    """alttrain modules named by the import statements under ``node`` (a submodule or the module of a name)."""
    found: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Import):
            found |= {alias.name for alias in child.names if alias.name.split(".")[0] == PACKAGE}
        elif isinstance(child, ast.ImportFrom):
            if child.level:  # relative: from the module's package (or the package itself)
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (child.level - 1)]
                base = ".".join(anchor + ([child.module] if child.module else []))
            else:
                base = child.module or ""
            if base.split(".")[0] != PACKAGE:
                continue
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in child.names}  # kept below only if it is a module
    return found


@cache
def _direct(module: str, src: Path) -> frozenset[str]:
    path = module_file(module, src)
    if path is None:
        return frozenset()
    tree = ast.parse(path.read_text(), str(path))
    return frozenset(m for m in _imported(tree, module, path.name == "__init__.py") if module_file(m, src))


def _closure(modules: set[str], src: Path) -> set[str]:
    seen: set[str] = set()
    todo = [m for m in modules if module_file(m, src)]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo += [m for m in (*_parents(module), *_direct(module, src)) if m not in seen and module_file(m, src)]
    return seen


def _files(modules: set[str], src: Path) -> list[str]:
    return sorted(str(module_file(m, src)) for m in modules)


@cache
def module_sources(*modules: str, src: Path = SRC) -> list[str]:
    """Source files of ``modules`` and of every alttrain module they import, directly or not (sorted paths)."""
    return _files(_closure(set(modules), src), src)


@cache
def step_sources(module: str, *functions: str, src: Path = SRC) -> list[str]:
    """Source files one step of a pipeline module runs (sorted paths).

    The module file, its top-level imports, the imports written directly in its ``main`` (the argument parsing
    every step goes through; the steps ``main`` dispatches to are not followed), the imports inside
    ``functions`` and inside the module functions they call (by name, transitively), and everything those
    modules import. A name that is not a function of the module is refused (a renamed step fails the DAG).
    """
    path = module_file(module, src)
    if path is None:
        raise ValueError(f"{module} is not a module under {src}")
    tree = ast.parse(path.read_text(), str(path))
    defined = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    missing = [f for f in functions if f not in defined]
    if missing:
        raise ValueError(f"{module} has no function {', '.join(missing)}")
    top = ast.Module(body=[n for n in tree.body if not isinstance(n, ast.FunctionDef | ast.ClassDef)],
                     type_ignores=[])
    imported = _imported(top, module, False)
    if "main" in defined:
        imported |= {m for n in defined["main"].body for m in _imported(n, module, False)}
    used, todo = set(), list(functions)
    while todo:
        name = todo.pop()
        if name in used:
            continue
        used.add(name)
        imported |= _imported(defined[name], module, False)
        todo += [n.id for n in ast.walk(defined[name]) if isinstance(n, ast.Name) and n.id in defined]
    # the module file itself is an input, but not what its other steps import
    modules = {m for m in imported if module_file(m, src) and m != module} | set(_parents(module))
    return _files(_closure(modules, src) | {module}, src)
