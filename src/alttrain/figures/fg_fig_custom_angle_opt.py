"""fg_fig_custom_angle_opt: Styblinski-Tang (n = 64) with fixed-angle tangents: final value vs angle."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows
from alttrain.artifacts.fg import COLORS, seed_stats
from alttrain.artifacts.style import Context, placeholder_axes

SPEC = ArtifactSpec(
    id="fg_fig_custom_angle_opt",
    paper="fg",
    inputs=("custom_angle_opt.csv",),
    caption=(
        "Styblinski-Tang, n = 64, optimised with custom tangents at a fixed angle to the first tangent: "
        "final function value vs angle, mean over seeds with min–max band, for the mean (dashed) and the "
        "projection (frog, solid) with k = 16 and 64, with the authors' step sizes (mean: per k and angle; "
        "frog: per k, tuned with Gaussian tangents). Dotted: the global minimum −39.166·n."
    ),
)


def draw(frames: dict[str, pd.DataFrame], context: Context):
    data = frames.get("custom_angle_opt.csv")
    fig, ax = plt.subplots(figsize=(6.2, 3.6))
    if not has_rows(data, "angle", "k", "combination", "final_value", "f_min"):
        placeholder_axes(ax, "custom-tangent optimisation not run at this scale")
        return fig
    stats = seed_stats(data, ["combination", "k", "angle"], "final_value")
    for (combination, k), line in stats.groupby(["combination", "k"]):
        line = line.sort_values("angle")
        is_proj = combination == "orthogonal_projection"
        color = (
            COLORS["frog_k16" if is_proj else "fg_mean_k16"]
            if k >= 64
            else COLORS["frog_k4" if is_proj else "fg_mean_k4"]
        )
        label = f"{'frog' if is_proj else 'mean'}, k={k}"
        ax.plot(
            line["angle"], line["mean"], color=color, ls="-" if is_proj else "--", marker=".", label=label
        )
        ax.fill_between(line["angle"], line["min"], line["max"], color=color, alpha=0.15, lw=0)
    ax.axhline(float(data["f_min"].iloc[0]), color="0.3", ls=":", lw=1, label="global minimum")
    ax.set_xlabel("angle to the first tangent (degrees)")
    ax.set_ylabel("final f")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
