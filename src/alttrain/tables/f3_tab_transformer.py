"""f3_tab_transformer: v2 Transformer on MNIST (docs/methods/f3.md#transformer-v2)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import format_cell, has_rows
from alttrain.artifacts.context import Context
from alttrain.artifacts.f3 import APPROACHES, epochs_note, not_run_cell, not_run_reason, transformer_size

SPEC = ArtifactSpec(
    id="f3_tab_transformer",
    paper="f3",
    inputs=("transformer.csv", "not_run.csv"),
    caption=(
        "(v2) Transformer on MNIST (patch embedding, pre-norm attention and tanh-MLP blocks over 16 tokens,"
        " tanh head; cross-entropy on logits; Adam 3e-3; trinomial feedback after every block): final test "
        "accuracy (%) and test loss, mean ± std over seeds. F3 uses the delayed softmax error. The 'model' "
        "column gives the trained depth and width against the paper's (reduced below the paper scale)."
    ),
)
ORDER = ["bp", "drtp", "dfa", "f3_delayed_error_softmax"]


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    data = frames.get("transformer.csv")
    if not has_rows(data, "approach"):
        reason = (
            not_run_reason(frames.get("not_run.csv"), "transformer", "mnist") or "no Transformer runs here"
        )
        return pd.DataFrame(
            [{"method": APPROACHES[a], "test accuracy (%)": not_run_cell(reason)} for a in ORDER]
        )
    approaches = [a for a in ORDER if a in set(data["approach"])]
    approaches += sorted(set(data["approach"]) - set(approaches))
    rows = []
    for approach in approaches:
        runs = data[data["approach"] == approach]
        rows.append(
            {
                "method": APPROACHES.get(approach, approach),
                "test accuracy (%)": format_cell(runs, "final_test_acc", missing=""),
                "test loss": format_cell(runs, "final_test_loss", digits=4, missing=""),
                "model": transformer_size(runs),
                "training": epochs_note(runs, "transformer"),
            }
        )
    return pd.DataFrame(rows)
