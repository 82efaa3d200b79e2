"""fg_fig_approx_vs_n: cosine similarity and norm ratio of forward gradients vs the dimension n
(docs/methods/fg.md#approximation-quality)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows
from alttrain.artifacts.style import Context, placeholder_axes

SPEC = ArtifactSpec(
    id="fg_fig_approx_vs_n",
    paper="fg",
    inputs=("approx_quality.csv",),
    caption=(
        "Approximation quality vs dimension n for Gaussian tangents: mean cosine similarity to the true "
        "gradient (top) and mean norm ratio |g|/|∇f| (bottom, log scale) over the Monte-Carlo samples, with "
        "95 % CI bands; one line per number of tangents k, one column per combination (frog = orthogonal "
        "projection; mean and sum with unnormalised or unit-length tangents); the dashed black line is the "
        "single-tangent forward gradient (k = 1)."
    ),
)
VARIANTS = (
    ("orthogonal_projection", False, "frog (projection)"),
    ("mean", False, "mean"),
    ("mean", True, "mean, normalised"),
    ("sum", False, "sum"),
    ("sum", True, "sum, normalised"),
)
SHOWN_K = (2, 4, 16, 64, 256, 1024)


def _shown(ks) -> list[int]:
    present = sorted(set(int(k) for k in ks) - {1})
    chosen = [k for k in SHOWN_K if k in present]
    return chosen or present[:6]


def draw(frames: dict[str, pd.DataFrame], context: Context):
    data = frames.get("approx_quality.csv")
    fig, axes = plt.subplots(2, len(VARIANTS), figsize=(13, 5.2), sharex=True, sharey="row", squeeze=False)
    if not has_rows(data, "n", "k", "combination", "normalized", "cosine_mean"):
        for ax in axes.flat:
            placeholder_axes(ax, "approximation-quality study not run at this scale")
        return fig
    data = data.assign(normalized=data["normalized"].astype(str).str.lower() == "true")
    ks = _shown(data["k"])
    cmap = plt.get_cmap("viridis", max(len(ks), 2))
    baseline = data[data["combination"] == "fg_baseline"].sort_values("n")
    for column, (combination, normalized, title) in enumerate(VARIANTS):
        part = data[(data["combination"] == combination) & (data["normalized"] == normalized)]
        for row, metric in enumerate(("cosine", "norm_ratio")):
            ax = axes[row, column]
            for index, k in enumerate(ks):
                line = part[part["k"] == k].sort_values("n")
                if line.empty:
                    continue
                mean, ci = line[f"{metric}_mean"], line[f"{metric}_ci95"]
                ax.plot(line["n"], mean, color=cmap(index), label=f"k={k}", lw=1.2)
                ax.fill_between(line["n"], mean - ci, mean + ci, color=cmap(index), alpha=0.2, lw=0)
            if not baseline.empty and not normalized:
                ax.plot(
                    baseline["n"], baseline[f"{metric}_mean"], color="black", ls="--", lw=1, label="FG, k=1"
                )
            ax.set_xscale("log", base=2)
            if metric == "norm_ratio":
                ax.set_yscale("log")
                ax.set_xlabel("dimension n")
            if row == 0:
                ax.set_title(title, fontsize=9)
    axes[0, 0].set_ylabel("cosine similarity")
    axes[1, 0].set_ylabel("norm ratio |g| / |∇f|")
    axes[0, -1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig
