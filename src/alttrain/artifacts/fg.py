"""Labels of the fg paper's figures and tables: approach order, labels, colours, seed stats (no plotting)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

APPROACHES = ("bp", "fg_k1", "fg_mean_k2", "fg_mean_k4", "fg_mean_k16", "frog_k2", "frog_k4", "frog_k16")
LABELS = {
    "bp": "BP (true gradient)",
    "fg_k1": "FG, k=1",
    "fg_mean_k2": "FG mean, k=2",
    "fg_mean_k4": "FG mean, k=4",
    "fg_mean_k16": "FG mean, k=16",
    "frog_k2": "frog (projection), k=2",
    "frog_k4": "frog (projection), k=4",
    "frog_k16": "frog (projection), k=16",
}
COLORS = {
    "bp": "#000000",
    "fg_k1": "#7f7f7f",
    "fg_mean_k2": "#9ecae1",
    "fg_mean_k4": "#4292c6",
    "fg_mean_k16": "#08519c",
    "frog_k2": "#fdae6b",
    "frog_k4": "#f16913",
    "frog_k16": "#a63603",
}
FUNCTIONS = {"sphere": "Sphere", "rosenbrock": "Rosenbrock", "styblinski_tang": "Styblinski-Tang"}
NOT_RUN = "not run at this scale"


def ordered(names: Iterable[str]) -> list[str]:
    """Approach ids in the paper's order (unknown ids last, sorted)."""
    names = set(names)
    return [a for a in APPROACHES if a in names] + sorted(names - set(APPROACHES))


def style(approach: str) -> dict:
    """Matplotlib line style of an approach (blue shades: mean; orange shades: projection)."""
    return {
        "color": COLORS.get(approach, "#2ca02c"),
        "label": LABELS.get(approach, approach),
        "linestyle": "--" if approach.startswith("fg_mean") else "-",
        "linewidth": 1.6 if approach.startswith("frog") or approach == "bp" else 1.2,
    }


def seed_stats(frame: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Mean, std, min, max and count of ``value`` over seeds per group ``by``."""
    grouped = frame.groupby(by, dropna=False)[value]
    stats = grouped.agg(["mean", "std", "min", "max", "count"]).reset_index()
    return stats


def log_floor(values, floor: float = 1e-12):
    """Values clipped from below at ``floor`` so they can be drawn on a log axis."""
    return np.maximum(np.asarray(values, dtype=float), floor)


def finish_with_legend(fig, handles: dict, offset: float) -> None:
    """Add one legend below the axes for every approach drawn (paper order), then tighten the layout.

    Args:
        fig: the matplotlib figure.
        handles: approach id -> a line drawn for it.
        offset: vertical anchor of the legend below the figure (negative: below the axes).
    """
    if handles:
        names = ordered(handles)
        fig.legend([handles[a] for a in names], [style(a)["label"] for a in names], loc="lower center",
                   ncol=4, fontsize=7, bbox_to_anchor=(0.5, offset))
    fig.tight_layout()
