"""oialr_fig_autoformer_192: Autoformer MSE and % trainable parameters, horizon 192, beside the authors'
curves."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.oialr_plot import CAPTION, draw_horizon
from alttrain.artifacts.style import Context

SPEC = ArtifactSpec(
    id="oialr_fig_autoformer_192",
    paper="oialr",
    experiments=("e4_autoformer_192",),
    inputs=("collected_curves.csv", "experiment_status.csv", "reference_autoformer.csv"),
    caption=CAPTION.format(h=192),
)


def draw(frames: dict[str, pd.DataFrame], context: Context):
    return draw_horizon(frames, 192)
