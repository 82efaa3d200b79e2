"""fg_tab_lrs_nn: the authors' learning rates of the network experiments (appendix table;
docs/methods/fg.md#optimiser-and-learning-rates)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows, sig
from alttrain.artifacts.context import Context
from alttrain.artifacts.fg import APPROACHES, LABELS

SPEC = ArtifactSpec(
    id="fg_tab_lrs_nn",
    paper="fg",
    inputs=("lrs_nn.csv",),
    caption=(
        "Learning rates of the network experiments (plain SGD, constant), from the authors' code "
        "(frog@7beb8cb lrs/lrs_fc_nns.csv, lrs_sota_nns.csv), 4 significant digits; in brackets the searched "
        "backprop rate that the 2025-01-29 commit replaced by 0.1 for ResNet18 and ViT. These are "
        "configuration values, identical at every scale."
    ),
)
TASKS = {
    "fc_w256": "FC w=256",
    "fc_w1024": "FC w=1024",
    "fc_w4096": "FC w=4096",
    "resnet18_mnist": "ResNet18 MNIST",
    "resnet18_cifar10": "ResNet18 CIFAR-10",
    "vit_mnist": "ViT MNIST",
    "vit_cifar10": "ViT CIFAR-10",
}


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    data = frames.get("lrs_nn.csv")
    if not has_rows(data, "task", "approach", "lr", "lr_pre2025"):
        return pd.DataFrame([{"approach": "learning-rate table missing"}])
    rows = []
    for approach in APPROACHES:
        cells = {"approach": LABELS[approach]}
        for task, title in TASKS.items():
            row = data[(data["task"] == task) & (data["approach"] == approach)]
            if row.empty:
                cells[title] = "–"
                continue
            lr, before = float(row["lr"].iloc[0]), float(row["lr_pre2025"].iloc[0])
            cells[title] = sig(lr) + (f" ({sig(before)})" if before != lr else "")
        rows.append(cells)
    return pd.DataFrame(rows)
