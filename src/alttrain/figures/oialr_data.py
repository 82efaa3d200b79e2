"""Data helpers of the oialr figures and tables: variant names, row selection, experiment status.

Only pandas and numpy: tables import this module without matplotlib or seaborn (their jobs start faster).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

VARIANT_LABELS = {
    "baseline": "baseline (full rank)",
    "oialr": "OIALR",
    "oialr_tuned": "OIALR tuned (inferred)",
}


def has_rows(frame: pd.DataFrame | None, *columns: str) -> bool:
    """True when the frame exists, has rows and every named column."""
    return frame is not None and not frame.empty and all(c in frame.columns for c in columns)


def status(frames: dict[str, pd.DataFrame], experiment: str) -> dict[str, str]:
    """The experiment's row of ``experiment_status.csv`` (title, status, reason, note); defaults when
    absent."""
    table = frames.get("experiment_status.csv")
    if has_rows(table, "experiment"):
        rows = table[table["experiment"] == experiment]
        if len(rows):
            return {k: ("" if pd.isna(v) else str(v)) for k, v in rows.iloc[0].items()}
    return {
        "experiment": experiment,
        "title": experiment,
        "status": "not run",
        "reason": "not run at this scale: the experiment is not in the plan",
        "note": "",
    }


def rows_of(frame: pd.DataFrame | None, **equal) -> pd.DataFrame:
    """Rows whose columns equal the given values (empty frame when the frame or a column is missing)."""
    if not has_rows(frame, *equal):
        return pd.DataFrame()
    mask = np.ones(len(frame), dtype=bool)
    for column, value in equal.items():
        mask &= (frame[column] == value).to_numpy()
    return frame[mask]


def dataset_of(frame: pd.DataFrame) -> str:
    """The data-set description(s) of the rows, for panel titles."""
    if not has_rows(frame, "dataset"):
        return ""
    return "; ".join(sorted(str(d) for d in frame["dataset"].dropna().unique()))
