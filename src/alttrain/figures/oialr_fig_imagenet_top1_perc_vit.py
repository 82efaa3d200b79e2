"""oialr_fig_imagenet_top1_perc_vit: ViT-B/16 on ImageNet, top-1 per epoch and % trainable parameters."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.oialr_plot import accuracy_panel
from alttrain.artifacts.style import Context

SPEC = ArtifactSpec(
    id="oialr_fig_imagenet_top1_perc_vit",
    paper="oialr",
    experiments=("e2_vit_b16",),
    inputs=("collected_curves.csv", "experiment_status.csv"),
    caption="ViT-B/16 on ImageNet-2012: validation top-1 per epoch of the baseline and OIALR (mean over "
    "seeds with min-max band), right axis % trainable parameters of the OIALR runs. Paper scale with "
    "data.imagenet only; otherwise the panel states why it was not run.",
)


def draw(frames: dict[str, pd.DataFrame], context: Context):
    fig, ax = plt.subplots(figsize=(7, 4.2))
    accuracy_panel(ax, frames, "e2_vit_b16", "ViT-B/16 / ImageNet-2012")
    fig.tight_layout()
    return fig
