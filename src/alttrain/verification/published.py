"""Load and validate ``paper/published/<paper>.yaml``: JSON schema, unique ids, known experiments.

Every fault is one :class:`UserError` whose message names the file and the entry (or claim) id, so a typo in a
published file stops the workflow with a message pointing at the line to fix.
"""

from __future__ import annotations

from collections.abc import Container
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from alttrain.errors import UserError

SCHEMA = Path(__file__).resolve().parents[3] / "config" / "schema" / "published.schema.yaml"


def _schema_path() -> Path:
    """The schema beside the package in a source checkout (the only supported layout)."""
    if not SCHEMA.is_file():
        raise UserError(f"schema {SCHEMA} not found; run from a checkout of the repository")
    return SCHEMA


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with every local ``$ref`` replaced by its definition (no lookups while validating)."""
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    node = {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    ref = node.pop("$ref", None)
    if ref is None:
        return node
    return {**_inline_refs(defs[ref.removeprefix("#/$defs/")], defs), **node}


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = yaml.safe_load(_schema_path().read_text())
    # a file with hundreds of entries takes seconds through $ref lookups; inlined, a fraction of that
    return jsonschema.Draft202012Validator(_inline_refs(schema, schema.get("$defs", {})))


def _where(data: dict[str, Any], path: list) -> str:
    """``entry 'id' (entries[3])`` for a path into the file, or the dotted path at the top level."""
    if len(path) >= 2 and path[0] in ("entries", "claims") and isinstance(path[1], int):
        items = data.get(path[0]) or []
        item = items[path[1]] if path[1] < len(items) else None
        ident = item.get("id") if isinstance(item, dict) else None
        kind = "entry" if path[0] == "entries" else "claim"
        label = f"{kind} {ident!r}" if ident is not None else f"{kind} without an id"
        rest = ".".join(str(p) for p in path[2:])
        return f"{label} ({path[0]}[{path[1]}]){': key ' + repr(rest) if rest else ''}"
    return "key " + repr(".".join(str(p) for p in path)) if path else "top level"


def validate_published(
    data: Any, source: str | Path, known_experiments: Container[str] | None = None
) -> dict:
    """Check one published file's content; return it with defaults filled in (``entries``/``claims`` lists).

    Args:
        data: the parsed YAML.
        source: file name used in messages.
        known_experiments: CSV stems some scale of the workflow produces for this paper; ``None`` skips the
            check.

    Raises:
        UserError: naming the file and the entry or claim id, for a schema violation, a duplicate id or an
            experiment that no scale produces.
    """
    import jsonschema

    if not isinstance(data, dict):
        raise UserError(
            f"{source}: must be a mapping with paper, title, arxiv, tolerance_rule, entries, claims"
        )
    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is not None:
        raise UserError(f"{source}: {_where(data, list(error.absolute_path))}: {error.message}")
    data = {**data, "entries": list(data.get("entries") or []), "claims": list(data.get("claims") or [])}
    seen: dict[str, str] = {}
    for kind in ("entries", "claims"):
        for index, item in enumerate(data[kind]):
            if item["id"] in seen:
                raise UserError(
                    f"{source}: {_where(data, [kind, index])}: duplicate id "
                    f"(first used by {seen[item['id']]})"
                )
            seen[item["id"]] = f"{kind}[{index}]"
            if kind == "entries" and not item["artifact"].startswith(f"{data['paper']}_"):
                raise UserError(
                    f"{source}: {_where(data, [kind, index])}: artifact {item['artifact']!r} is not an "
                    f"id of paper {data['paper']!r}"
                )
    if known_experiments is not None:
        known = known_experiments
        for kind in ("entries", "claims"):
            for index, item in enumerate(data[kind]):
                if item["experiment"] not in known:
                    raise UserError(
                        f"{source}: {_where(data, [kind, index])}: "
                        f"unknown experiment {item['experiment']!r}; "
                        f"known for {data['paper']}: {', '.join(sorted(known)) or 'none'}"
                    )
    return data


def load_published(
    path: str | Path, paper: str | None = None, known_experiments: Container[str] | None = None
) -> dict:
    """Read and validate ``path``; an empty file (a paper whose numbers are not written yet) has no entries.

    Args:
        path: ``paper/published/<paper>.yaml``.
        paper: the paper the file must belong to (its ``paper:`` key), if given.
        known_experiments: see :func:`validate_published`.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"published-numbers file {path} does not exist")
    try:
        # the C loader when PyYAML has it: a paper file has thousands of lines and is read at every DAG build
        data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as err:
        raise UserError(f"{path} is not valid YAML: {err}") from err
    if data is None:  # written by hand later; nothing to check yet
        return {
            "paper": paper or path.stem,
            "title": "",
            "arxiv": "",
            "code": "",
            "tolerance_rule": "",
            "entries": [],
            "claims": [],
            "empty": True,
        }
    data = validate_published(data, path, known_experiments)
    if paper is not None and data["paper"] != paper:
        raise UserError(f"{path}: key 'paper' is {data['paper']!r} but the file belongs to paper {paper!r}")
    return data


def referenced_experiments(published: dict) -> set[str]:
    """CSV stems the entries and claims of one published file read."""
    return {item["experiment"] for kind in ("entries", "claims") for item in published.get(kind, [])}
