"""f3_fig_error_info_curves: test accuracy per epoch of the F3 error-information variants next to DRTP and
DFA."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows
from alttrain.artifacts.f3 import BENCHMARKS, block_rows, topology_name
from alttrain.artifacts.f3_plot import band, ordered, placeholder
from alttrain.artifacts.style import Context

SPEC = ArtifactSpec(
    id="f3_fig_error_info_curves",
    paper="f3",
    inputs=("classification_curves.csv",),
    caption=(
        "Test accuracy per epoch of F3 with each error-information variant, DRTP and DFA (mean ± std over "
        "seeds). Right: the first epochs; F3 equals DRTP in epoch 1 (its buffer starts with the targets) "
        "and departs from it once the delayed errors of epoch 1 are used."
    ),
)
EARLY_EPOCHS = 5


def draw(frames: dict[str, pd.DataFrame], context: Context):
    data = block_rows(frames.get("classification_curves.csv"), "error_info")
    configs = sorted(set(zip(data["benchmark"], data["topology"], strict=True))) if has_rows(data) else []
    fig, axes = plt.subplots(
        max(len(configs), 1), 2, figsize=(8.5, 2.6 * max(len(configs), 1)), squeeze=False
    )
    if not configs:
        for ax in axes[0]:
            placeholder(ax, "no error-information runs at this scale")
        return fig
    for row, (benchmark, topology) in zip(axes, configs, strict=True):
        part = data[(data["benchmark"] == benchmark) & (data["topology"] == topology)]
        for approach in ordered(part["approach"].unique()):
            runs = part[part["approach"] == approach]
            band(row[0], runs, "epoch", "test_acc", approach)
            band(row[1], runs[runs["epoch"] <= EARLY_EPOCHS], "epoch", "test_acc", approach)
        title = f"{BENCHMARKS.get(benchmark, benchmark)} {topology_name(topology)}"
        row[0].set(title=title, xlabel="epoch", ylabel="test accuracy (%)")
        row[1].set(title=f"{title}: epochs 0-{EARLY_EPOCHS}", xlabel="epoch", ylabel="test accuracy (%)")
        row[0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig
