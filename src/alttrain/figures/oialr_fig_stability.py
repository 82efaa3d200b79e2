"""oialr_fig_stability: basis stability during full-rank ImageNet training (ResNet-RS 101, ViT-B/16)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import select
from alttrain.artifacts.oialr_plot import stability_panel
from alttrain.artifacts.style import Context

SPEC = ArtifactSpec(
    id="oialr_fig_stability",
    paper="oialr",
    experiments=("e3_resnetrs101", "e2_vit_b16"),
    inputs=("collected_stability.csv", "experiment_status.csv", "reference_stability.csv"),
    caption="Stability of the orthogonal basis Q = U V^T of each layer's SVD during full-rank (baseline) "
    "ImageNet training: mean column-wise cosine similarity of Q between snapshots 5 epochs apart (authors' "
    "definition), heat map over layers (first layers at the top) on a fixed 0.80-1.00 scale, and the mean "
    "over layers below it with the values read from the authors' figure (dashed). Needs ImageNet-2012: "
    "panels of experiments not run at this scale say so.",
)
PANELS = (("e3_resnetrs101", "ResNet-RS 101 / ImageNet"), ("e2_vit_b16", "ViT-B/16 / ImageNet"))


def draw(frames: dict[str, pd.DataFrame], context: Context):
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), gridspec_kw={"height_ratios": [3, 1.2]})
    for col, (experiment, title) in enumerate(PANELS):
        reference = select(frames.get("reference_stability.csv"), experiment=experiment, measure="stability")
        stability_panel(
            axes[0, col], axes[1, col], frames, experiment, "stability", "main", title, reference=reference
        )
        axes[1, col].set_ylim(0.7, 1.005)
    fig.suptitle("Basis stability during full-rank training (ImageNet)", fontsize=10)
    fig.tight_layout()
    return fig
