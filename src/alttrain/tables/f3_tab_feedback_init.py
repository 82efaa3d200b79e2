"""f3_tab_feedback_init: v1 comparison of the feedback-matrix initialisations (docs/methods/f3.md#v1-grid)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import format_cell
from alttrain.artifacts.context import Context
from alttrain.artifacts.f3 import (
    APPROACHES,
    F3_VARIANTS,
    INITS,
    block_rows,
    classification_columns,
    column_name,
    epochs_note,
    not_run_cell,
)

SPEC = ArtifactSpec(
    id="f3_tab_feedback_init",
    paper="f3",
    inputs=("classification.csv", "not_run.csv"),
    caption=(
        "Feedback-matrix initialisation (Kaiming-uniform U(-1/sqrt(n), 1/sqrt(n)); trinomial {-1, 0, 1}; "
        "binomial {0, 1}; ±I tiles) for DFA, DRTP and F3: final test accuracy (%), mean ± std over seeds."
    ),
)


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    data = block_rows(frames.get("classification.csv"), "feedback_init")
    not_run = frames.get("not_run.csv")
    approaches = [a for a in ["dfa", "drtp", *F3_VARIANTS] if a in set(data["approach"])]
    approaches = approaches or ["dfa", "drtp", "f3"]
    columns = classification_columns(data, not_run)
    rows = []
    for init, label in INITS.items():
        cells = {"feedback init": label}
        for benchmark, topology, reason in columns:
            if reason is not None:
                cells[column_name(benchmark, topology)] = not_run_cell(reason)
                continue
            for approach in approaches:
                runs = data[
                    (data["benchmark"] == benchmark)
                    & (data["topology"] == topology)
                    & (data["approach"] == approach)
                    & (data["feedback_init"] == init)
                ]
                name = f"{column_name(benchmark, topology)} {APPROACHES.get(approach, approach)}"
                cells[name] = (
                    format_cell(runs, "final_test_acc", missing="") if not runs.empty else "not run at this scale"
                )
        rows.append(cells)
    training = {"feedback init": "training (this scale)"}
    for benchmark, topology, reason in columns:
        runs = data[(data["benchmark"] == benchmark) & (data["topology"] == topology)]
        for approach in approaches if reason is None else []:
            name = f"{column_name(benchmark, topology)} {APPROACHES.get(approach, approach)}"
            training[name] = epochs_note(runs[runs["approach"] == approach], benchmark)
    rows.append(training)
    return pd.DataFrame(rows)
