"""fg_fig_closed_form: final function value (distance to the global minimum) vs dimension n
(docs/methods/fg.md#closed-form-functions)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows
from alttrain.artifacts.fg import FUNCTIONS, finish_with_legend, log_floor, ordered, seed_stats, style
from alttrain.artifacts.style import Context, placeholder_axes

SPEC = ArtifactSpec(
    id="fg_fig_closed_form",
    paper="fg",
    inputs=("closed_form_sphere.csv", "closed_form_rosenbrock.csv", "closed_form_styblinski_tang.csv"),
    caption=(
        "Closed-form optimisation: final value minus the global minimum, f(x_T) − f*, vs dimension n after "
        "gradient descent with the authors' step sizes and early stopping (patience 50), mean over seeds "
        "with min–max band, log scale (values below 1e-12 drawn at 1e-12). Rosenbrock values near 3.99 are "
        "the local minimum near (−1, 1, ..., 1)."
    ),
)
FLOOR = 1e-12


def draw(frames: dict[str, pd.DataFrame], context: Context):
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), squeeze=False)
    handles = {}
    for ax, (function, title) in zip(axes[0], FUNCTIONS.items(), strict=True):
        data = frames.get(f"closed_form_{function}.csv")
        if not has_rows(data, "n", "approach", "final_gap"):
            placeholder_axes(ax, f"{title}: not run at this scale")
            continue
        stats = seed_stats(data, ["approach", "n"], "final_gap")
        for approach in ordered(stats["approach"]):
            line = stats[stats["approach"] == approach].sort_values("n")
            (handle,) = ax.plot(line["n"], log_floor(line["mean"], FLOOR), marker=".", **style(approach))
            ax.fill_between(
                line["n"],
                log_floor(line["min"], FLOOR),
                log_floor(line["max"], FLOOR),
                color=handle.get_color(),
                alpha=0.12,
                lw=0,
            )
            handles[approach] = handle
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("dimension n")
    axes[0, 0].set_ylabel("final f − f*")
    finish_with_legend(fig, handles, -0.08)
    return fig
