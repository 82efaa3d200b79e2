"""fg_fig_nn_curves: network training curves (validation loss, test accuracy, alignment with backprop)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows
from alttrain.artifacts.fg import finish_with_legend, ordered, style
from alttrain.artifacts.style import Context, placeholder_axes

SPEC = ArtifactSpec(
    id="fg_fig_nn_curves",
    paper="fg",
    inputs=("fc_mnist_curves.csv", "sota_curves.csv"),
    caption=(
        "Neural-network training with activity-perturbed forward gradients (simulated, global tangent): per "
        "epoch (0 = before training) the validation loss, the test accuracy and the cosine similarity of the "
        "gradient estimate to the backprop gradient on a fixed probe batch, mean over seeds, per task and "
        "approach. The data set of each task is the one named in the footer (scaled-down data at cpu scale)."
    ),
)
ROWS = (
    ("val_loss", "validation loss", "log"),
    ("test_acc", "test accuracy (%)", "linear"),
    ("align_cosine", "cosine to BP gradient", "linear"),
)


def _tasks(frames) -> list[tuple[str, pd.DataFrame]]:
    tasks = []
    for name in ("fc_mnist_curves.csv", "sota_curves.csv"):
        data = frames.get(name)
        if has_rows(data, "task", "approach", "epoch"):
            tasks += [(task, data[data["task"] == task]) for task in sorted(set(data["task"]))]
    return tasks


def draw(frames: dict[str, pd.DataFrame], context: Context):
    tasks = _tasks(frames)
    if not tasks:
        fig, ax = plt.subplots(figsize=(6, 3))
        placeholder_axes(ax, "no network runs at this scale")
        return fig
    fig, axes = plt.subplots(len(ROWS), len(tasks), figsize=(3.3 * len(tasks), 7.5), squeeze=False)
    handles = {}
    for column, (task, data) in enumerate(tasks):
        for row, (metric, label, scale) in enumerate(ROWS):
            ax = axes[row, column]
            if metric not in data.columns or data[metric].dropna().empty:
                placeholder_axes(ax, f"{metric} not logged")
                continue
            for approach in ordered(data["approach"]):
                line = data[data["approach"] == approach].groupby("epoch")[metric].mean().dropna()
                if line.empty:
                    continue
                (handle,) = ax.plot(
                    line.index, line.values, marker="." if len(line) < 12 else None, **style(approach)
                )
                handles[approach] = handle
            ax.set_yscale(scale)
            if row == 0:
                ax.set_title(task, fontsize=9)
            if row == len(ROWS) - 1:
                ax.set_xlabel("epoch")
            if column == 0:
                ax.set_ylabel(label)
    finish_with_legend(fig, handles, -0.05)
    return fig
