"""fg_tab_lrs_math: the authors' step sizes of the closed-form experiments (appendix table;
docs/methods/fg.md#closed-form-functions)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows, sig
from alttrain.artifacts.context import Context
from alttrain.artifacts.fg import APPROACHES, FUNCTIONS

SPEC = ArtifactSpec(
    id="fg_tab_lrs_math",
    paper="fg",
    inputs=("lrs_math.csv",),
    caption=(
        "Step sizes of the closed-form experiments per function, dimension n and approach, from the authors' "
        "code (frog@7beb8cb lrs/lrs_math.csv), 4 significant digits. Configuration values, identical at "
        "every scale."
    ),
)


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    data = frames.get("lrs_math.csv")
    if not has_rows(data, "function", "n", "approach", "lr"):
        return pd.DataFrame([{"function": "learning-rate table missing"}])
    rows = []
    for function, title in FUNCTIONS.items():
        part = data[data["function"] == function]
        for n in sorted(set(int(v) for v in part["n"])):
            cells = {"function": title, "n": n}
            for approach in APPROACHES:
                value = part[(part["n"] == n) & (part["approach"] == approach)]["lr"]
                cells[approach] = sig(float(value.iloc[0])) if not value.empty else "–"
            rows.append(cells)
    return pd.DataFrame(rows)
