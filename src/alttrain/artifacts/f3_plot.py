"""Plot helpers shared by the f3 figures: a fixed colour per approach and mean ± std bands over seeds."""

from __future__ import annotations

import textwrap

import pandas as pd

from alttrain.artifacts.f3 import APPROACHES
from alttrain.artifacts.style import placeholder_axes

# colour-blind-safe (Okabe-Ito) for the five methods; the F3 variants get further distinct hues
COLORS = {
    "bp": "#0072B2", "llo": "#E69F00", "dfa": "#009E73", "drtp": "#D55E00",
    "f3_delayed_error": "#CC79A7", "f3_delayed_error_one_hot": "#6A3D9A", "f3_delayed_loss": "#56B4E9",
    "f3_delayed_loss_one_hot": "#1F3B73", "f3_delayed_error_softmax": "#8C564B",
    "f3_delayed_loss_softmax": "#7F7F7F",
}


def placeholder(ax, message: str, width: int = 48) -> None:
    """An explicitly empty panel with its (wrapped) reason."""
    placeholder_axes(ax, "\n".join(textwrap.wrap(message, width)))


def band(ax, frame: pd.DataFrame, x: str, y: str, approach: str, label: str | None = None) -> bool:
    """Mean over seeds of ``y`` per ``x`` with a ± std band; False when there is nothing to draw."""
    data = frame[[x, y]].dropna()
    if data.empty:
        return False
    stats = data.groupby(x)[y].agg(["mean", "std"]).reset_index()
    color = COLORS.get(approach, "0.3")
    ax.plot(
        stats[x],
        stats["mean"],
        color=color,
        lw=1.3,
        label=label or APPROACHES.get(approach, approach),
        ls="--" if approach in ("bp", "llo") else "-",
        marker="o",
        ms=2,
    )
    ax.fill_between(
        stats[x],
        stats["mean"] - stats["std"].fillna(0),
        stats["mean"] + stats["std"].fillna(0),
        color=color,
        alpha=0.18,
        lw=0,
    )
    return True


def ordered(approaches) -> list[str]:
    """Approaches in the paper's order (BP, shallow, DFA, DRTP, F3 variants), unknown ones last."""
    present = set(approaches)
    return [a for a in APPROACHES if a in present] + sorted(present - set(APPROACHES))
