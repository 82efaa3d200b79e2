"""fg_tab_fc_mnist: test accuracy of the FC networks (widths 256 / 1024 / 4096) per approach
(docs/methods/fg.md#fully-connected-networks-on-mnist)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import format_cell, has_rows
from alttrain.artifacts.context import Context
from alttrain.artifacts.fg import APPROACHES, LABELS, NOT_RUN

SPEC = ArtifactSpec(
    id="fg_tab_fc_mnist",
    paper="fg",
    inputs=("fc_mnist.csv",),
    caption=(
        "Fully connected networks (784-w-w-10, ReLU) trained with backprop, forward gradients (mean of k "
        "tangents) and frog (orthogonal projection), activity perturbation: test accuracy (%) at the epoch "
        "of the best validation loss, mean ± std over seeds; in brackets the last-epoch test accuracy. "
        "Widths not run at this scale are marked."
    ),
)
WIDTHS = (256, 1024, 4096)


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    data = frames.get("fc_mnist.csv")
    ok = has_rows(data, "approach", "width", "best_test_acc")
    rows = []
    for approach in APPROACHES:
        cells = {"approach": LABELS[approach]}
        for width in WIDTHS:
            part = data[(data["approach"] == approach) & (data["width"] == width)] if ok else None
            if part is None or part.empty:
                cells[f"w = {width}"] = NOT_RUN
                continue
            last = format_cell(part, "final_test_acc")
            cells[f"w = {width}"] = f"{format_cell(part, 'best_test_acc')} [{last}]"
        rows.append(cells)
    return pd.DataFrame(rows)
