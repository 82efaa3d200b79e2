"""Command-line entry points of the oialr pipeline.

* ``python -m alttrain stability CURVES.csv... --out STABILITY.csv``: the stability columns recorded during
  baseline training (:class:`alttrain.lowrank.stability.StabilityTracker`) in long form; or
  ``python -m alttrain stability --snapshots A.pt B.pt [--out X.csv]``: per-layer stability between two saved
  ``state_dict`` snapshots (every weight with at least two dimensions present in both).
* ``python -m alttrain oialr-collect ...``: every CSV the oialr figures and tables read (rule
  ``collect_oialr_results``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from alttrain.errors import UserError


def stability_main(argv: list[str]) -> int:
    """Tidy stability table from run curves, or stability between two weight snapshots."""
    parser = argparse.ArgumentParser(prog="alttrain stability", description=__doc__.split("\n\n")[1])
    parser.add_argument("curves", nargs="*", type=Path, help="metrics.csv or *_curves.csv files")
    parser.add_argument("--snapshots", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument(
        "--definition", default="column_cosine", choices=("column_cosine", "abs_column_cosine")
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    import pandas as pd

    from alttrain.atomic import write_csv

    if args.snapshots:
        table = _snapshot_stability(*args.snapshots, args.definition)
    elif args.curves:
        from alttrain.lowrank.collect import tidy_stability

        missing = [str(p) for p in args.curves if not p.is_file()]
        if missing:
            raise UserError(f"no such file(s): {', '.join(missing)}")
        table = tidy_stability(pd.concat([pd.read_csv(p) for p in args.curves], ignore_index=True))
    else:
        raise UserError("give curves CSV files or --snapshots BEFORE AFTER")
    if args.out:
        write_csv(args.out, table)
    else:
        print(table.to_string(index=False))
    return 0


def _snapshot_stability(before: Path, after: Path, definition: str):
    import pandas as pd
    import torch

    from alttrain.lowrank.linalg import STABILITY_DEFINITIONS, polar_factor, r_factor, r_similarity

    states = []
    for path in (before, after):
        if not path.is_file():
            raise UserError(f"snapshot {path} does not exist")
        state = torch.load(path, map_location="cpu", weights_only=True)
        states.append(state.get("model", state) if isinstance(state, dict) else state)
    rows = []
    for name, weight in states[0].items():
        other = states[1].get(name)
        if weight.dim() < 2 or other is None or other.shape != weight.shape or not weight.is_floating_point():
            continue
        q_prev, q_now = polar_factor(weight), polar_factor(other)
        rows.append(
            {
                "parameter": name,
                "stability": STABILITY_DEFINITIONS[definition](q_prev, q_now),
                "r_similarity": r_similarity(r_factor(weight), r_factor(other)),
            }
        )
    if not rows:
        raise UserError(f"{before} and {after} share no weight with at least two dimensions")
    return pd.DataFrame(rows)


def collect_main(argv: list[str]) -> int:
    """``oialr-collect --scale S --plan JSON --references FILES --final F ... CSV...``."""
    parser = argparse.ArgumentParser(prog="alttrain oialr-collect")
    parser.add_argument("--scale", required=True)
    parser.add_argument("--plan", required=True, help="experiment plan as JSON (alttrain.grids.oialr)")
    parser.add_argument(
        "--references",
        type=Path,
        nargs="+",
        required=True,
        help="the vendored facts.yaml, af-192-mse.csv and af-720-mse.csv (resources/oialr)",
    )
    outputs = (
        "final",
        "curves",
        "stability",
        "stability_summary",
        "status",
        "hparams",
        "reference_autoformer",
        "reference_stability",
    )
    for name in outputs:
        parser.add_argument(f"--{name.replace('_', '-')}", type=Path, required=True)
    parser.add_argument(
        "csvs", nargs="*", type=Path, help="aggregated <experiment>.csv and _curves.csv files"
    )
    args = parser.parse_args(argv)
    from alttrain.lowrank.collect import collect, load_plan

    folders = {path.parent for path in args.references}
    needed = ("facts.yaml", "af-192-mse.csv", "af-720-mse.csv")
    if len(folders) != 1 or not all((next(iter(folders)) / name).is_file() for name in needed):
        raise UserError(f"--references must be {', '.join(needed)} of one folder (resources/oialr)")
    collect(
        args.csvs,
        load_plan(args.plan),
        args.scale,
        next(iter(folders)),
        {name: getattr(args, name) for name in outputs},
    )
    return 0
