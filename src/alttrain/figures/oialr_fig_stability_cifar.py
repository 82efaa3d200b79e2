"""oialr_fig_stability_cifar: basis stability of the E1 ViT during full-rank training (main and first
epochs)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.figures import ArtifactSpec
from alttrain.figures.oialr_common import stability_panel, status
from alttrain.figures.style import Context

SPEC = ArtifactSpec(
    id="oialr_fig_stability_cifar",
    paper="oialr",
    inputs=("collected_stability.csv", "experiment_status.csv"),
    caption="Stability of the orthogonal basis Q = U V^T of each layer's SVD during full-rank training of "
    "the E1 vision transformer (the paper's mini-ViT on CIFAR-10; at the cpu scale a tiny ViT on MNIST-5k, "
    "see the panel titles): left, snapshots spaced by the main interval (the paper: 10 epochs); right, the "
    "first epochs (1 epoch apart). Heat maps on the fixed 0.80-1.00 scale, first layers at the top; below, "
    "the mean over layers (mean over seeds with min-max band).",
)


def draw(frames: dict[str, pd.DataFrame], context: Context):
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), gridspec_kw={"height_ratios": [3, 1.2]})
    title = status(frames, "e1_vit")["title"]
    for col, (series, label) in enumerate((("main", "main interval"), ("early", "first epochs"))):
        stability_panel(
            axes[0, col], axes[1, col], frames, "e1_vit", "stability", series, f"{title}: {label}"
        )
    fig.suptitle("Basis stability during full-rank training (E1 vision transformer)", fontsize=10)
    fig.tight_layout()
    return fig
