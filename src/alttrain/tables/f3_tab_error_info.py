"""f3_tab_error_info: v1 comparison of F3's error-information variants (docs/methods/f3.md#v1-grid)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.context import Context
from alttrain.artifacts.f3 import F3_VARIANTS, approach_table, block_rows

SPEC = ArtifactSpec(
    id="f3_tab_error_info",
    paper="f3",
    inputs=("classification.csv", "not_run.csv"),
    caption=(
        "F3 with each error-information variant (the per-sample signal stored at a sample's previous visit:"
        " delayed error t - y or delayed loss gradient, as is, masked by the one-hot target, or through a "
        "softmax), with DRTP (e = t) and DFA (current error) as references: final test accuracy (%), mean ±"
        " std over seeds."
    ),
)


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    data = block_rows(frames.get("classification.csv"), "error_info")
    return approach_table(data, frames.get("not_run.csv"), ["drtp", "dfa", *F3_VARIANTS])
