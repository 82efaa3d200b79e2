"""fg_fig_approx_vs_k: cosine similarity and norm ratio vs the number of tangents k
(docs/methods/fg.md#approximation-quality)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows
from alttrain.artifacts.style import Context, placeholder_axes

SPEC = ArtifactSpec(
    id="fg_fig_approx_vs_k",
    paper="fg",
    inputs=("approx_quality.csv",),
    caption=(
        "Approximation quality vs number of tangents k for selected dimensions n: mean cosine similarity "
        "(top) and mean norm ratio (bottom, log scale) with 95 % CI bands, per combination. The projection "
        "(frog) becomes exact (cosine 1, norm ratio 1) once k ≥ n; mean and sum stay approximate."
    ),
)
VARIANTS = (
    ("orthogonal_projection", False, "frog (projection)", "#a63603", "-"),
    ("mean", False, "mean", "#08519c", "--"),
    ("mean", True, "mean, normalised", "#4292c6", ":"),
    ("sum", False, "sum", "#31a354", "--"),
    ("sum", True, "sum, normalised", "#74c476", ":"),
)
SHOWN_N = (64, 1024, 16384)


def draw(frames: dict[str, pd.DataFrame], context: Context):
    data = frames.get("approx_quality.csv")
    if not has_rows(data, "n", "k", "combination", "normalized", "cosine_mean"):
        fig, ax = plt.subplots(figsize=(6, 3))
        placeholder_axes(ax, "approximation-quality study not run at this scale")
        return fig
    data = data[data["combination"] != "fg_baseline"]
    data = data.assign(normalized=data["normalized"].astype(str).str.lower() == "true")
    present = sorted(set(int(n) for n in data["n"]))
    dims = [n for n in SHOWN_N if n in present] or present[-3:]
    fig, axes = plt.subplots(2, len(dims), figsize=(3.6 * len(dims), 5.2), sharex=True, squeeze=False)
    for column, n in enumerate(dims):
        part = data[data["n"] == n]
        for row, metric in enumerate(("cosine", "norm_ratio")):
            ax = axes[row, column]
            for combination, normalized, label, color, dash in VARIANTS:
                line = part[(part["combination"] == combination) & (part["normalized"] == normalized)]
                line = line.sort_values("k")
                if line.empty:
                    continue
                mean, ci = line[f"{metric}_mean"], line[f"{metric}_ci95"]
                ax.plot(line["k"], mean, color=color, ls=dash, label=label, lw=1.3)
                ax.fill_between(line["k"], mean - ci, mean + ci, color=color, alpha=0.2, lw=0)
            if n <= part["k"].max():  # k >= n: the projection is exact from here on
                ax.axvline(n, color="0.6", lw=0.6, ls=":")
            ax.set_xscale("log", base=2)
            if metric == "norm_ratio":
                ax.set_yscale("log")
                ax.set_xlabel("number of tangents k")
            else:
                ax.set_title(f"n = {n}", fontsize=9)
    axes[0, 0].set_ylabel("cosine similarity")
    axes[1, 0].set_ylabel("norm ratio |g| / |∇f|")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig
