"""Command line: ``python -m alttrain <command> ...``; the Snakemake rules call these commands.

Each command lives in the module named in :data:`COMMANDS` and is a ``main(argv) -> int`` function. A
:class:`alttrain.errors.UserError` is printed as one line and exits with status 2.
"""

from __future__ import annotations

import importlib
import sys

from alttrain.errors import UserError

# command -> (module, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "train": ("alttrain.commands", "train_main", "train one run from its config.yaml"),
    "launch": ("alttrain.launch", "main", "train one run on its config's world_size processes (the DAG's job)"),
    "write-config": ("alttrain.commands", "write_config_main", "write a resolved run config (used by the DAG)"),
    "aggregate": ("alttrain.commands", "aggregate_main", "collect finished runs into tidy CSVs"),
    "figure": ("alttrain.commands", "figure_main", "draw one figure id from aggregated CSVs"),
    "table": ("alttrain.commands", "table_main", "build one table id from aggregated CSVs"),
    "list": ("alttrain.commands", "list_main", "list methods, models, data sets, figures, tables"),
    "verify": ("alttrain.verify", "main", "compare reproduced numbers with the published ones"),
    "paper-sources": ("alttrain.writeup", "paper_sources_main", "write paper/<paper>/generated/*.tex"),
    "results-page": ("alttrain.writeup", "results_page_main", "write results/README.md (the results page)"),
    "bench": ("alttrain.bench", "main", "benchmark suite (results/bench/)"),
    # one pipeline module per paper, one command per rule file: python -m alttrain <paper> <step>
    "fg": ("alttrain.pipelines.fg", "main", "fg steps: closed-form(-merge), approx-quality, custom-angle, export-lrs"),
    "oialr": ("alttrain.pipelines.oialr", "main", "oialr steps: collect, stability"),
    "f3": ("alttrain.pipelines.f3", "main", "f3 steps: settings, empty, gap-reduction"),
    "rehearse": ("alttrain.rehearsal.cli", "main", "paper-scale rehearsal and cost model (results/rehearsal/)"),
}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a command; print a user error as one line and return 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m alttrain <command> [args]\n\ncommands:")
        for name, (_, _, text) in COMMANDS.items():
            print(f"  {name:<15} {text}")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"alttrain: unknown command {name!r}; known: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module, function, _ = COMMANDS[name]
    try:
        return int(getattr(importlib.import_module(module), function)(rest) or 0)
    except UserError as err:
        print(f"alttrain {name}: error: {err}", file=sys.stderr)
        return 2
