"""Atomic file writes: every declared output is written to a temporary name in the same folder, then renamed.

A reader (or a rerun after a kill) therefore sees either the old complete file or the new complete file, never a
half-written one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and rename the temporary file onto ``path``.

    Args:
        path: final destination.
        write: function that writes the complete content to the path it is given.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes the file private (0600); give it normal file modes
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return write_atomic(path, lambda p: p.write_text(text))


def write_json(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_yaml(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as YAML atomically (keys in insertion order)."""
    return write_text(path, yaml.safe_dump(obj, sort_keys=False))


def write_csv(path: str | Path, frame) -> Path:
    """Write a pandas DataFrame as CSV atomically (no index)."""
    return write_atomic(path, lambda p: frame.to_csv(p, index=False))
