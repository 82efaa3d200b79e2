"""fg_fig_closed_form_curves: optimisation curves f(x_t) − f* over the steps, per function and dimension."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows
from alttrain.artifacts.fg import FUNCTIONS, finish_with_legend, log_floor, ordered, style
from alttrain.artifacts.style import Context, placeholder_axes

SPEC = ArtifactSpec(
    id="fg_fig_closed_form_curves",
    paper="fg",
    inputs=(
        "closed_form_sphere_curves.csv",
        "closed_form_rosenbrock_curves.csv",
        "closed_form_styblinski_tang_curves.csv",
    ),
    caption=(
        "Optimisation curves of the closed-form functions: f(x_t) − f* over the gradient-descent steps (log "
        "scales; values below 1e-12 drawn at 1e-12), mean over the seeds still running at that step, for the "
        "largest stored dimensions; each run ends at its early stop."
    ),
)
FLOOR = 1e-12


def _dims(frames) -> list[int]:
    dims = set()
    for function in FUNCTIONS:
        data = frames.get(f"closed_form_{function}_curves.csv")
        if has_rows(data, "n"):
            dims |= set(int(n) for n in data["n"])
    return sorted(dims)[-2:]


def draw(frames: dict[str, pd.DataFrame], context: Context):
    dims = _dims(frames) or [0]
    fig, axes = plt.subplots(len(dims), 3, figsize=(13, 3.2 * len(dims)), squeeze=False)
    handles = {}
    for column, (function, title) in enumerate(FUNCTIONS.items()):
        data = frames.get(f"closed_form_{function}_curves.csv")
        for row, n in enumerate(dims):
            ax = axes[row, column]
            if not has_rows(data, "n", "approach", "step", "value", "f_min") or n not in set(data["n"]):
                placeholder_axes(ax, f"{title} n={n}: no curves at this scale")
                continue
            part = data[data["n"] == n].assign(gap=lambda d: d["value"] - d["f_min"])
            for approach in ordered(part["approach"]):
                line = part[part["approach"] == approach].groupby("step")["gap"].mean().reset_index()
                (handle,) = ax.plot(
                    line["step"].clip(lower=0.5), log_floor(line["gap"], FLOOR), **style(approach)
                )
                handles[approach] = handle
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{title}, n = {n}", fontsize=9)
            ax.set_xlabel("step (step 0 drawn at 0.5)")
        axes[0, column].set_ylabel("f(x_t) − f*")
    finish_with_legend(fig, handles, -0.04)
    return fig
