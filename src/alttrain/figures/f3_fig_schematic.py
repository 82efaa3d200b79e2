"""f3_fig_schematic: information flow of BP, DFA, DRTP and F3, the methods the artifact implements (drawn
programmatically; no data). Every error is written with the authors' sign, e = t - y."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.style import Context

SPEC = ArtifactSpec(
    id="f3_fig_schematic",
    paper="f3",
    inputs=(),
    caption=(
        "Information flow of the training methods for a network with two hidden layers. Black: forward "
        "pass. Coloured: the learning signal of the hidden layers; every error is written e = t - y (the "
        "authors' sign; each method descends along it). BP sends the output error back layer by layer "
        "through the transposed weights W (the paper's schematic also shows feedback alignment, which this "
        "artifact does not implement); DFA sends the "
        "current error directly to every layer through B_i (update-locked: it needs this batch's output); "
        "DRTP sends the target t; F3 sends the error of the same sample stored at its previous visit (one "
        "epoch old), so no layer waits for the output of the current batch."
    ),
)
LAYERS = ("x", "h1", "h2", "y")
SIGNAL = {"BP": "W", "DFA": "B", "DRTP": "B", "F3": "B"}
SOURCE = {
    "BP": "e = t - y",
    "DFA": "e = t - y\n(this batch)",
    "DRTP": "t",
    "F3": "E[n] = t - y\nof epoch k-1",
}
COLOR = {"BP": "#0072B2", "DFA": "#D55E00", "DRTP": "#009E73", "F3": "#CC79A7"}


def _box(ax, x: float, y: float, text: str, color: str = "0.2") -> None:
    ax.text(
        x,
        y,
        text,
        ha="center",
        va="center",
        fontsize=7.5,
        bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": color, "lw": 1.2},
    )


def _arrow(ax, start, end, color: str, style: str = "-", text: str = "", offset=(0.0, 0.0)) -> None:
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={"arrowstyle": "-|>", "color": color, "ls": style, "lw": 1.2, "shrinkA": 2, "shrinkB": 2},
    )
    if text:
        ax.text(
            (start[0] + end[0]) / 2 + offset[0],
            (start[1] + end[1]) / 2 + offset[1],
            text,
            fontsize=7,
            color=color,
            ha="center",
        )


def _panel(ax, method: str) -> None:
    color = COLOR[method]
    ys = [0.08, 0.36, 0.62, 0.88]
    for name, y in zip(LAYERS, ys, strict=True):
        _box(ax, 0.22, y, name)
    for i in range(len(LAYERS) - 1):  # forward pass
        _arrow(ax, (0.22, ys[i] + 0.05), (0.22, ys[i + 1] - 0.05), "0.1")
    source_y = ys[3] if method != "F3" else 0.5
    _box(ax, 0.75, source_y, SOURCE[method], color=color)
    if method == "BP":
        _arrow(ax, (0.6, ys[3]), (0.3, ys[3]), color)
        for i in (3, 2):  # the error travels back layer by layer
            _arrow(
                ax,
                (0.12, ys[i] - 0.05),
                (0.12, ys[i - 1] + 0.05),
                color,
                text=f"{SIGNAL[method]}{i}ᵀ",
                offset=(-0.07, 0.0),
            )
        return _finish(ax, method, color)
    ax.text(0.22, ys[3] + 0.085, "output layer: local gradient", fontsize=6, color="0.3", ha="center")
    if method == "DFA":  # update locking: the signal needs this batch's output
        _arrow(ax, (0.3, ys[3]), (0.62, ys[3]), "0.45", style=":", text="needs y", offset=(0.0, 0.03))
    for i in (2, 1):  # direct projection to every hidden layer
        _arrow(ax, (0.62, source_y - 0.02), (0.3, ys[i]), color, style="--", text=f"B{i}", offset=(0.0, 0.02))
    if method == "F3":
        _arrow(
            ax,
            (0.3, ys[3] - 0.02),
            (0.75, source_y + 0.08),
            "0.45",
            style=":",
            text="store t - y",
            offset=(0.1, 0.0),
        )
    return _finish(ax, method, color)


def _finish(ax, method: str, color: str) -> None:
    ax.set_title({"F3": "F³"}.get(method, method), fontsize=10, color=color)
    ax.set_xlim(0, 1.0)
    ax.set_ylim(0, 1.0)
    ax.axis("off")


def draw(frames: dict[str, pd.DataFrame], context: Context):
    fig, axes = plt.subplots(1, len(SIGNAL), figsize=(10.0, 3.0))
    for ax, method in zip(axes, SIGNAL, strict=True):
        _panel(ax, method)
    fig.tight_layout()
    return fig
