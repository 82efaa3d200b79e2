"""f3_tab_methods: v1 method comparison on classification (docs/methods/f3.md#v1-grid)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.context import Context
from alttrain.artifacts.f3 import F3_VARIANTS, approach_table, block_rows

SPEC = ArtifactSpec(
    id="f3_tab_methods",
    paper="f3",
    inputs=("classification.csv", "not_run.csv"),
    caption=(
        "F3 vs backprop (BP), shallow learning (only the output layer trained), DFA and DRTP on FC networks"
        " (tanh hidden layers, sigmoid outputs, BCE vs one-hot targets, Adam): final test accuracy (%), "
        "mean ± std over seeds. F3 rows: delayed error one-hot (most likely v1's F3) and full delayed error"
        " (most likely v2's). Feedback matrices: Kaiming-uniform unless named."
    ),
)


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    data = block_rows(frames.get("classification.csv"), "methods")
    return approach_table(data, frames.get("not_run.csv"), ["bp", "llo", "dfa", "drtp", *F3_VARIANTS])
