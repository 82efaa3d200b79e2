"""Run folders and aggregation of finished runs into tidy CSVs (``results/metrics/<paper>/<experiment>*.csv``).

Figures and tables read only these CSVs, never checkpoints, so a style change never retrains anything.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from alttrain.atomic import write_csv
from alttrain.config import load_run_config

RESULTS = Path("results")


def run_dir(paper: str, experiment: str, run_id: str, seed: int, root: Path = RESULTS) -> Path:
    """``results/runs/<paper>/<experiment>/<run_id>/seed<seed>``."""
    return root / "runs" / paper / experiment / run_id / f"seed{seed}"


def _flatten(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}{k}": v for k, v in values.items() if not isinstance(v, dict | list)}


def aggregate(summary_paths: list[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Collect runs into three tidy frames.

    Returns:
        ``final``: one row per run and seed: identity, labels, status, ``final_*`` and ``best_*`` metrics;
        ``curves``: one row per run, seed and epoch (``metrics.csv`` plus identity and labels);
        ``alignment``: one row per run, seed, epoch and parameter.
    """
    finals, curves, alignments = [], [], []
    for path in map(Path, summary_paths):
        folder = path.parent
        summary = json.loads(path.read_text())
        cfg = load_run_config(folder / "config.yaml")
        ident = {
            "paper": cfg.paper, "experiment": cfg.experiment, "run_id": cfg.run_id, "seed": cfg.seed,
            "scale": cfg.scale, "dataset": summary["dataset"], "method": cfg.method["name"],
            "model": cfg.model["name"], "lr": cfg.optimizer["lr"], **cfg.labels,
        }
        finals.append({
            **ident,
            "status": summary["status"],
            "diverged_epoch": summary["diverged_epoch"],
            "epochs_run": summary["epochs_run"],
            "best_epoch": summary["best_epoch"],
            "wall_time_s": summary["wall_time_s"],
            **_flatten("final_", summary["final"]),
            **_flatten("best_", summary["best"]),
        })
        metrics = pd.read_csv(folder / "metrics.csv")
        curves.append(metrics.assign(**ident))
        align_path = folder / "alignment.csv"
        if align_path.exists() and align_path.stat().st_size > 0:
            align = pd.read_csv(align_path)
            if len(align):
                alignments.append(align.assign(**ident))
    final = pd.DataFrame(finals)
    curve = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    align = pd.concat(alignments, ignore_index=True) if alignments else pd.DataFrame()
    sort = [c for c in ("run_id", "seed") if c in final.columns]
    if sort:
        final = final.sort_values(sort, kind="stable").reset_index(drop=True)
    return final, curve, align


def mean_std_cell(
    values: Sequence[float],
    statuses: Sequence[str] | None = None,
    diverged_epochs: Sequence[float | None] | None = None,
    digits: int = 2,
) -> str:
    """A table cell over seeds: ``"mean ± std"`` of the runs that did not diverge (never a diverged number).

    Args:
        values: the metric of each seed (NaN or None where a run has no value).
        statuses: each seed's ``status`` column (``completed``, ``early_stopped``, ``diverged``, ...);
            ``None`` treats every run as valid.
        diverged_epochs: each seed's ``diverged_epoch`` column (used for the label).
        digits: decimals of mean and std.

    Returns:
        ``"97.10 ± 0.20"`` (sample std, ddof=1; a single run prints its value alone);
        ``"diverged (epoch 3)"`` or ``"diverged (epochs 2, 5)"`` when every run diverged;
        ``"97.10 ± 0.20 (1/3 seeds diverged, epoch 4)"`` when some did; ``"n/a"`` when there is no value.
    """
    statuses = list(statuses) if statuses is not None else ["completed"] * len(values)
    epochs = list(diverged_epochs) if diverged_epochs is not None else [None] * len(values)
    if not len(values) == len(statuses) == len(epochs):
        raise ValueError("values, statuses and diverged_epochs need one entry per run")
    diverged = [e for s, e in zip(statuses, epochs, strict=True) if s == "diverged"]
    valid = [float(v) for v, s in zip(values, statuses, strict=True)
             if s != "diverged" and v is not None and not math.isnan(float(v))]
    known = sorted({int(e) for e in diverged if e is not None and not math.isnan(float(e))})
    label = ""
    if known:
        label = f"epoch{'s' if len(known) > 1 else ''} {', '.join(map(str, known))}"
    if diverged and not valid:
        return f"diverged ({label})" if label else "diverged"
    if not valid:
        return "n/a"
    mean = sum(valid) / len(valid)
    cell = f"{mean:.{digits}f}"
    if len(valid) > 1:
        std = math.sqrt(sum((v - mean) ** 2 for v in valid) / (len(valid) - 1))
        cell += f" ± {std:.{digits}f}"
    if diverged:
        cell += f" ({len(diverged)}/{len(statuses)} seeds diverged" + (f", {label})" if label else ")")
    return cell


def write_aggregate(summary_paths: list[str | Path], final: Path, curves: Path, alignment: Path) -> None:
    """Aggregate and write the three CSVs atomically."""
    final_df, curves_df, align_df = aggregate(summary_paths)
    write_csv(final, final_df)
    write_csv(curves, curves_df)
    write_csv(alignment, align_df)
