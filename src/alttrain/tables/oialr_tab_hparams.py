"""oialr_tab_hparams: the hyperparameters of every experiment and variant as run at this scale."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows
from alttrain.artifacts.context import Context
from alttrain.artifacts.oialr import VARIANT_LABELS

SPEC = ArtifactSpec(
    id="oialr_tab_hparams",
    paper="oialr",
    inputs=("hparams.csv", "experiment_status.csv"),
    caption="Hyperparameters per experiment and variant as configured at this scale (the paper's own "
    "hyperparameter table was not available; the authors' configuration files at OIALR@e9e885d are the "
    "stand-in at the paper scale). Update counts d, nu are optimizer updates; beta = sigma cutoff fraction, "
    "p = layer step, s = stable-update delay. Experiments not run at this scale: see the last rows.",
)


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    hparams = frames.get("hparams.csv")
    status = frames.get("experiment_status.csv")
    columns = ["experiment", "parameter", *VARIANT_LABELS.values()]
    rows = []
    if has_rows(hparams, "experiment", "parameter"):
        for (title, parameter), group in hparams.groupby(["title", "parameter"], sort=False):
            row = {"experiment": title, "parameter": parameter}
            for variant, label in VARIANT_LABELS.items():
                value = group.loc[group["variant"] == variant, "value"]
                row[label] = "" if value.empty or pd.isna(value.iloc[0]) else str(value.iloc[0])
            rows.append(row)
    if has_rows(status, "status", "note"):
        for _, exp in status[(status["status"] == "run") & status["note"].notna()].iterrows():
            rows.append(
                {
                    "experiment": exp["title"],
                    "parameter": "what this scale changes",
                    VARIANT_LABELS["baseline"]: exp["note"],
                }
            )
    if has_rows(status, "status"):
        for _, exp in status[status["status"] != "run"].iterrows():
            rows.append(
                {
                    "experiment": exp["title"],
                    "parameter": "status",
                    **dict.fromkeys(VARIANT_LABELS.values(), exp["reason"]),
                }
            )
    return pd.DataFrame(rows, columns=columns)
