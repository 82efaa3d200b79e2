"""fg_tab_closed_form: mean final function value per function, approach and dimension
(docs/methods/fg.md#closed-form-functions)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows, sig
from alttrain.artifacts.context import Context
from alttrain.artifacts.fg import FUNCTIONS, LABELS, ordered

SPEC = ArtifactSpec(
    id="fg_tab_closed_form",
    paper="fg",
    inputs=("closed_form_sphere.csv", "closed_form_rosenbrock.csv", "closed_form_styblinski_tang.csv"),
    caption=(
        "Closed-form optimisation: final function value after gradient descent with the authors' step sizes "
        "and early stopping (patience 50), mean over seeds (4 significant digits); global minima: sphere and "
        "Rosenbrock 0, Styblinski-Tang −39.166·n. A diverged run (NaN) is marked 'diverged'."
    ),
)


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    rows = []
    for function, title in FUNCTIONS.items():
        data = frames.get(f"closed_form_{function}.csv")
        if not has_rows(data, "n", "approach", "final_value"):
            rows.append({"function": title, "approach": "not run at this scale"})
            continue
        dims = sorted(set(int(n) for n in data["n"]))
        for approach in ordered(data["approach"]):
            cells = {"function": title, "approach": LABELS.get(approach, approach)}
            for n in dims:
                values = data[(data["approach"] == approach) & (data["n"] == n)]["final_value"]
                cells[f"n={n}"] = "diverged" if values.isna().any() else sig(values.mean())
            rows.append(cells)
    return pd.DataFrame(rows)
