"""Implementations of the generic CLI commands (train, write-config, aggregate, figure, table, list)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from alttrain.errors import UserError


def train_main(argv: list[str]) -> int:
    """``train CONFIG [--run-dir DIR] [--no-progress]``: train one run; outputs go next to the config."""
    parser = argparse.ArgumentParser(prog="alttrain train")
    parser.add_argument("config", type=Path)
    parser.add_argument("--run-dir", type=Path, default=None)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    from alttrain.config import load_run_config
    from alttrain.train import train

    cfg = load_run_config(args.config)
    summary = train(cfg, args.run_dir or args.config.parent, progress=not args.no_progress)
    print(json.dumps({k: summary[k] for k in ("run_id", "seed", "status", "epochs_run")}))
    return 0


def write_config_main(argv: list[str]) -> int:
    """``write-config JSON OUT``: validate a resolved run config and write it as YAML."""
    parser = argparse.ArgumentParser(prog="alttrain write-config")
    parser.add_argument("json")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    from alttrain.atomic import write_yaml
    from alttrain.config import RunConfig

    write_yaml(args.out, RunConfig.from_dict(json.loads(args.json)).to_dict())
    return 0


def aggregate_main(argv: list[str]) -> int:
    """``aggregate --final F --curves C --alignment A SUMMARY...``: tidy CSVs of finished runs."""
    parser = argparse.ArgumentParser(prog="alttrain aggregate")
    parser.add_argument("--final", type=Path, required=True)
    parser.add_argument("--curves", type=Path, required=True)
    parser.add_argument("--alignment", type=Path, required=True)
    parser.add_argument("summaries", nargs="+")
    args = parser.parse_args(argv)
    from alttrain.results import write_aggregate

    write_aggregate(args.summaries, args.final, args.curves, args.alignment)
    return 0


def _frames(inputs: list[str]):
    import pandas as pd

    frames = {}
    for path in map(Path, inputs):
        try:
            frames[path.name] = pd.read_csv(path)
        except pd.errors.EmptyDataError:
            frames[path.name] = pd.DataFrame()
    return frames


def figure_main(argv: list[str]) -> int:
    """``figure ID --scale S --out PDF CSV...``: draw a figure (PDF and PNG beside it)."""
    parser = argparse.ArgumentParser(prog="alttrain figure")
    parser.add_argument("figure_id")
    parser.add_argument("--scale", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("inputs", nargs="*")
    args = parser.parse_intermixed_args(argv)  # CSVs come after the options in the rules
    from alttrain.artifacts import FIGURES
    from alttrain.artifacts.style import Context, save_figure

    module = FIGURES.get(args.figure_id)
    frames = _frames(args.inputs)
    context = Context.from_frames(args.scale, module.SPEC.own_rows(frames))
    save_figure(module.draw(frames, context), context, module.SPEC, args.out)
    return 0


def table_main(argv: list[str]) -> int:
    """``table ID --scale S --markdown MD --latex TEX CSV...``: build a table in Markdown and LaTeX."""
    parser = argparse.ArgumentParser(prog="alttrain table")
    parser.add_argument("table_id")
    parser.add_argument("--scale", required=True)
    parser.add_argument("--markdown", type=Path, required=True)
    parser.add_argument("--latex", type=Path, required=True)
    parser.add_argument("inputs", nargs="*")
    args = parser.parse_intermixed_args(argv)  # CSVs come after the options in the rules
    from alttrain.artifacts import TABLES
    from alttrain.artifacts.context import Context
    from alttrain.artifacts.render import write_table

    module = TABLES.get(args.table_id)
    frames = _frames(args.inputs)
    context = Context.from_frames(args.scale, module.SPEC.own_rows(frames))
    write_table(module.build(frames, context), context, module.SPEC, args.markdown, args.latex)
    return 0


def list_main(argv: list[str]) -> int:
    """``list [methods|models|datasets|figures|tables]``: print the registered names."""
    what = argv[0] if argv else "all"
    from alttrain.artifacts import FIGURES, TABLES
    from alttrain.data import list_datasets
    from alttrain.methods import list_methods
    from alttrain.models import list_models

    listing = {
        "methods": list_methods, "models": list_models, "datasets": list_datasets,
        "figures": FIGURES.names, "tables": TABLES.names,
    }
    if what != "all" and what not in listing:
        raise UserError(f"cannot list {what!r}; choose one of {', '.join(listing)}")
    for key, names in listing.items():
        if what in ("all", key):
            print(f"{key}: {', '.join(names())}")
    return 0
