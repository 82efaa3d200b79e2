"""``python -m alttrain f3 <settings|empty|gap-reduction>``: the f3 CSVs that are not aggregated runs.

* ``settings``: ``lrs.csv`` (the learning-rate table of the config, with its source and where it is used at
  this scale) and ``not_run.csv`` (what the paper runs but this scale does not, and why);
* ``empty``: header-only CSVs for an experiment without runs at this scale;
* ``gap-reduction``: ``gap_reduction.csv``, the fraction of a baseline's gap to backprop that F3 closes
  (docs/methods/f3.md#gap-reduction), per configuration, per baseline (DRTP, DFA, shallow, best of them) and per
  statistic (on seed means, and the mean of per-seed ratios), with the maximum per task flagged as the paper's "up to"
  figure.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from alttrain.atomic import write_csv

# CSVs (under results/metrics/f3/) the steps write whatever the scale; ``empty`` adds an experiment's three
CSVS = ("lrs", "not_run", "gap_reduction")
REFERENCES = ("drtp", "dfa", "llo")
EMPTY_COLUMNS = [
    "paper",
    "experiment",
    "run_id",
    "seed",
    "scale",
    "dataset",
    "method",
    "status",
    "benchmark",
    "task",
    "topology",
    "depth",
    "width",
    "approach",
    "error_info",
    "feedback_init",
    "final_test_acc",
    "final_test_mse",
    "final_test_loss",
]
GAP_COLUMNS = [
    "task",
    "experiment",
    "benchmark",
    "dataset",
    "topology",
    "depth",
    "feedback_init",
    "approach",
    "reference",
    "reference_approach",
    "statistic",
    "reduction",
    "method_value",
    "reference_value",
    "bp_value",
    "n_seeds",
    "metric",
    "higher_is_better",
    "baseline_behind_bp",
    "scale",
    "is_max",
]


def settings_frames(section: dict[str, Any], scale: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(learning rates, not run) frames of the f3 section."""
    from alttrain.grids import f3 as grid

    used: dict[str, list[str]] = {}
    for experiment in grid.EXPERIMENTS:
        spec = section.get(experiment, {})
        for benchmark, bench in spec.get("benchmarks", {}).items():
            if "not_run" in bench:
                continue
            keys = [bench["lr"]]
            if experiment == "sgemm_depth":
                keys = [f"{bench['lr']}_d1", f"{bench['lr']}_d2", f"{bench['lr']}_d_ge10"]
            for key in keys:
                used.setdefault(key, []).append(f"{experiment}/{benchmark} ({bench['dataset']['name']})")
    rows = []
    for key, row in section.get("learning_rates", {}).items():
        for method in ("bp", "llo", "dfa", "drtp", "f3"):
            if method in row:
                rows.append(
                    {
                        "row": key,
                        "method": method,
                        "lr": row[method],
                        "source": row["source"],
                        "used_at_scale": "; ".join(used.get(key, [])),
                        "scale": scale,
                    }
                )
    not_run = pd.DataFrame(grid.not_run(section), columns=["experiment", "benchmark", "topology", "reason"])
    return pd.DataFrame(rows), not_run.assign(scale=scale)


def _seed_values(frame: pd.DataFrame, metric: str) -> pd.Series:
    """The metric per seed (mean if a seed appears twice, which the grid never produces)."""
    return frame.groupby("seed")[metric].mean()


def _behind(reference: float, backprop: float, higher: bool) -> bool:
    """The baseline is strictly worse than backprop, so it has a gap that F3 can close."""
    return bool(reference < backprop) if higher else bool(reference > backprop)


def _defined(reduction: float, reference: float, backprop: float, higher: bool) -> float:
    """The reduction, or NaN where the baseline is not behind backprop (no gap: the ratio means nothing)."""
    return reduction if _behind(reference, backprop, higher) else math.nan


def _reduction_rows(
    config: dict[str, Any],
    f3: pd.DataFrame,
    bp: pd.DataFrame,
    refs: dict[str, pd.DataFrame],
    metric: str,
    higher: bool,
) -> list[dict[str, Any]]:
    from alttrain.metrics import gap_reduction

    f3_seeds, bp_seeds = _seed_values(f3, metric), _seed_values(bp, metric)
    ref_seeds = {name: _seed_values(frame, metric) for name, frame in refs.items() if not frame.empty}
    ref_means = {
        name: s.mean()
        for name, s in ref_seeds.items()
        if not math.isnan(s.mean()) and _behind(s.mean(), bp_seeds.mean(), higher)
    }  # "best" = the best baseline still behind BP
    if ref_means:
        best = (max if higher else min)(ref_means, key=ref_means.get)
        ref_seeds["best"] = ref_seeds[best]
    rows = []
    for reference, seeds in ref_seeds.items():
        chosen = best if reference == "best" else reference
        common = f3_seeds.index.intersection(bp_seeds.index).intersection(seeds.index)
        on_means = _defined(
            gap_reduction(f3_seeds.mean(), seeds.mean(), bp_seeds.mean(), higher),
            seeds.mean(),
            bp_seeds.mean(),
            higher,
        )
        per_seed = [
            _defined(gap_reduction(f3_seeds[s], seeds[s], bp_seeds[s], higher), seeds[s], bp_seeds[s], higher)
            for s in common
        ]
        per_seed = [r for r in per_seed if not math.isnan(r)]
        base = {
            **config,
            "reference": reference,
            "reference_approach": chosen,
            "method_value": f3_seeds.mean(),
            "reference_value": seeds.mean(),
            "bp_value": bp_seeds.mean(),
            "metric": metric,
            "higher_is_better": higher,
            "baseline_behind_bp": _behind(seeds.mean(), bp_seeds.mean(), higher),
        }
        rows.append({**base, "statistic": "seed_means", "reduction": on_means, "n_seeds": len(f3_seeds)})
        rows.append(
            {
                **base,
                "statistic": "per_seed_mean",
                "n_seeds": len(per_seed),
                "reduction": sum(per_seed) / len(per_seed) if per_seed else math.nan,
            }
        )
    return rows


def gap_reductions(frames: dict[str, pd.DataFrame], scale: str) -> pd.DataFrame:
    """Gap reduction of every F3 configuration against every comparable baseline (docs/methods/f3.md#gap-reduction).

    Args:
        frames: experiment name -> aggregated CSV (columns benchmark, topology, feedback_init, approach, seed,
            final_test_acc or final_test_mse).
        scale: written into every row.

    A configuration is (experiment, benchmark, topology, feedback init, F3 variant). BP and shallow learning
    do not depend on the feedback init; DFA and DRTP are matched on it. "best" is the baseline with the best
    seed mean among those behind backprop; a baseline not behind backprop has no gap (reduction NaN).
    """
    from alttrain.grids.f3 import TASKS

    rows: list[dict[str, Any]] = []
    for experiment, frame in frames.items():
        if frame.empty or "approach" not in frame.columns:
            continue
        task = TASKS[experiment]
        metric, higher = ("final_test_acc", True) if task == "classification" else ("final_test_mse", False)
        f3_rows = frame[frame["approach"].str.startswith("f3_")]
        keys = ["benchmark", "topology", "feedback_init", "approach"]
        for (benchmark, topology, init, approach), f3 in f3_rows.groupby(keys, sort=True):
            same = frame[(frame["benchmark"] == benchmark) & (frame["topology"] == topology)]
            bp = same[same["approach"] == "bp"]
            if bp.empty:
                continue
            refs = {
                name: same[(same["approach"] == name) & ((same["feedback_init"] == init) | (name == "llo"))]
                for name in REFERENCES
            }
            config = {
                "task": task,
                "experiment": experiment,
                "benchmark": benchmark,
                "dataset": f3["dataset"].iloc[0],
                "topology": topology,
                "depth": f3["depth"].iloc[0],
                "feedback_init": init,
                "approach": approach,
                "scale": scale,
            }
            rows += _reduction_rows(config, f3, bp, refs, metric, higher)
    table = pd.DataFrame(rows, columns=[c for c in GAP_COLUMNS if c != "is_max"])
    # the paper's "up to": the largest positive reduction over every configuration and F3 variant of a task
    group = table.groupby(["task", "reference", "statistic"])["reduction"]
    table["is_max"] = (table["reduction"] > 0) & (table["reduction"] == group.transform("max"))
    return table[GAP_COLUMNS]


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def main(argv: list[str]) -> int:
    """Dispatch ``settings``, ``empty`` and ``gap-reduction``."""
    parser = argparse.ArgumentParser(prog="alttrain f3")
    sub = parser.add_subparsers(dest="command", required=True)
    settings = sub.add_parser("settings", help="learning-rate and not-run CSVs from the f3 config section")
    settings.add_argument("--section", required=True, help="the f3 section as JSON")
    settings.add_argument("--scale", required=True)
    settings.add_argument("--lrs", type=Path, required=True)
    settings.add_argument("--not-run", type=Path, required=True)
    empty = sub.add_parser("empty", help="header-only CSVs of an experiment without runs at this scale")
    empty.add_argument("outputs", nargs="+", type=Path)
    gap = sub.add_parser("gap-reduction", help="gap reduction of F3 vs the baselines")
    gap.add_argument("--scale", required=True)
    gap.add_argument("--out", type=Path, required=True)
    gap.add_argument(
        "inputs", nargs="+", type=Path, help="aggregated experiment CSVs (named <experiment>.csv)"
    )
    args = parser.parse_args(argv)
    if args.command == "settings":
        lrs, not_run = settings_frames(json.loads(args.section), args.scale)
        write_csv(args.lrs, lrs)
        write_csv(args.not_run, not_run)
    elif args.command == "empty":
        for path in args.outputs:
            write_csv(path, pd.DataFrame(columns=EMPTY_COLUMNS))
    else:
        frames = {path.stem: _read(path) for path in args.inputs}
        table = gap_reductions(frames, args.scale)
        write_csv(args.out, table)
        print(f"gap reduction: {len(table)} rows from {sorted(frames)}")
    return 0
