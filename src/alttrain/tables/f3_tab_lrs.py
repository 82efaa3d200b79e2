"""f3_tab_lrs: the learning rates per data set and method (authors' README table;
docs/methods/f3.md#optimiser-learning-rates-and-epochs)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows
from alttrain.artifacts.context import Context

SPEC = ArtifactSpec(
    id="f3_tab_lrs",
    paper="f3",
    inputs=("lrs.csv",),
    caption=(
        "Adam learning rates per data set and method as configured (constant, no weight decay), with their "
        "source; CIFAR-10 and Census Income have no published rates and use the MNIST row (inferred). The "
        "last column says which experiments of this scale use the row."
    ),
)
ROWS = {
    "mnist": "MNIST",
    "wine_quality": "Wine Quality",
    "sgemm_d1": "SGEMM d = 1",
    "sgemm_d2": "SGEMM d = 2",
    "sgemm_d_ge10": "SGEMM d ≥ 10",
    "transformer": "Transformer (MNIST)",
}
METHODS = {"bp": "BP", "llo": "LLO", "dfa": "DFA", "drtp": "DRTP", "f3": "F3"}


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    data = frames.get("lrs.csv")
    if not has_rows(data, "row", "method", "lr"):
        return pd.DataFrame([{"data set": "no learning rates configured"}])
    rows = []
    for key in [*[k for k in ROWS if k in set(data["row"])], *sorted(set(data["row"]) - set(ROWS))]:
        part = data[data["row"] == key]
        cells = {"data set": ROWS.get(key, key)}
        for method, label in METHODS.items():
            value = part.loc[part["method"] == method, "lr"]
            cells[label] = f"{value.iloc[0]:.1e}" if not value.empty else "–"
        cells["source"] = part["source"].iloc[0]
        used = part["used_at_scale"].dropna()
        cells["used at this scale"] = used.iloc[0] if not used.empty and used.iloc[0] else "not used"
        rows.append(cells)
    return pd.DataFrame(rows)
