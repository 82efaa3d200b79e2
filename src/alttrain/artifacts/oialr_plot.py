"""Drawing helpers shared by the oialr figures (no ``SPEC``: not a figure itself; no torch).

Every oialr figure reads the CSVs of ``python -m alttrain oialr collect``; an experiment that did not run at
this scale is drawn as a panel that says "not run at this scale: <reason>" (from ``experiment_status.csv``).
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from alttrain.artifacts.cells import has_rows, select
from alttrain.artifacts.oialr import VARIANT_LABELS, dataset_of, status  # noqa: F401  (figures import them here)
from alttrain.artifacts.style import placeholder_axes

VARIANT_COLORS = dict(zip(VARIANT_LABELS, sns.color_palette("colorblind", 3), strict=True))
STABILITY_RANGE = (0.80, 1.00)  # fixed colour scale of the authors' heat maps


def not_run(ax, title: str, reason: str, width: int = 40) -> None:
    """A panel that says why it is empty (the reason wrapped to the panel's width)."""
    placeholder_axes(ax, textwrap.fill(f"{title}: {reason}", width))
    ax.set_title(title, fontsize=8)










def band(ax, rows: pd.DataFrame, x: str, y: str, label: str, color=None, linestyle: str = "-"):
    """Mean over seeds with a min-max band; returns the line."""
    data = rows[[x, y]].dropna()
    if data.empty:
        return None
    stats = data.groupby(x)[y].agg(["mean", "min", "max"]).reset_index()
    (line,) = ax.plot(stats[x], stats["mean"], label=label, color=color, linestyle=linestyle, lw=1.4)
    ax.fill_between(stats[x], stats["min"], stats["max"], color=line.get_color(), alpha=0.2, lw=0)
    return line


def stability_matrix(rows: pd.DataFrame) -> pd.DataFrame:
    """Layers (rows, module order) x epochs (columns) of the mean over seeds, from long stability rows."""
    layers = rows[rows["layer_index"] >= 0]
    matrix = layers.pivot_table(
        index=["layer_index", "layer"], columns="epoch", values="value", aggfunc="mean"
    )
    matrix.index = [name for _, name in matrix.index]
    return matrix


def heatmap(ax, matrix: pd.DataFrame, first_on_top: bool = True, colorbar: bool = True) -> None:
    """Stability heat map on the fixed 0.80-1.00 scale (rocket), layers as rows."""
    data = matrix if first_on_top else matrix.iloc[::-1]
    sns.heatmap(
        data,
        ax=ax,
        cmap="rocket",
        vmin=STABILITY_RANGE[0],
        vmax=STABILITY_RANGE[1],
        cbar=colorbar,
        xticklabels=True,
        yticklabels=len(data) <= 30,
    )
    ax.set_xlabel("epoch")
    top, bottom = ("First Layers", "Last Layers") if first_on_top else ("Last Layers", "First Layers")
    ax.set_ylabel(f"{top} (top) to {bottom} (bottom)", fontsize=7)
    ax.tick_params(axis="y", labelsize=5)
    ax.tick_params(axis="x", labelsize=6)


def mean_line(ax, rows: pd.DataFrame, label: str, reference: pd.DataFrame | None = None) -> None:
    """Mean over layers vs epoch (mean over seeds, min-max band), with the authors' readings if given."""
    means = rows[rows["layer_index"] < 0] if has_rows(rows, "layer_index") else pd.DataFrame()
    if not means.empty:
        band(ax, means, "epoch", "value", label)
    if reference is not None and not reference.empty:
        ref = reference.sort_values("epoch")
        ax.plot(
            ref["epoch"],
            ref["value"],
            "k--",
            marker="o",
            ms=3,
            lw=1,
            label="authors' figure (read, about ±0.01)",
        )
    ax.set(xlabel="epoch", ylabel="mean over layers")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6, loc="lower right")


def stability_panel(
    ax_heat,
    ax_line,
    frames: dict[str, pd.DataFrame],
    experiment: str,
    measure: str,
    series: str,
    title: str,
    first_on_top: bool = True,
    reference: pd.DataFrame | None = None,
) -> None:
    """Heat map over the mean line for one experiment, or the not-run message (the readings still drawn)."""
    info = status(frames, experiment)
    rows = select(
        frames.get("collected_stability.csv"),
        experiment=experiment,
        measure=measure,
        series=series,
        run_id="baseline",
    )
    if rows.empty:
        reason = (
            info["reason"] if info["status"] != "run" else f"no '{series}' {measure} series at this scale"
        )
        not_run(ax_heat, title, reason, width=30)
        if reference is None or reference.empty:
            placeholder_axes(ax_line, "no data")
        else:
            mean_line(ax_line, rows, "reproduced", reference)
        return
    every = int(rows["every"].iloc[0])
    heatmap(ax_heat, stability_matrix(rows), first_on_top)
    ax_heat.set_title(f"{title}\n{dataset_of(rows)}; snapshots {every} epoch(s) apart", fontsize=8)
    mean_line(ax_line, rows, f"reproduced (every {every})", reference)


def trainable_axis(ax, rows: pd.DataFrame, variants: tuple[str, ...] = ("oialr", "oialr_tuned")):
    """Right axis: % trainable parameters of the OIALR runs (dashed)."""
    twin = ax.twinx()
    for variant in variants:
        part = select(rows, run_id=variant)
        if has_rows(part, "trainable_pct"):
            band(
                twin,
                part,
                "epoch",
                "trainable_pct",
                f"% trainable, {VARIANT_LABELS[variant]}",
                VARIANT_COLORS[variant],
                "--",
            )
    twin.set_ylabel("% trainable parameters")
    twin.set_ylim(0, 105)
    twin.grid(False)
    return twin


def accuracy_panel(ax, frames: dict[str, pd.DataFrame], experiment: str, title: str) -> pd.DataFrame:
    """Validation top-1 per epoch per variant (mean, min-max band) and % trainable on the right axis."""
    info = status(frames, experiment)
    curves = select(frames.get("collected_curves.csv"), experiment=experiment)
    if curves.empty:
        not_run(ax, title, info["reason"] or "no runs at this scale", width=60)
        return curves
    metric = "val_acc" if has_rows(curves, "val_acc") and curves["val_acc"].notna().any() else "test_acc"
    for variant in VARIANT_LABELS:
        part = select(curves, run_id=variant)
        if not part.empty:
            band(ax, part, "epoch", metric, VARIANT_LABELS[variant], VARIANT_COLORS[variant])
    split = "validation" if metric == "val_acc" else "test (the authors' validation)"
    ax.set(xlabel="epoch", ylabel=f"{split} top-1 (%)")
    ax.set_title(f"{title}\n{dataset_of(curves)}", fontsize=8)
    twin = trainable_axis(ax, curves)
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + twin.get_legend_handles_labels()[1]
    ax.legend(handles, labels, fontsize=6, loc="lower center")
    return curves


def check_epochs(curves: pd.DataFrame, variant: str = "oialr") -> tuple[list[int], int | None]:
    """Epochs in which a rank check happened (``rank_checks`` rose) and the epoch of the switch (seed
    mean)."""
    part = select(curves, run_id=variant)
    if not has_rows(part, "rank_checks", "seed"):
        return [], None
    checks, switch = set(), []
    for _, run in part.sort_values("epoch").groupby("seed"):
        rose = run["rank_checks"].diff().fillna(0) > 0
        checks.update(int(e) for e in run.loc[rose, "epoch"])
        low = run[run["trainable_pct"] < 100.0 - 1e-9]
        if len(low):
            switch.append(int(low["epoch"].iloc[0]))
    return sorted(checks), (min(switch) if switch else None)


# the two Autoformer figures: the authors' published curves beside ours
CAPTION = (
    "Autoformer, horizon {h}: per-epoch MSE of OIALR and of the full-rank baseline (mean with min-max band) "
    "and % trainable parameters of OIALR (right axis, dashed). Left: the authors' published curves (ETTm2, "
    "their figure data; split not stated). Right: this reproduction's test MSE at the end of each epoch "
    "(x = epoch index from 0, as the authors' 'Step'); at the cpu scale a small Autoformer on ETTh2, not "
    "comparable in value."
)


def _authors(ax, frames: dict[str, pd.DataFrame], horizon: int) -> None:
    ref = select(frames.get("reference_autoformer.csv"), horizon=horizon)
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
    curves = select(frames.get("collected_curves.csv"), experiment=experiment)
    if not has_rows(curves, "test_mse"):
        not_run(ax, f"this reproduction, horizon {horizon}", info["reason"] or "no runs at this scale", 50)
        return
    curves = curves[curves["epoch"] >= 1].assign(step=lambda f: f["epoch"] - 1)
    twin = ax.twinx()
    for variant, label in (("oialr", "OIALR test MSE"), ("baseline", "baseline test MSE")):
        part = select(curves, run_id=variant)
        if not part.empty:
            band(ax, part, "step", "test_mse", label, VARIANT_COLORS[variant])
    oialr = select(curves, run_id="oialr")
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
