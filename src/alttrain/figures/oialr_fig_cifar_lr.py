"""oialr_fig_cifar_lr: learning-rate schedules of the E1 runs (baseline, OIALR, tuned OIALR)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import select
from alttrain.artifacts.oialr_plot import VARIANT_COLORS, VARIANT_LABELS, not_run, status
from alttrain.artifacts.style import Context

SPEC = ArtifactSpec(
    id="oialr_fig_cifar_lr",
    paper="oialr",
    experiments=("e1_vit",),
    inputs=("collected_curves.csv", "experiment_status.csv"),
    caption="Learning rate at the end of each epoch of the E1 runs (timm cosine schedule stepped per update; "
    "figure inferred): the baseline and OIALR share the authors' schedule, tuned OIALR uses the authors' "
    "inferred tuned candidate whose minimum learning rate lies above the base rate, so the rate rises.",
)


def draw(frames: dict[str, pd.DataFrame], context: Context):
    fig, ax = plt.subplots(figsize=(6, 3.6))
    info = status(frames, "e1_vit")
    curves = select(frames.get("collected_curves.csv"), experiment="e1_vit")
    if curves.empty or "lr" not in curves:
        not_run(ax, info["title"], info["reason"] or "no runs at this scale", 60)
    else:
        for variant, label in VARIANT_LABELS.items():
            part = select(curves, run_id=variant)
            if not part.empty:
                first_seed = part[part["seed"] == part["seed"].min()].sort_values("epoch")
                ax.plot(
                    first_seed["epoch"],
                    first_seed["lr"],
                    label=label,
                    color=VARIANT_COLORS[variant],
                    ls="--" if variant == "oialr" else "-",
                )
        ax.set(xlabel="epoch", ylabel="learning rate", yscale="log")
        ax.legend(fontsize=7)
    ax.set_title(info["title"], fontsize=8)
    fig.tight_layout()
    return fig
