"""Plot helpers shared by the f3 figures: a fixed colour per approach and mean ± std bands over seeds."""

from __future__ import annotations

import pandas as pd
import seaborn as sns

from alttrain.figures.style import PALETTE
from alttrain.tables.f3_common import APPROACHES

COLORS = dict(zip(APPROACHES, sns.color_palette(PALETTE, len(APPROACHES)), strict=True))


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
