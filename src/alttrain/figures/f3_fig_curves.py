"""f3_fig_curves: test metric and training loss per epoch, mean ± std over seeds, per data set and network."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows
from alttrain.artifacts.f3 import (
    BENCHMARKS,
    CLASSIFICATION_BENCHMARKS,
    block_rows,
    not_run_cell,
    not_run_reason,
    topology_name,
    transformer_size,
)
from alttrain.artifacts.f3_plot import band, ordered, placeholder
from alttrain.artifacts.style import Context

SPEC = ArtifactSpec(
    id="f3_fig_curves",
    paper="f3",
    inputs=(
        "classification_curves.csv",
        "wine_curves.csv",
        "sgemm_depth_curves.csv",
        "transformer_curves.csv",
        "not_run.csv",
    ),
    caption=(
        "Training curves: test accuracy (classification) or test MSE (regression) and training loss per "
        "epoch (epoch 0 = before training), mean ± std band over seeds, for BP, shallow learning, DFA, DRTP"
        " and F3 (Kaiming feedback for the FC nets, trinomial for the Transformer)."
    ),
)


def _panels(frames: dict[str, pd.DataFrame]) -> list[tuple[str, pd.DataFrame | None, str, str | None]]:
    """(title, curves, task, not-run reason) per panel row, in the paper's order."""
    not_run = frames.get("not_run.csv")
    panels = []
    classification = block_rows(frames.get("classification_curves.csv"), "methods")
    for benchmark in CLASSIFICATION_BENCHMARKS:
        part = classification[classification["benchmark"] == benchmark] if has_rows(classification) else None
        if part is None or part.empty:
            reason = not_run_reason(not_run, "classification", benchmark)
            if reason is not None:
                panels.append((BENCHMARKS[benchmark], None, "classification", reason))
            continue
        for topology in sorted(set(part["topology"])):
            panels.append(
                (
                    f"{BENCHMARKS[benchmark]} {topology_name(topology)}",
                    part[part["topology"] == topology],
                    "classification",
                    None,
                )
            )
    for name, experiment, benchmark, task in (
        ("sgemm_depth_curves.csv", "sgemm_depth", "sgemm", "regression"),
        ("wine_curves.csv", "wine", "wine", "regression"),
        ("transformer_curves.csv", "transformer", "mnist", "classification"),
    ):
        curves = frames.get(name)
        title = BENCHMARKS[benchmark] if experiment != "transformer" else "Transformer, MNIST (v2)"
        if not has_rows(curves, "approach", "epoch"):
            reason = not_run_reason(not_run, experiment, benchmark) or "no runs at this scale"
            panels.append((title, None, task, reason))
            continue
        for topology in sorted(set(curves["topology"])):
            part = curves[curves["topology"] == topology]
            if experiment == "transformer":  # the model size, reduced below the paper scale
                label = f"{title}: {transformer_size(part)}"
            else:
                label = f"{title} {topology_name(topology)}"
            panels.append((label, part, task, None))
    return panels


def draw(frames: dict[str, pd.DataFrame], context: Context):
    panels = _panels(frames)
    heights = [1.0 if curves is not None else 0.45 for _, curves, _, _ in panels]  # short not-run rows
    fig, axes = plt.subplots(
        len(panels),
        2,
        figsize=(8.5, 2.1 * sum(heights)),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    for row, (title, curves, task, reason) in zip(axes, panels, strict=True):
        if curves is None:
            placeholder(row[0], f"{title}: {not_run_cell(reason)}")
            row[1].axis("off")
            continue
        metric, ylabel = (
            ("test_acc", "test accuracy (%)") if task == "classification" else ("test_mse", "test MSE")
        )
        train = (
            "train_loss"
            if "train_loss" in curves and curves["train_loss"].notna().any()
            else "train_batch_loss"
        )
        for approach in ordered(curves["approach"].unique()):
            runs = curves[curves["approach"] == approach]
            band(row[0], runs, "epoch", metric, approach)
            if train in runs:
                band(row[1], runs, "epoch", train, approach)
        row[0].set(title=title, xlabel="epoch", ylabel=ylabel)
        row[1].set(
            title=f"{title}: training loss",
            xlabel="epoch",
            ylabel="train loss" if train == "train_loss" else "mean training batch loss",
        )
        if task == "regression":
            row[0].set_yscale("log")
        row[0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig
