"""oialr_fig_autoformer_720: Autoformer MSE and % trainable parameters, horizon 720, beside the authors'
curves."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.oialr_plot import CAPTION, draw_horizon
from alttrain.artifacts.style import Context

SPEC = ArtifactSpec(
    id="oialr_fig_autoformer_720",
    paper="oialr",
    experiments=("e4_autoformer_720",),
    inputs=("collected_curves.csv", "experiment_status.csv", "reference_autoformer.csv"),
    caption=CAPTION.format(h=720),
)


def draw(frames: dict[str, pd.DataFrame], context: Context):
    return draw_horizon(frames, 720)
