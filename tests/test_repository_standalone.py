"""A clone stands alone: no file of the repository reads or cites the folder that sat beside the development
checkout (named ``shared``). Data, reference facts and method notes the project needs are vendored (``resources/``,
``tests/reference/``, ``docs/methods/``)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHECKED = ("src", "tests", "workflow", "docs", "config", "resources", "paper", "scripts", "envs", "figures")
TOP_LEVEL = ("README.md", "Snakefile", "Makefile", "pyproject.toml", "environment.yml")
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", "generated", "downloads"}  # build outputs
SKIPPED_SUFFIXES = {".pyc", ".gz", ".pdf", ".png", ".aux", ".log", ".fls", ".fdb_latexmk"}  # binary or LaTeX output
# the folder beside the repository, or any path through a folder of that name (the pattern does not match itself)
OUTSIDE = re.compile(r"[.][.]/shared\b|(?<![\w-])shared[/]")


def _text_files() -> list[Path]:
    files = [REPO / name for name in TOP_LEVEL if (REPO / name).is_file()]
    for top in CHECKED:
        for path in sorted((REPO / top).rglob("*")):
            parts = path.relative_to(REPO).parts
            if path.is_file() and path.suffix not in SKIPPED_SUFFIXES and not SKIPPED_DIRS.intersection(parts):
                files.append(path)
    return files


def outside_references(files: list[Path]) -> list[str]:
    """``path:line: text`` of every line that names a path outside the repository (binary files skipped)."""
    hits = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not text
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(REPO)}:{number}: {line.strip()[:120]}")
    return hits


def test_no_file_refers_to_a_folder_beside_the_repository():
    files = _text_files()
    assert len(files) > 100  # the walk found the repository (not an empty folder)
    hits = outside_references(files)
    assert not hits, "files that need a folder outside the repository (vendor what they need):\n" + "\n".join(hits)


def test_the_guard_finds_a_planted_reference(tmp_path, monkeypatch):
    """The check itself: a planted relative and a planted absolute path through that folder are both reported."""
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    beside = "shared"  # spelled apart so that this file passes the check above
    planted = tmp_path / "planted.py"
    lines = [f'DATA = "../{beside}/data"', f'ok = "a {beside} baseline"', f'REF = "/work/{beside}/reference/x.csv"']
    planted.write_text("\n".join(lines) + "\n")
    assert outside_references([planted]) == [
        f'planted.py:1: DATA = "../{beside}/data"',
        f'planted.py:3: REF = "/work/{beside}/reference/x.csv"',
    ]
