"""oialr_fig_stability_cifar: basis stability of the E1 ViT during full-rank training (main and first
epochs)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import select
from alttrain.artifacts.oialr_plot import stability_panel, status
from alttrain.artifacts.style import Context

SPEC = ArtifactSpec(
    id="oialr_fig_stability_cifar",
    paper="oialr",
    experiments=("e1_vit",),
    inputs=("collected_stability.csv", "experiment_status.csv", "stability_summary.csv"),
    caption="Stability of the orthogonal basis Q = U V^T of each layer's SVD during full-rank training of "
    "the E1 vision transformer (the paper's mini-ViT on CIFAR-10; at the cpu scale a tiny ViT on MNIST-5k, "
    "see the panel titles): left, snapshots spaced by the main interval (the paper: 10 epochs); right, the "
    "first epochs (1 epoch apart). Heat maps on the fixed 0.80-1.00 scale, first layers at the top; below, "
    "the mean over layers (mean over seeds with min-max band), titled with its first, lowest and final "
    "value.",
)


def draw(frames: dict[str, pd.DataFrame], context: Context):
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), gridspec_kw={"height_ratios": [3, 1.2]})
    title = status(frames, "e1_vit")["title"]
    for col, (series, label) in enumerate((("main", "main interval"), ("early", "first epochs"))):
        stability_panel(
            axes[0, col], axes[1, col], frames, "e1_vit", "stability", series, f"{title}: {label}"
        )
        points = select(
            frames.get("stability_summary.csv"),
            experiment="e1_vit",
            measure="stability",
            series=series,
            run_id="baseline",
        )
        if not points.empty:  # first / lowest / final mean stability, averaged over seeds
            value = points.groupby("point")["value"].mean()
            axes[1, col].set_title(
                f"first {value['first']:.3f}, lowest {value['minimum']:.3f}, final {value['final']:.3f}",
                fontsize=7,
            )
    fig.suptitle("Basis stability during full-rank training (E1 vision transformer)", fontsize=10)
    fig.tight_layout()
    return fig
