"""fg_fig_custom_angle_approx: approximation quality with fixed-angle tangents
(docs/methods/fg.md#fixed-angle-tangents)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows
from alttrain.artifacts.style import Context, placeholder_axes

SPEC = ArtifactSpec(
    id="fg_fig_custom_angle_approx",
    paper="fg",
    inputs=("custom_angle_approx.csv",),
    caption=(
        "Approximation quality with custom tangents: unit tangents v_2..v_k at a fixed angle to v_1, n = 64; "
        "mean cosine similarity (left) and norm ratio (right, log scale) with 95 % CI bands vs the angle, "
        "for the mean (dashed) and the projection (frog, solid) per k (the sum has the cosine of the mean "
        "and k times its norm). The projection does not depend on the angle (the span is the same); the mean "
        "degrades as the tangents become parallel."
    ),
)
COMBINATIONS = (("orthogonal_projection", "-", "frog"), ("mean", "--", "mean"))


def draw(frames: dict[str, pd.DataFrame], context: Context):
    data = frames.get("custom_angle_approx.csv")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), squeeze=False)
    if not has_rows(data, "angle", "k", "combination", "cosine_mean"):
        for ax in axes.flat:
            placeholder_axes(ax, "custom-tangent study not run at this scale")
        return fig
    ks = sorted(set(int(k) for k in data["k"]))
    cmap = plt.get_cmap("viridis", max(len(ks), 2))
    for ax, metric, label in (
        (axes[0, 0], "cosine", "cosine similarity"),
        (axes[0, 1], "norm_ratio", "norm ratio |g| / |∇f|"),
    ):
        for index, k in enumerate(ks):
            for combination, dash, name in COMBINATIONS:
                line = data[(data["k"] == k) & (data["combination"] == combination)].sort_values("angle")
                if line.empty:
                    continue
                mean, ci = line[f"{metric}_mean"], line[f"{metric}_ci95"]
                ax.plot(line["angle"], mean, color=cmap(index), ls=dash, marker=".", label=f"{name}, k={k}")
                ax.fill_between(line["angle"], mean - ci, mean + ci, color=cmap(index), alpha=0.15, lw=0)
        ax.set_xlabel("angle to the first tangent (degrees)")
        ax.set_ylabel(label)
        if metric == "norm_ratio":
            ax.set_yscale("log")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig
