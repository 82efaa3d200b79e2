"""Shared figure style and the provenance footer that every figure carries (scale, data set, seeds)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from alttrain.artifacts.context import SCALE_NOTE, Context  # noqa: E402,F401  (figure modules import them here)

PALETTE = "colorblind"


def apply_style() -> None:
    """Seaborn paper style, colour-blind palette, vector-friendly fonts."""
    sns.set_theme(context="paper", style="whitegrid", palette=PALETTE)
    plt.rcParams.update({"pdf.fonttype": 42, "ps.fonttype": 42, "figure.dpi": 110, "savefig.bbox": "tight"})


apply_style()


def save_figure(fig, context: Context, spec, pdf_path: Path) -> None:
    """Add the provenance footer and write the figure as PDF and PNG (atomically)."""
    from alttrain.atomic import write_atomic

    fig.text(0.01, -0.02, f"{spec.id} | {context.footer()}", fontsize=6, color="0.35", ha="left", va="top")
    pdf_path = Path(pdf_path)
    write_atomic(pdf_path, lambda p: fig.savefig(p, format="pdf"))
    write_atomic(pdf_path.with_suffix(".png"), lambda p: fig.savefig(p, format="png", dpi=150))
    plt.close(fig)


def placeholder_axes(ax, message: str) -> None:
    """Mark an empty panel explicitly (e.g. an experiment not run at this scale), instead of drawing nothing."""
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=8, color="0.4", wrap=True, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
