"""f3_tab_wine: v2 regression on Wine Quality (docs/methods/f3.md#v2-grid)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import format_cell, has_rows
from alttrain.artifacts.context import Context
from alttrain.artifacts.f3 import APPROACHES, epochs_note, not_run_cell, not_run_reason, topology_name

SPEC = ArtifactSpec(
    id="f3_tab_wine",
    paper="f3",
    inputs=("wine.csv", "not_run.csv"),
    caption=(
        "(v2) Wine Quality regression (red + white, 12 standardised inputs, standardised quality target, "
        "80/20 split with random_state 1): final test MSE and MAE (standardised units), mean ± std over "
        "seeds."
    ),
)
ORDER = ["bp", "llo", "dfa", "drtp", "f3_delayed_error", "f3_delayed_loss"]


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    data = frames.get("wine.csv")
    if not has_rows(data, "approach"):
        reason = (
            not_run_reason(frames.get("not_run.csv"), "wine", "wine") or "no Wine Quality runs at this scale"
        )
        return pd.DataFrame([{"method": APPROACHES[a], "test MSE": not_run_cell(reason)} for a in ORDER])
    approaches = [a for a in ORDER if a in set(data["approach"])]
    approaches += sorted(set(data["approach"]) - set(approaches))
    rows = []
    for topology in sorted(set(data["topology"])):
        for approach in approaches:
            runs = data[(data["approach"] == approach) & (data["topology"] == topology)]
            rows.append(
                {
                    "network": topology_name(topology),
                    "method": APPROACHES.get(approach, approach),
                    "test MSE": format_cell(runs, "final_test_mse", digits=4, missing=""),
                    "test MAE": format_cell(runs, "final_test_mae", digits=4, missing=""),
                    "training": epochs_note(runs, "wine"),
                }
            )
    return pd.DataFrame(rows)
