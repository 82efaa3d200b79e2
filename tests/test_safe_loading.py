"""Safe loading across the package: no results, config or checkpoint file can make us run code.

A static check over the package, the scripts and the workflow's Python: checkpoints are read with
``torch.load(..., weights_only=True)``; YAML only with ``yaml.safe_load``; no ``pickle.load`` (except through
an ``Unpickler`` subclass that overrides ``find_class``, as the CIFAR-10 reader does), no
``pandas.read_pickle``, no ``numpy.load(allow_pickle=True)``, no ``eval`` / ``exec``. The dynamic side (a
hostile checkpoint, a YAML file with a python tag) is in ``test_cli.py``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def python_sources() -> list[Path]:
    return sorted((REPO / "src").rglob("*.py")) + sorted((REPO / "scripts").glob("*.py"))


def workflow_sources() -> list[Path]:
    """Snakemake files (Python with rule syntax: checked as text)."""
    return [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]


def dotted(node: ast.AST) -> str:
    """``a.b.c`` of a Name/Attribute chain (empty for anything else)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def keyword(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


def safe_loader(call: ast.Call) -> bool:
    """True when ``yaml.load``'s ``Loader`` names only safe loaders (``SafeLoader`` / ``CSafeLoader``)."""
    loader = next((kw.value for kw in call.keywords if kw.arg == "Loader"), None)
    if loader is None and len(call.args) > 1:
        loader = call.args[1]
    if loader is None:
        return False
    names = re.findall(r"\w*Loader", ast.unparse(loader))
    return bool(names) and all(n.endswith("SafeLoader") for n in names)


def unsafe_calls(tree: ast.AST) -> list[str]:
    """Descriptions of the unsafe loading calls in a module."""
    restricted_unpicklers = {
        node.name for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and any(dotted(b).endswith("Unpickler") for b in node.bases)
        and any(isinstance(f, ast.FunctionDef) and f.name == "find_class" for f in node.body)
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        line = f"line {node.lineno}: {name or ast.unparse(node.func)}"
        if name == "torch.load" and keyword(node, "weights_only") is not True:
            found.append(line + " without weights_only=True")
        elif name in ("yaml.load", "yaml.load_all") and not safe_loader(node):
            found.append(line + " without a SafeLoader (use yaml.safe_load)")
        elif name in ("yaml.unsafe_load", "yaml.full_load", "yaml.unsafe_load_all", "yaml.full_load_all"):
            found.append(line + " (use yaml.safe_load)")
        elif name in ("pickle.load", "pickle.loads", "pd.read_pickle", "pandas.read_pickle", "eval", "exec"):
            found.append(line)
        elif name in ("np.load", "numpy.load") and keyword(node, "allow_pickle") is True:
            found.append(line + " with allow_pickle=True")
        elif isinstance(node.func, ast.Attribute) and node.func.attr == "load":
            target = node.func.value
            if isinstance(target, ast.Call) and dotted(target.func).endswith("Unpickler"):
                if dotted(target.func).split(".")[-1] not in restricted_unpicklers:
                    found.append(line + " through an unrestricted Unpickler")
    return found


def test_no_code_executing_loader_in_the_sources():
    problems = {}
    for path in python_sources():
        found = unsafe_calls(ast.parse(path.read_text(), filename=str(path)))
        if found:
            problems[str(path.relative_to(REPO))] = found
    assert not problems, problems


def test_no_code_executing_loader_in_the_workflow():
    pattern = re.compile(
        r"yaml\.(load|unsafe_load|full_load)\(|pickle\.|torch\.load|read_pickle|\beval\(|\bexec\("
    )
    problems = {
        str(path.relative_to(REPO)): [line for line in path.read_text().splitlines() if pattern.search(line)]
        for path in workflow_sources()
    }
    assert not any(problems.values()), problems


def test_the_checker_finds_unsafe_calls():
    """The static check above is not vacuous: it flags each pattern it is meant to flag."""
    source = """
import pickle, torch, yaml, numpy as np
torch.load("a.pt")
torch.load("a.pt", weights_only=False)
yaml.load(open("c.yaml"))
pickle.loads(b"")
np.load("x.npy", allow_pickle=True)
eval("1")
pickle.Unpickler(open("f", "rb")).load()
class Safe(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(name)
Safe(open("f", "rb")).load()
torch.load("ok.pt", weights_only=True)
yaml.safe_load("a: 1")
yaml.load("a: 1", Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
yaml.load("a: 1", Loader=yaml.FullLoader)
"""
    found = unsafe_calls(ast.parse(source))
    assert len(found) == 8, found
    assert "line 17" in found[-1]
    assert not any("weights_only=True" in f and "ok.pt" in f for f in found)
