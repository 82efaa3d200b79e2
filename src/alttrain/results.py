"""Aggregation of finished runs into tidy CSVs (``results/metrics/<paper>/<experiment>*.csv``).

Figures and tables read only these CSVs, never checkpoints, so a style change never retrains anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alttrain.atomic import write_csv
from alttrain.config import load_run_config


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


def diverged_mask(rows: pd.DataFrame, values: pd.Series) -> pd.Series:
    """Rows whose run diverged: ``status == "diverged"``, a true ``diverged`` flag (closed-form sweeps) or an
    infinite value of the metric (used by the tables and by the verification)."""
    mask = pd.Series(np.isinf(values.to_numpy(dtype=float)), index=rows.index)
    if "status" in rows.columns:
        mask |= rows["status"].astype(str).eq("diverged")
    if "diverged" in rows.columns:
        mask |= rows["diverged"].map(lambda v: str(v).lower() in ("true", "1", "1.0"))
    return mask


def write_aggregate(summary_paths: list[str | Path], final: Path, curves: Path, alignment: Path) -> None:
    """Aggregate and write the three CSVs atomically."""
    final_df, curves_df, align_df = aggregate(summary_paths)
    write_csv(final, final_df)
    write_csv(curves, curves_df)
    write_csv(alignment, align_df)
