"""oialr_fig_cifar_top1_perc_stab: the E1 accuracy figure with the rank checks marked and the basis
stability."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import select
from alttrain.artifacts.oialr_plot import accuracy_panel, check_epochs, mean_line, status
from alttrain.artifacts.style import Context, placeholder_axes

SPEC = ArtifactSpec(
    id="oialr_fig_cifar_top1_perc_stab",
    paper="oialr",
    experiments=("e1_vit",),
    inputs=("collected_curves.csv", "collected_stability.csv", "experiment_status.csv"),
    caption="Variant of the E1 accuracy figure (layout inferred): top, validation top-1 and % trainable "
    "parameters as in oialr_fig_cifar_top1_perc, with the switch to low rank (solid grey) and the epochs "
    "holding an OIALR rank check (dotted grey) marked; bottom, the mean basis stability over layers of the "
    "full-rank baseline (main snapshot interval) on the same epoch axis.",
)


def draw(frames: dict[str, pd.DataFrame], context: Context):
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(7, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    title = status(frames, "e1_vit")["title"]
    curves = accuracy_panel(top, frames, "e1_vit", title)
    checks, switch = check_epochs(curves)
    stability = select(
        frames.get("collected_stability.csv"),
        experiment="e1_vit",
        measure="stability",
        series="main",
        run_id="baseline",
    )
    if stability.empty:
        placeholder_axes(bottom, "no stability analysis at this scale")
    else:
        mean_line(bottom, stability, "baseline, mean stability")
        bottom.set_ylim(min(0.8, float(stability["value"].min()) - 0.01), 1.005)
    for ax in (top, bottom):
        for epoch in checks:
            ax.axvline(epoch, color="0.6", ls=":", lw=0.8)
        if switch is not None:
            ax.axvline(switch, color="0.4", ls="-", lw=1.0)
    fig.tight_layout()
    return fig
