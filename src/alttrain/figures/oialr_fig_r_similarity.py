"""oialr_fig_r_similarity: similarity of the QR decomposition's R factor between snapshots (definition
inferred)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import select
from alttrain.artifacts.oialr_plot import stability_panel, status
from alttrain.artifacts.style import Context

SPEC = ArtifactSpec(
    id="oialr_fig_r_similarity",
    paper="oialr",
    experiments=("e3_resnetrs101", "e2_vit_b16", "e1_vit"),
    inputs=("collected_stability.csv", "experiment_status.csv", "reference_stability.csv"),
    caption="Similarity of the R factor of each layer's QR decomposition between snapshots during full-rank "
    "training, 1 - mean row distance / mean row norm (a definition inferred for this reproduction: the "
    "authors' normalisation is unknown, so the dashed authors' readings are not directly comparable). "
    "Rows: last layers at the top. Panels: ImageNet ResNet-RS 101 and ViT-B/16 (5-epoch snapshots) and "
    "the affordable E1 vision transformer.",
)
PANELS = (
    ("e3_resnetrs101", "ResNet-RS 101 / ImageNet"),
    ("e2_vit_b16", "ViT-B/16 / ImageNet"),
    ("e1_vit", None),
)


def draw(frames: dict[str, pd.DataFrame], context: Context):
    fig, axes = plt.subplots(2, 3, figsize=(14, 6.5), gridspec_kw={"height_ratios": [3, 1.2]})
    for col, (experiment, title) in enumerate(PANELS):
        title = title or status(frames, experiment)["title"]
        reference = select(
            frames.get("reference_stability.csv"), experiment=experiment, measure="r_similarity"
        )
        stability_panel(
            axes[0, col],
            axes[1, col],
            frames,
            experiment,
            "r_similarity",
            "main",
            title,
            first_on_top=False,
            reference=reference,
        )
    fig.suptitle("R-matrix similarity during full-rank training (definition inferred)", fontsize=10)
    fig.tight_layout()
    return fig
