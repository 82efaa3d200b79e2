"""fg_tab_sota: test accuracy of ResNet18 and the ViT on MNIST and CIFAR-10 per approach
(docs/methods/fg.md#resnet18-and-vit)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import format_cell, has_rows
from alttrain.artifacts.context import Context
from alttrain.artifacts.fg import APPROACHES, LABELS, NOT_RUN

SPEC = ArtifactSpec(
    id="fg_tab_sota",
    paper="fg",
    inputs=("sota.csv",),
    caption=(
        "ResNet18 and the 6-layer ViT trained with backprop, forward gradients and frog (activity "
        "perturbation): test accuracy (%) at the epoch of the best validation loss, mean ± std over seeds; "
        "the last row names the data set actually used per column (at cpu scale MNIST is replaced by a "
        "subset of MNIST-5k and CIFAR-10, not available offline, is not run)."
    ),
)
TASKS = {
    "resnet18_mnist": "ResNet18 MNIST",
    "resnet18_cifar10": "ResNet18 CIFAR-10",
    "vit_mnist": "ViT MNIST",
    "vit_cifar10": "ViT CIFAR-10",
}


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    data = frames.get("sota.csv")
    ok = has_rows(data, "approach", "task", "best_test_acc")
    rows = []
    for approach in APPROACHES:
        cells = {"approach": LABELS[approach]}
        for task, title in TASKS.items():
            part = data[(data["approach"] == approach) & (data["task"] == task)] if ok else None
            cells[title] = NOT_RUN if part is None or part.empty else format_cell(part, "best_test_acc")
        rows.append(cells)
    used = {"approach": "(data set used)"}
    for task, title in TASKS.items():
        part = data[data["task"] == task] if ok else None
        used[title] = (
            "–" if part is None or part.empty else "; ".join(sorted(set(part["dataset"].astype(str))))
        )
    rows.append(used)
    return pd.DataFrame(rows)
