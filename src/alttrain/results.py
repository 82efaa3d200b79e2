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


def _epoch_label(rows: pd.DataFrame) -> str:
    """``epoch 3`` / ``epochs 2, 5`` from the ``diverged_epoch`` column of diverged rows ('' if unknown)."""
    if "diverged_epoch" not in rows.columns:
        return ""
    epochs = pd.to_numeric(rows["diverged_epoch"], errors="coerce").dropna()
    known = sorted({int(e) for e in epochs})
    if not known:
        return ""
    return f"epoch{'s' if len(known) > 1 else ''} {', '.join(map(str, known))}"


def format_cell(
    rows: pd.DataFrame, metric: str, *, digits: int = 2, scale: float = 1.0, missing: str = "–"
) -> str:
    """The one table cell over seeds, status-aware: never prints a diverged run's number, never drops one.

    Args:
        rows: one row per seed (an aggregated CSV's rows of one table cell); read are ``metric`` and, when
            present, ``status`` (training runs), ``diverged`` (closed-form sweeps) and ``diverged_epoch``.
        metric: the column to summarise.
        digits: decimals of mean and std. scale: factor applied to the values (e.g. 100 for percent).
        missing: the cell when no row has a value.

    Returns:
        ``"97.10 ± 0.20"`` (mean and sample std, ddof=1, of the runs that did not diverge; one run prints its
        value alone); ``"97.10 ± 0.20 (1/3 diverged)"`` when some seeds diverged; ``"diverged (epoch 3)"``
        (or ``"diverged (epochs 2, 5)"``) when all did; a seed that neither diverged nor has a finite value
        is counted too: ``"97.10 (1/2 no value)"``. A run counts as diverged by its ``status``, its
        ``diverged`` flag or an infinite value.
    """
    if rows is None or rows.empty or metric not in rows.columns:
        return missing
    values = pd.to_numeric(rows[metric], errors="coerce").astype(float)
    diverged = diverged_mask(rows, values)
    valid = values[~diverged & np.isfinite(values)] * scale
    total, n_diverged = len(rows), int(diverged.sum())
    n_missing = total - n_diverged - len(valid)
    notes = [f"{n_diverged}/{total} diverged"] if n_diverged and len(valid) else []
    notes += [f"{n_missing}/{total} no value"] if n_missing and (len(valid) or n_diverged) else []
    if valid.empty:
        if not n_diverged:
            return missing
        label = _epoch_label(rows[diverged])
        if n_missing:
            label = ", ".join(filter(None, [f"{n_diverged}/{total}", label, f"{n_missing}/{total} no value"]))
        return f"diverged ({label})" if label else "diverged"
    cell = f"{valid.mean():.{digits}f}"
    if len(valid) > 1:
        cell += f" ± {valid.std(ddof=1):.{digits}f}"
    return cell + (f" ({'; '.join(notes)})" if notes else "")


def write_aggregate(summary_paths: list[str | Path], final: Path, curves: Path, alignment: Path) -> None:
    """Aggregate and write the three CSVs atomically."""
    final_df, curves_df, align_df = aggregate(summary_paths)
    write_csv(final, final_df)
    write_csv(curves, curves_df)
    write_csv(alignment, align_df)
