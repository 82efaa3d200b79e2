"""oialr_fig_cifar_top1_perc: E1 validation top-1 per epoch (baseline, OIALR, tuned OIALR) and % trainable."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.oialr_plot import accuracy_panel, status
from alttrain.artifacts.style import Context

SPEC = ArtifactSpec(
    id="oialr_fig_cifar_top1_perc",
    paper="oialr",
    experiments=("e1_vit",),
    inputs=("collected_curves.csv", "experiment_status.csv"),
    caption="E1 (the paper's mini-ViT on CIFAR-10; at the cpu scale a tiny ViT on MNIST-5k): validation "
    "top-1 per epoch of the full-rank baseline, OIALR and tuned OIALR (the authors' inferred tuned "
    "schedule), mean over seeds with min-max band; right axis: % trainable parameters of the OIALR runs "
    "(dashed). Epoch 0 is before training.",
)


def draw(frames: dict[str, pd.DataFrame], context: Context):
    fig, ax = plt.subplots(figsize=(7, 4.2))
    accuracy_panel(ax, frames, "e1_vit", status(frames, "e1_vit")["title"])
    fig.tight_layout()
    return fig
