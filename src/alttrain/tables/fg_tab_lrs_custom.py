"""fg_tab_lrs_custom: the authors' step sizes of the custom-tangent experiment (Styblinski-Tang, n = 64)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows, sig
from alttrain.artifacts.context import Context

SPEC = ArtifactSpec(
    id="fg_tab_lrs_custom",
    paper="fg",
    inputs=("lrs_custom.csv",),
    caption=(
        "Step sizes of the custom-tangent optimisation (Styblinski-Tang, n = 64) from the authors' code "
        "(frog@7beb8cb lrs/lrs_math__custom_tangents.csv): the mean has one step size per number of tangents "
        "k and angle; the projection (frog) one per k, tuned with Gaussian tangents and used for every "
        "angle. Part of the appendix learning-rate tables (fg_tab_lrs_math)."
    ),
)


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    data = frames.get("lrs_custom.csv")
    if not has_rows(data, "combination", "k", "angle", "lr"):
        return pd.DataFrame([{"angle": "learning-rate table missing"}])
    mean = data[data["combination"] == "mean"]
    proj = data[data["combination"] == "orthogonal_projection"]
    rows = []
    for angle in sorted(set(mean["angle"].dropna())):
        cells = {"angle (degrees)": f"{angle:g}"}
        for k in sorted(set(int(v) for v in data["k"])):
            value = mean[(mean["angle"] == angle) & (mean["k"] == k)]["lr"]
            cells[f"mean, k={k}"] = sig(float(value.iloc[0])) if not value.empty else "–"
            value = proj[proj["k"] == k]["lr"]
            cells[f"frog, k={k}"] = sig(float(value.iloc[0])) if not value.empty else "–"
        rows.append(cells)
    return pd.DataFrame(rows)
