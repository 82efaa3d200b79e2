"""Verification: compare reproduced numbers with ``paper/published/<paper>.yaml`` and write the report.

(Foundation version: reads the published files and lists their entries as "not transcribed" / "not run"; the
verification pipeline adds tolerances, claims and the HTML page.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from alttrain.atomic import write_json, write_text
from alttrain.errors import UserError


def load_published(path: Path) -> dict:
    """A published-numbers file; an empty file is an empty list of entries."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise UserError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise UserError(f"{path} must be a mapping with 'entries' and 'claims'")
    return data


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="alttrain verify")
    parser.add_argument("--scale", required=True)
    parser.add_argument("--papers", nargs="+", required=True)
    parser.add_argument("--published", type=Path, nargs="+", required=True, help="paper/published/<paper>.yaml files")
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--markdown", type=Path, required=True)
    parser.add_argument("csvs", nargs="*")
    args = parser.parse_args(argv)
    rows = []
    for path in args.published:
        paper = path.stem
        published = load_published(path)
        for entry in published.get("entries", []):
            status = "not transcribed" if entry.get("value") is None else "not run"
            rows.append({"paper": paper, "id": entry["id"], "status": status})
    write_json(args.json, {"scale": args.scale, "entries": rows})
    lines = [f"# Verification report (scale {args.scale})", "", "| paper | id | status |", "|---|---|---|"]
    lines += [f"| {r['paper']} | {r['id']} | {r['status']} |" for r in rows]
    write_text(args.markdown, "\n".join(lines) + "\n")
    print(f"verification: {len(rows)} entries")
    return 0
