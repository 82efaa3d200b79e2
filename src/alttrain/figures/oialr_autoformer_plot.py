"""Shared drawing of the two Autoformer figures (no ``SPEC``): the authors' published curves beside ours."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.figures.oialr_common import VARIANT_COLORS, band, dataset_of, has_rows, not_run, rows_of, status
from alttrain.figures.style import placeholder_axes

CAPTION = (
    "Autoformer, horizon {h}: per-epoch MSE of OIALR and of the full-rank baseline (mean with min-max band) "
    "and % trainable parameters of OIALR (right axis, dashed). Left: the authors' published curves (ETTm2, "
    "their figure data; split not stated). Right: this reproduction's test MSE at the end of each epoch "
    "(x = epoch index from 0, as the authors' 'Step'); at the cpu scale a small Autoformer on ETTh2, not "
    "comparable in value."
)


def _authors(ax, frames: dict[str, pd.DataFrame], horizon: int) -> None:
    ref = rows_of(frames.get("reference_autoformer.csv"), horizon=horizon)
    if ref.empty:
        placeholder_axes(ax, "authors' figure data missing")
        return
    twin = ax.twinx()
    for series, label, color, target in (
        ("oialr_mse", "OIALR MSE", VARIANT_COLORS["oialr"], ax),
        ("baseline_mse", "baseline MSE", VARIANT_COLORS["baseline"], ax),
        ("oialr_trainable_pct", "OIALR % trainable", VARIANT_COLORS["oialr"], twin),
    ):
        part = ref[ref["series"] == series].sort_values("step")
        target.plot(
            part["step"],
            part["mean"],
            color=color,
            ls="--" if target is twin else "-",
            label=label,
            marker="o",
            ms=3,
        )
        target.fill_between(part["step"], part["min"], part["max"], color=color, alpha=0.2, lw=0)
    _finish(ax, twin, f"authors (ETTm2, published figure data), horizon {horizon}", "MSE")


def _ours(ax, frames: dict[str, pd.DataFrame], horizon: int) -> None:
    experiment = f"e4_autoformer_{horizon}"
    info = status(frames, experiment)
    curves = rows_of(frames.get("collected_curves.csv"), experiment=experiment)
    if not has_rows(curves, "test_mse"):
        not_run(ax, f"this reproduction, horizon {horizon}", info["reason"] or "no runs at this scale", 50)
        return
    curves = curves[curves["epoch"] >= 1].assign(step=lambda f: f["epoch"] - 1)
    twin = ax.twinx()
    for variant, label in (("oialr", "OIALR test MSE"), ("baseline", "baseline test MSE")):
        part = rows_of(curves, run_id=variant)
        if not part.empty:
            band(ax, part, "step", "test_mse", label, VARIANT_COLORS[variant])
    oialr = rows_of(curves, run_id="oialr")
    if has_rows(oialr, "trainable_pct"):
        band(twin, oialr, "step", "trainable_pct", "OIALR % trainable", VARIANT_COLORS["oialr"], "--")
    _finish(ax, twin, f"this reproduction, horizon {horizon}\n{dataset_of(curves)}", "test MSE")


def _finish(ax, twin, title: str, ylabel: str) -> None:
    ax.set(xlabel="Step (epoch index from 0)", ylabel=ylabel)
    ax.set_title(title, fontsize=8)
    twin.set_ylabel("% trainable parameters")
    twin.set_ylim(0, 105)
    twin.grid(False)
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + twin.get_legend_handles_labels()[1]
    ax.legend(handles, labels, fontsize=6, loc="upper right")


def draw_horizon(frames: dict[str, pd.DataFrame], horizon: int):
    """Two panels side by side: the authors' curves and ours."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    _authors(left, frames, horizon)
    _ours(right, frames, horizon)
    fig.tight_layout()
    return fig
