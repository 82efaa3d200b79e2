"""fg_tab_closed_form: mean final function value per function, approach and dimension
(docs/methods/fg.md#closed-form-functions)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import format_cell, has_rows
from alttrain.artifacts.context import Context
from alttrain.artifacts.fg import FUNCTIONS, LABELS, ordered

SPEC = ArtifactSpec(
    id="fg_tab_closed_form",
    paper="fg",
    inputs=("closed_form_sphere.csv", "closed_form_rosenbrock.csv", "closed_form_styblinski_tang.csv"),
    caption=(
        "Closed-form optimisation: final function value after gradient descent with the authors' step sizes "
        "and early stopping (patience 50), mean ± std over the seeds that did not diverge (3 significant digits); "
        "global minima: sphere and Rosenbrock 0, Styblinski-Tang −39.166·n. Diverged seeds are counted, never "
        "averaged: '(k/N diverged)', or 'diverged' when all did."
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
                part = data[(data["approach"] == approach) & (data["n"] == n)]
                cells[f"n={n}"] = format_cell(part, "final_value", digits=3, significant=True)
            rows.append(cells)
    return pd.DataFrame(rows)
