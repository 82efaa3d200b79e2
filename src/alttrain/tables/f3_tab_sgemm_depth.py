"""f3_tab_sgemm_depth: regression on SGEMM over network depth (docs/methods/f3.md#v1-grid)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import format_cell, has_rows
from alttrain.artifacts.context import Context
from alttrain.artifacts.f3 import APPROACHES, BENCHMARKS, epochs_note, not_run_cell, not_run_reason

SPEC = ArtifactSpec(
    id="f3_tab_sgemm_depth",
    paper="f3",
    inputs=("sgemm_depth.csv", "not_run.csv"),
    caption=(
        "SGEMM GPU-kernel runtime regression (standardised target, MSE loss, linear output) with D hidden "
        "layers of width 500 (width inferred): final test MSE, mean ± std over seeds, per method and depth."
    ),
)
ORDER = ["bp", "llo", "dfa", "drtp", "f3_delayed_error", "f3_delayed_loss"]


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    data = frames.get("sgemm_depth.csv")
    not_run = frames.get("not_run.csv")
    if not has_rows(data, "approach", "depth"):
        reason = not_run_reason(not_run, "sgemm_depth", "sgemm") or "no SGEMM runs in the grid of this scale"
        return pd.DataFrame(
            [{"method": APPROACHES[a], BENCHMARKS["sgemm"]: not_run_cell(reason)} for a in ORDER]
        )
    approaches = [a for a in ORDER if a in set(data["approach"])]
    approaches += sorted(set(data["approach"]) - set(approaches))
    rows = []
    for approach in approaches:
        cells = {"method": APPROACHES.get(approach, approach)}
        for depth in sorted(set(data["depth"])):
            runs = data[(data["approach"] == approach) & (data["depth"] == depth)]
            cells[f"d = {depth}"] = format_cell(runs, "final_test_mse", digits=4, missing="")
        rows.append(cells)
    training = {"method": "training (this scale)"}
    for depth in sorted(set(data["depth"])):
        training[f"d = {depth}"] = epochs_note(data[data["depth"] == depth], "sgemm")
    rows.append(training)
    return pd.DataFrame(rows)
