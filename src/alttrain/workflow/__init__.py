"""Snakemake glue: the scale's settings, the configuration check and the list of figures and tables to build.

Submodules: :mod:`.dag` (input functions and handlers of the rule files), :mod:`.catalog` (every experiment
some scale of the workflow produces), :mod:`.provenance` (captions and labels of the Snakemake report),
:mod:`.sources` (the modules each job's command imports, as job inputs).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alttrain.errors import UserError

SCALES = ("smoke", "cpu", "paper")


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` merged in (nested mappings merged key by key, other values replaced)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def scale_file(config: dict[str, Any], root: str | Path = ".") -> Path:
    """``config/scales/<scale>.yaml`` for the configured scale; an unknown scale names the allowed ones."""
    scale = config.get("scale")
    if scale not in SCALES:
        raise UserError(f"config key 'scale' is {scale!r}; allowed: {', '.join(SCALES)} (e.g. --config scale=cpu)")
    return Path(root) / "config" / "scales" / f"{scale}.yaml"


def scale_settings(scale: str, root: str | Path = ".") -> dict[str, Any]:
    """The grids of ``scale``: ``config/scales/paper.yaml`` with the scale's override merged in.

    The grids are written once, in ``paper.yaml`` (the papers' settings). ``smoke.yaml`` and ``cpu.yaml`` hold
    only what differs: values that replace the paper's (mappings merged key by key, lists and other values
    replaced) and, under ``unset``, the dotted keys of ``paper.yaml`` removed before the override is merged in
    (their defaults apply, or the override gives the whole entry anew, e.g. ``{not_run: reason}``).
    """
    import yaml

    folder = Path(root) / "config" / "scales"
    settings = yaml.safe_load((folder / "paper.yaml").read_text()) or {}
    path = scale_file({"scale": scale}, root)
    if scale == "paper":
        return settings
    override = yaml.safe_load(path.read_text()) or {}
    for dotted in override.pop("unset", []):
        *parents, last = dotted.split(".")
        node = settings
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict) or last not in node:
            raise UserError(f"{path}: 'unset' names {dotted!r}, which config/scales/paper.yaml does not have")
        del node[last]
    merged = deep_merge(settings, override)
    return merged


@dataclass(frozen=True)
class Artifact:
    """A figure or table the DAG builds."""

    id: str
    kind: str  # "figure" or "table"
    paper: str
    inputs: tuple[str, ...]
    caption: str


def artifacts(config: dict[str, Any]) -> dict[str, Artifact]:
    """Every figure and table of the selected papers that is produced at the configured scale."""
    from alttrain.artifacts import FIGURES, TABLES

    papers = set(config.get("papers", ()))
    found: dict[str, Artifact] = {}
    for kind, registry in (("figure", FIGURES), ("table", TABLES)):
        for artifact_id, module in registry.items():
            spec = module.SPEC
            if spec.paper in papers and config["scale"] in spec.scales:
                found[artifact_id] = Artifact(artifact_id, kind, spec.paper, tuple(spec.inputs), spec.caption)
    return found


def check_config(config: dict[str, Any], schema_path: str | Path) -> None:
    """Validate ``config`` against the JSON schema; the first fault becomes one :class:`UserError` line.

    The message names the key (dotted path), the offending value and what is allowed, e.g.
    ``config key 'fg.closed_form.seeds': [] should be non-empty; allowed: list of seeds; at least one``.
    Snakemake's own ``validate`` runs afterwards (it also fills schema defaults).
    """
    import jsonschema
    import yaml
    from referencing import Registry, Resource

    schema_path = Path(schema_path).resolve()

    @functools.cache  # why: the registry does not keep retrieved resources; each $ref would re-read the file
    def retrieve(uri: str) -> Resource:
        return Resource.from_contents(yaml.safe_load((schema_path.parent / Path(uri).name).read_text()))

    schema = yaml.safe_load(schema_path.read_text())
    schema["$id"] = schema_path.as_uri()
    validator = jsonschema.Draft202012Validator(schema, registry=Registry(retrieve=retrieve))
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return
    key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    allowed = _allowed(error)
    raise UserError(f"config key '{key}': {error.message}" + (f"; allowed: {allowed}" if allowed else ""))


def _allowed(error) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties":
        return ", ".join(sorted(schema.get("properties", {}))) or "no keys"
    if "enum" in schema:
        return ", ".join(map(str, schema["enum"]))
    parts = [schema.get("description", "")]
    for bound in ("minimum", "exclusiveMinimum", "maximum", "minItems"):
        if bound in schema:
            parts.append(f"{bound} {schema[bound]}")
    if "type" in schema:
        parts.append(f"type {schema['type']}")
    return "; ".join(p for p in parts if p)
