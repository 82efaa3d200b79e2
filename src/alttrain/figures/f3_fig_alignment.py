"""f3_fig_alignment: per-layer cosine between each method's update direction and backprop's gradient, per
epoch."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows, select
from alttrain.artifacts.f3 import BENCHMARKS, topology_name, transformer_size
from alttrain.artifacts.f3_plot import band, ordered, placeholder
from alttrain.artifacts.style import Context

SPEC = ArtifactSpec(
    id="f3_fig_alignment",
    paper="f3",
    inputs=("classification_alignment.csv", "wine_alignment.csv", "transformer_alignment.csv"),
    caption=(
        "Approximation quality: cosine similarity between each method's gradient estimate and the true "
        "backprop gradient of the same network, per layer (block; for Transformer blocks the mean over "
        "their weight matrices) and epoch, on a fixed probe batch of training samples; mean ± std over "
        "seeds. Shallow learning trains only the output layer, whose gradient is exact (cosine 1)."
    ),
)


def _layers(frame: pd.DataFrame) -> pd.DataFrame:
    """Weight rows with a ``layer`` column: the block index of ``blocks.<i>....weight``; cosine averaged per
    block."""
    weights = frame[frame["parameter"].str.startswith("blocks.") & frame["parameter"].str.endswith("weight")]
    weights = weights.assign(layer=weights["parameter"].str.split(".").str[1].astype(int))
    keys = ["approach", "seed", "epoch", "layer"]
    return weights.groupby(keys, as_index=False)["cosine"].mean()


def _configs(frames: dict[str, pd.DataFrame]) -> list[tuple[str, pd.DataFrame]]:
    configs = []
    classification = frames.get("classification_alignment.csv")
    if has_rows(classification, "parameter"):
        classification = select(classification, in_methods=True)
        for (benchmark, topology), part in classification.groupby(["benchmark", "topology"], sort=True):
            configs.append((f"{BENCHMARKS.get(benchmark, benchmark)} {topology_name(topology)}", part))
    for name, title in (("wine_alignment.csv", "Wine Quality"), ("transformer_alignment.csv", "Transformer")):
        frame = frames.get(name)
        if has_rows(frame, "parameter"):
            for topology, part in frame.groupby("topology", sort=True):
                if title == "Transformer":  # its size, reduced below the paper scale
                    configs.append((f"{title}: {transformer_size(part)}", part))
                else:
                    configs.append((f"{title} {topology_name(topology)}", part))
    return configs


def draw(frames: dict[str, pd.DataFrame], context: Context):
    configs = [(title, _layers(part)) for title, part in _configs(frames)]
    columns = max([part["layer"].nunique() for _, part in configs] + [1])
    fig, axes = plt.subplots(
        max(len(configs), 1),
        columns,
        figsize=(2.6 * columns, 2.2 * max(len(configs), 1)),
        squeeze=False,
        sharey=True,
    )
    if not configs:
        placeholder(axes[0][0], "no alignment measurements at this scale")
        return fig
    for row, (title, part) in zip(axes, configs, strict=True):
        layers = sorted(set(part["layer"]))
        for ax, layer in zip(row, layers, strict=False):
            for approach in ordered(part["approach"].unique()):
                band(
                    ax,
                    part[(part["approach"] == approach) & (part["layer"] == layer)],
                    "epoch",
                    "cosine",
                    approach,
                )
            kind = "output" if layer == layers[-1] else f"hidden {layer + 1}"
            ax.set_title(f"{title}: block {layer} ({kind})", fontsize=7.5)
            ax.set(xlabel="epoch", ylim=(-1.05, 1.05))
            ax.axhline(0, color="0.6", lw=0.6)
        for ax in row[len(layers) :]:
            ax.axis("off")
        row[0].set_ylabel("cosine with backprop")
        row[len(layers) - 1].legend(fontsize=5, loc="lower right")  # the output block has every method
    fig.tight_layout()
    return fig
