"""f3_fig_sgemm_depth: final test MSE on SGEMM against network depth, per method."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows
from alttrain.artifacts.f3 import APPROACHES, not_run_cell, not_run_reason
from alttrain.artifacts.f3_plot import COLORS, ordered, placeholder
from alttrain.artifacts.style import Context

SPEC = ArtifactSpec(
    id="f3_fig_sgemm_depth",
    paper="f3",
    inputs=("sgemm_depth.csv", "not_run.csv"),
    caption=(
        "SGEMM regression: final test MSE (standardised target) against the number of hidden layers (width "
        "500, inferred), mean ± std over seeds, per method."
    ),
)


def draw(frames: dict[str, pd.DataFrame], context: Context):
    data = frames.get("sgemm_depth.csv")
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    if not has_rows(data, "approach", "depth", "final_test_mse"):
        reason = not_run_reason(frames.get("not_run.csv"), "sgemm_depth", "sgemm") or "no SGEMM runs"
        placeholder(ax, f"SGEMM depth study: {not_run_cell(reason)}")
        return fig
    depths = sorted(set(data["depth"]))
    position = {d: i for i, d in enumerate(depths)}  # categorical axis: 1, 2, 10, ...
    for approach in ordered(data["approach"].unique()):
        stats = data[data["approach"] == approach].groupby("depth")["final_test_mse"].agg(["mean", "std"])
        ax.errorbar(
            [position[d] for d in stats.index],
            stats["mean"],
            yerr=stats["std"].fillna(0),
            marker="o",
            capsize=3,
            color=COLORS.get(approach),
            label=APPROACHES.get(approach, approach),
        )
    ax.set(
        xticks=range(len(depths)),
        xticklabels=[str(d) for d in depths],
        xlabel="hidden layers D",
        ylabel="final test MSE",
        yscale="log",
        title="SGEMM",
    )
    ax.legend(fontsize=6)
    fig.tight_layout()
    return fig
