"""oialr_fig_autoformer_720: Autoformer MSE and % trainable parameters, horizon 720, beside the authors'
curves."""

from __future__ import annotations

import pandas as pd

from alttrain.figures import ArtifactSpec
from alttrain.figures.oialr_autoformer_plot import CAPTION, draw_horizon
from alttrain.figures.style import Context

SPEC = ArtifactSpec(
    id="oialr_fig_autoformer_720",
    paper="oialr",
    experiments=("e4_autoformer_720",),
    inputs=("collected_curves.csv", "experiment_status.csv", "reference_autoformer.csv"),
    caption=CAPTION.format(h=720),
)


def draw(frames: dict[str, pd.DataFrame], context: Context):
    return draw_horizon(frames, 720)
