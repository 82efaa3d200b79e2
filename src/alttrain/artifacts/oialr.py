"""Labels of the oialr paper's figures and tables: variant names, experiment status, data sets.

Only pandas and numpy: tables import this module without matplotlib or seaborn (their jobs start faster).
"""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts.cells import has_rows

VARIANT_LABELS = {
    "baseline": "baseline (full rank)",
    "oialr": "OIALR",
    "oialr_tuned": "OIALR tuned (inferred)",
}


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


def dataset_of(frame: pd.DataFrame) -> str:
    """The data-set description(s) of the rows, for panel titles."""
    if not has_rows(frame, "dataset"):
        return ""
    return "; ".join(sorted(str(d) for d in frame["dataset"].dropna().unique()))
